"""A tenant's SMTP servers: what is stored per company and branch, which one sends a message,
and ``SmtpServer``, the connection details the sender uses.

Which server sends the mail of a company ``C`` and branch ``B``: the setting of ``C/B``, else
that of ``C`` (``branch`` null), else the tenant's primary server, else ``HUB_SMTP_URL``
(the embedded tier's and development's default). Passwords are sealed (``hub.secrets``)
before they are stored and opened only to log in; ``view`` says whether one is set, never
what it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from hub.errors import ConfigurationError, HubError
from hub.mail.tables import MailServerRow
from hub.secrets import SecretBox

Secure = Literal["none", "ssl", "starttls"]
SECURE: tuple[str, ...] = ("none", "ssl", "starttls")
#: A company's or branch's code: printable ASCII but ``/`` (one pattern for every regex engine).
CODE = r"^[!-.0-~]+$"
Code = Annotated[str, Field(min_length=1, max_length=100, pattern=CODE)]
#: A host name or an IP address.
Host = Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9_.:\[\]-]+$")]
#: An e-mail address: printable ASCII around one ``@``.
Address = Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[!-?A-~]+@[!-?A-~]+$")]
#: One line of text (a header's display name, a user name).
Line = Annotated[str, Field(max_length=200, pattern=r"^[^\r\n]*$")]
#: Longest delay before a message is sent, in seconds (a day).
MAX_DELAY = 86_400
MAX_PASSWORD = 1024


class MailServerNotFound(HubError):
    """No SMTP setting for the company or branch asked for."""


class NoMailServer(HubError):
    """No server would send a company's or branch's mail (nothing set, no ``HUB_SMTP_URL``)."""


class SmtpSetting(BaseModel):
    """An SMTP setting as it is entered (the CLI's options, the API's body, the console's
    form); the password travels apart from it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    company: Code
    branch: Code | None = None
    host: Host
    port: int = Field(ge=1, le=65535)
    sender: Address = Field(description="The envelope sender and the From address.")
    sender_name: Line | None = Field(default=None, description="The From header's name.")
    username: Line | None = Field(
        default=None, min_length=1, description="Log in as this user (authentication required)."
    )
    secure: Secure = "none"
    primary: bool = Field(default=False, description="The tenant's fallback server.")
    delay_seconds: int = Field(default=0, ge=0, le=MAX_DELAY)

    @classmethod
    def of(cls, **values: Any) -> SmtpSetting:
        """Raises ``ConfigurationError`` naming each invalid field in one line."""
        try:
            return cls(**values)
        except ValidationError as e:
            raise ConfigurationError(
                "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
            ) from None


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to send: the server's address, its security, the login, the sender."""

    host: str
    port: int
    secure: str = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "hub@localhost"
    sender_name: str = ""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        """``HUB_SMTP_URL``: ``smtp://[user:password@]host:port[?from=address&starttls=true]``
        or ``smtps://...``; raises ``ConfigurationError`` for anything else."""
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ConfigurationError(f"HUB_SMTP_URL: expected smtp://host:port, got {url!r}")
        query = parse_qs(parts.query)
        ssl = parts.scheme == "smtps"
        starttls = query.get("starttls", ["false"])[0].lower() in {"1", "true", "yes"}
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if ssl else 25),
            secure="ssl" if ssl else "starttls" if starttls else "none",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            sender=query.get("from", ["hub@localhost"])[0],
        )

    @classmethod
    def of_row(cls, row: MailServerRow, box: SecretBox) -> SmtpServer:
        return cls(
            host=row.host,
            port=row.port,
            secure=row.secure,
            username=row.username if row.auth_required else None,
            password=box.open(row.password_sealed) if row.password_sealed else None,
            sender=row.sender,
            sender_name=row.sender_name or "",
        )


class MailServers:
    """The SMTP settings of one tenant."""

    def __init__(self, session: Session, tenant: str) -> None:
        self.session = session
        self.tenant = tenant

    def _query(self) -> Select[MailServerRow]:
        return select(MailServerRow).where(MailServerRow.tenant_id == self.tenant)

    def find(self, company: str, branch: str | None = None) -> MailServerRow | None:
        """The setting of exactly ``company`` (``branch`` None) or ``company/branch``."""
        at_branch = (
            MailServerRow.branch.is_(None) if branch is None else MailServerRow.branch == branch
        )
        query = self._query().where(MailServerRow.company == company, at_branch)
        return self.session.scalars(query).first()

    def get(self, company: str, branch: str | None = None) -> MailServerRow:
        row = self.find(company, branch)
        if row is None:
            raise MailServerNotFound(f"no SMTP setting for {scope_name(company, branch)}")
        return row

    def all(self) -> list[MailServerRow]:
        query = self._query().order_by(MailServerRow.company, MailServerRow.branch.nulls_first())
        return list(self.session.scalars(query))

    def resolve(self, company: str | None, branch: str | None) -> MailServerRow | None:
        """The setting that sends the mail of ``company``/``branch``: the branch's, the
        company's, the tenant's primary server, or None."""
        query = self._query().where(
            or_(MailServerRow.is_primary, MailServerRow.company == (company or ""))
        )
        rows = list(self.session.scalars(query))

        def rank(row: MailServerRow) -> int:
            if row.company == company and branch is not None and row.branch == branch:
                return 0
            if row.company == company and row.branch is None:
                return 1
            return 2 if row.is_primary else 3

        best = min(rows, key=rank, default=None)
        return best if best is not None and rank(best) < 3 else None

    def put(
        self,
        setting: SmtpSetting,
        *,
        password: str | None,
        box: SecretBox,
        by: str,
        now: datetime,
    ) -> MailServerRow:
        """Store ``setting`` for its company or branch. Without ``username`` nothing is logged in to
        (no password is kept); ``password`` None keeps the stored one for the same user.
        ``primary`` makes it the tenant's only primary server."""
        if password is not None and not (0 < len(password) <= MAX_PASSWORD):
            raise ConfigurationError(f"password: 1 to {MAX_PASSWORD} characters")
        row = self.find(setting.company, setting.branch)
        if setting.primary:
            others = update(MailServerRow).where(
                MailServerRow.tenant_id == self.tenant, MailServerRow.is_primary
            )
            if row is not None:
                others = others.where(MailServerRow.id != row.id)
            self.session.execute(others.values(is_primary=False))
        if row is None:
            row = MailServerRow(
                tenant_id=self.tenant, company=setting.company, branch=setting.branch
            )
            self.session.add(row)
        if setting.username is None:
            row.password_sealed = None
        elif password is not None:
            row.password_sealed = box.seal(password)
        elif row.username != setting.username:
            row.password_sealed = None
        row.host, row.port, row.secure = setting.host, setting.port, setting.secure
        row.sender, row.sender_name = setting.sender, setting.sender_name
        row.auth_required = setting.username is not None
        row.username = setting.username
        row.is_primary = setting.primary
        row.delay_seconds = setting.delay_seconds
        row.updated_by, row.updated_at = by, now
        self.session.flush()
        return row


def count_for(session: Session, tenant: str, company: str, branch: str | None = None) -> int:
    """How many SMTP settings are linked to ``company`` (any of its branches when ``branch``
    is None) or to ``company/branch``."""
    query = select(func.count()).where(
        MailServerRow.tenant_id == tenant, MailServerRow.company == company
    )
    if branch is not None:
        query = query.where(MailServerRow.branch == branch)
    return int(session.scalar(query) or 0)


def check_scope(company: str, branch: str | None) -> tuple[str, str | None]:
    """``company`` and ``branch`` when they are codes; raises ``ConfigurationError``."""
    for what, code in (("company", company), ("branch", branch)):
        if code is not None and not (len(code) <= 100 and re.fullmatch(CODE, code)):
            raise ConfigurationError(f"{what}: expected a code (printable, no '/', up to 100)")
    return company, branch


def scope_name(company: str, branch: str | None) -> str:
    return f"company {company}" if branch is None else f"branch {company}/{branch}"


def view(row: MailServerRow) -> dict[str, Any]:
    """A setting as the CLI, the API and the console show it: the password only as ``set``
    or ``not set``."""
    return {
        "company": row.company,
        "branch": row.branch,
        "host": row.host,
        "port": row.port,
        "secure": row.secure,
        "sender": row.sender,
        "sender_name": row.sender_name,
        "auth_required": row.auth_required,
        "username": row.username,
        "password": "set" if row.password_sealed else "not set",
        "primary": row.is_primary,
        "delay_seconds": row.delay_seconds,
        "updated_by": row.updated_by,
        "updated_at": row.updated_at.isoformat(),
    }
