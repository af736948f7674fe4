"""A company's or branch's file-server setting: what it holds, how it is checked, and which one
a ticket's attachments use (the branch's, else its company's, else none: the local store).

The password is sealed with the ``SecretBox`` when set and opened only into an ``Endpoint``,
the value a store connects with; no view of a setting carries it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.errors import HubError
from hub.files.tables import FileServerRow
from hub.secrets import SecretBox

PROTOCOLS = ("ftp", "sftp")
TRANSFERS = ("hub", "server")
DEFAULT_PORTS = {"ftp": 21, "sftp": 22}
MAX_CODE = 50
MAX_HOST = 253
MAX_FOLDER = 400
MAX_USER = 200
MAX_PASSWORD = 1000
_CODE = re.compile(r"^[^\s/]+$")
_HOST = re.compile(r"^[A-Za-z0-9._:\[\]-]+$")


class FileServerError(HubError):
    """Anything about a file server that goes wrong; the message is one line."""


class InvalidFileServer(FileServerError):
    """A setting refused as given (every problem listed)."""


class FileServerNotFound(FileServerError):
    """No setting for this company or branch."""


class FileServerFailed(FileServerError):
    """The server did not do what was asked: unreachable, login refused, no such folder, no
    permission (its own answer where it gave one)."""


@dataclass(frozen=True)
class Endpoint:
    """Where a store connects: enough to reach the server again, password included."""

    protocol: str
    host: str
    port: int
    folder: str
    username: str
    password: str = field(repr=False)

    @property
    def address(self) -> str:
        """``sftp://user@host:port/folder``, for messages (no password)."""
        return f"{self.protocol}://{self.username}@{self.host}:{self.port}{self.folder}"

    def to_json(self) -> str:
        return json.dumps(
            {
                k: getattr(self, k)
                for k in ("protocol", "host", "port", "folder", "username", "password")
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Endpoint:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Change:
    """A setting as given by a person; ``password`` ``None`` keeps the stored one."""

    company: str
    branch: str | None
    host: str
    port: int
    folder: str
    username: str
    password: str | None
    protocol: str
    transfer: str = "hub"

    def problems(self) -> list[str]:
        found = []
        for name, value in (("company", self.company), ("branch", self.branch)):
            if value is not None and (len(value) > MAX_CODE or not _CODE.match(value)):
                found.append(f"{name} {value[:60]!r}: a code of at most {MAX_CODE} characters")
        if len(self.host) > MAX_HOST or not _HOST.match(self.host):
            found.append(f"host {self.host[:60]!r}: a host name or address")
        if not 1 <= self.port <= 65535:
            found.append(f"port {self.port}: from 1 to 65535")
        if (
            len(self.folder) > MAX_FOLDER
            or not self.folder.startswith("/")
            or _control(self.folder)
        ):
            found.append(
                f"folder: an absolute path ('/in/docs') of at most {MAX_FOLDER} characters"
            )
        if not self.username or len(self.username) > MAX_USER or _control(self.username):
            found.append(f"user: 1 to {MAX_USER} characters")
        if self.password is not None and (
            len(self.password) > MAX_PASSWORD or "\n" in self.password
        ):
            found.append(f"password: one line of at most {MAX_PASSWORD} characters")
        if self.protocol not in PROTOCOLS:
            found.append(f"protocol {self.protocol[:20]!r}: one of {', '.join(PROTOCOLS)}")
        if self.transfer not in TRANSFERS:
            found.append(f"transfer {self.transfer[:20]!r}: one of {', '.join(TRANSFERS)}")
        return found


def _control(text: str) -> bool:
    return any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)


def _where(tenant: str, company: str, branch: str | None) -> Any:
    branch_is = FileServerRow.branch.is_(None) if branch is None else FileServerRow.branch == branch
    return select(FileServerRow).where(
        FileServerRow.tenant_id == tenant, FileServerRow.company == company, branch_is
    )


def find(session: Session, tenant: str, company: str, branch: str | None) -> FileServerRow | None:
    """The setting of exactly this company (``branch`` None) or branch."""
    return session.scalars(_where(tenant, company, branch)).first()


def get(session: Session, tenant: str, company: str, branch: str | None) -> FileServerRow:
    """``find``, or ``FileServerNotFound``."""
    row = find(session, tenant, company, branch)
    if row is None:
        raise FileServerNotFound(f"no file server for {_label(company, branch)}")
    return row


def put(
    session: Session, tenant: str, change: Change, *, box: SecretBox, by: str, now: datetime
) -> FileServerRow:
    """Create or replace the setting of ``change``'s company or branch. Raises
    ``FileServerError`` listing every problem, or when a new setting has no password."""
    problems = change.problems()
    if problems:
        raise InvalidFileServer("; ".join(problems))
    row = find(session, tenant, change.company, change.branch)
    if row is None:
        if change.password is None:
            raise InvalidFileServer("a new file server needs a password")
        row = FileServerRow(tenant_id=tenant, company=change.company, branch=change.branch)
        session.add(row)
    for name in ("host", "port", "folder", "username", "protocol", "transfer"):
        setattr(row, name, getattr(change, name))
    if change.password is not None:
        row.password_sealed = box.seal(change.password)
    row.updated_by, row.updated_at = by, now
    session.flush()
    return row


def listing(session: Session, tenant: str) -> list[FileServerRow]:
    """The tenant's settings, by company then branch (the company's own first)."""
    rows = session.scalars(select(FileServerRow).where(FileServerRow.tenant_id == tenant))
    return sorted(rows, key=lambda r: (r.company, r.branch is not None, r.branch or ""))


def resolve(
    session: Session, tenant: str, company: str | None, branch: str | None
) -> FileServerRow | None:
    """The setting that serves ``company``/``branch``: the branch's, else the company's, else
    ``None`` (the local store)."""
    if company is None:
        return None
    return (find(session, tenant, company, branch) if branch is not None else None) or find(
        session, tenant, company, None
    )


def count_for(session: Session, tenant: str, company: str, branch: str | None) -> int:
    """How many settings name ``company`` (all of its branches' too when ``branch`` is None)
    or exactly ``branch``: what keeps a company or branch from being deleted."""
    where = [FileServerRow.tenant_id == tenant, FileServerRow.company == company]
    if branch is not None:
        where.append(FileServerRow.branch == branch)
    return session.scalar(select(func.count()).select_from(FileServerRow).where(*where)) or 0


def endpoint(row: FileServerRow, box: SecretBox) -> Endpoint:
    return Endpoint(
        row.protocol, row.host, row.port, row.folder, row.username, box.open(row.password_sealed)
    )


def view(row: FileServerRow) -> dict[str, Any]:
    """The setting for people: everything but the password."""
    return {
        "company": row.company,
        "branch": row.branch,
        "host": row.host,
        "port": row.port,
        "folder": row.folder,
        "user": row.username,
        "protocol": row.protocol,
        "transfer": row.transfer,
        "updated_by": row.updated_by,
        "updated_at": row.updated_at.isoformat(),
    }


def _label(company: str, branch: str | None) -> str:
    return f"company {company}" if branch is None else f"branch {company}/{branch}"
