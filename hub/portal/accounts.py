"""Customers' portal accounts: invited by e-mail, activated through a one-time link, signed in
with their e-mail address and password.

- ``invite`` makes (or refreshes) the account of an ERP customer id and queues, in the same
  transaction, an e-mail with a one-time link to set the password. The link's token is random
  (256 bits); the store keeps only its SHA-256 hash. A newer invitation voids the older ones.
- ``set_password`` uses the link once: the account becomes active.
- ``sign_in`` checks an e-mail address and password (argon2id, as the console's users).
- ``disable`` refuses further sign-ins; the web layer ends the account's sessions.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.errors import HubError
from hub.identity.passwords import hash_password, verify_password
from hub.mail.outbox import OutgoingMail, queue_mail
from hub.portal.i18n import DEFAULT, LANGUAGES, gettext
from hub.portal.tables import PortalAccount, PortalInvite
from hub.runtime.uow import UnitOfWork

#: How long an invitation link works.
INVITE_LIFETIME = timedelta(days=7)
MAX_TOKEN_LENGTH = 100
MAX_CUSTOMER_ID = 200
MAX_EMAIL = 320
_EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


class PortalError(HubError):
    """A refused portal-account operation; the message says why."""


class AccountNotFound(PortalError):
    """The tenant has no portal account for that customer."""


class InvalidInvite(PortalError):
    """The link is unknown, used, replaced by a newer one, or expired."""


@dataclass(frozen=True)
class Account:
    tenant: str
    customer_id: str
    email: str
    status: str
    language: str | None
    created_at: datetime
    activated_at: datetime | None

    @classmethod
    def of(cls, row: PortalAccount) -> Account:
        return cls(
            row.tenant_id,
            row.customer_id,
            row.email,
            row.status,
            row.language,
            row.created_at,
            row.activated_at,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "customer_id": self.customer_id,
            "email": self.email,
            "status": self.status,
            "language": self.language,
            "created_at": self.created_at.isoformat(),
            "activated_at": self.activated_at.isoformat() if self.activated_at else None,
        }


@dataclass(frozen=True)
class Invitation:
    account: Account
    link: str
    mail_id: str


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def check_email(email: str) -> str:
    """``email`` trimmed and lower-cased; raises ``PortalError`` when it is not an address."""
    address = email.strip().lower()
    if len(address) > MAX_EMAIL or not _EMAIL.match(address):
        raise PortalError(f"not an e-mail address: {email[:80]!r}")
    return address


def check_customer_id(customer_id: str) -> str:
    value = customer_id.strip()
    if not value or len(value) > MAX_CUSTOMER_ID or any(ord(c) < 32 for c in value):
        raise PortalError("a customer id has 1 to 200 printable characters")
    return value


def check_language(language: str | None) -> str | None:
    if language is not None and language not in LANGUAGES:
        raise PortalError(f"unknown language {language!r} (one of: {', '.join(LANGUAGES)})")
    return language


def invite_mail(language: str, link: str, expires: datetime) -> OutgoingMail:
    def _(message: str) -> str:
        return gettext(language, message, "mail")

    text = "\n\n".join(
        [
            _("Hello,"),
            _(
                "You have been invited to the customer portal, where you can open and follow "
                "your requests."
            ),
            _("Choose your password here (the link works once, until %(date)s):")
            % {"date": expires.strftime("%Y-%m-%d %H:%M UTC")},
            link,
            _("If you did not expect this message, ignore it."),
        ]
    )
    return OutgoingMail(
        to="", sender_name="", subject=_("Your access to the customer portal"), text=text + "\n"
    )


def invite(
    uow: UnitOfWork,
    customer_id: str,
    email: str,
    *,
    by: str,
    public_url: str,
    language: str | None = None,
    company: str | None = None,
    branch: str | None = None,
) -> Invitation:
    """Make or refresh ``customer_id``'s account and e-mail it a one-time link to set its
    password (through the SMTP settings of ``company``/``branch``). Raises ``PortalError`` for
    a bad address, an address another customer uses, or a disabled account."""
    customer_id = check_customer_id(customer_id)
    address = check_email(email)
    language = check_language(language)
    now = uow.now()
    s = uow.session
    taken = s.scalar(
        select(PortalAccount).where(
            PortalAccount.tenant_id == uow.tenant,
            PortalAccount.email == address,
            PortalAccount.customer_id != customer_id,
        )
    )
    if taken is not None:
        raise PortalError(f"{address} is the address of another customer's account")
    row = s.get(PortalAccount, (uow.tenant, customer_id))
    if row is None:
        row = PortalAccount(
            tenant_id=uow.tenant,
            customer_id=customer_id,
            email=address,
            status="invited",
            language=language,
            created_at=now,
            created_by=by,
        )
        s.add(row)
    elif row.status == "disabled":
        raise PortalError(f"the account of {customer_id} is disabled; enable it first")
    else:
        row.email = address
        row.language = language or row.language
    s.execute(
        update(PortalInvite)
        .where(
            PortalInvite.tenant_id == uow.tenant,
            PortalInvite.customer_id == customer_id,
            PortalInvite.used_at.is_(None),
        )
        .values(used_at=now)
    )
    raw = secrets.token_urlsafe(32)
    expires = now + INVITE_LIFETIME
    s.add(
        PortalInvite(
            token_hash=_hash(raw),
            tenant_id=uow.tenant,
            customer_id=customer_id,
            created_at=now,
            expires_at=expires,
        )
    )
    link = f"{public_url.rstrip('/')}/portal/welcome/{raw}"
    template = invite_mail(row.language or DEFAULT, link, expires)
    mail = OutgoingMail(address, template.sender_name, template.subject, template.text)
    # the token is new each time: the mail's id must be too (a repeated cause is a new invite)
    mail_id = queue_mail(
        uow, mail, about=f"portal-invite:{_hash(raw)}", company=company, branch=branch
    )
    s.flush()
    return Invitation(Account.of(row), link, mail_id)


def _live_invite(session: Session, raw: str, now: datetime) -> PortalInvite:
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        raise InvalidInvite("this link is not valid")
    found = session.get(PortalInvite, _hash(raw))
    if found is None or found.used_at is not None:
        raise InvalidInvite("this link is not valid, or was used already")
    if now >= found.expires_at:
        raise InvalidInvite("this link has expired; ask for a new invitation")
    return found


def invite_account(session: Session, raw: str, now: datetime) -> Account:
    """The account a live link is for; raises ``InvalidInvite``."""
    found = _live_invite(session, raw, now)
    row = session.get(PortalAccount, (found.tenant_id, found.customer_id))
    if row is None or row.status == "disabled":
        raise InvalidInvite("this link is not valid")
    return Account.of(row)


def set_password(session: Session, raw: str, password: str, now: datetime) -> Account:
    """Use the link ``raw`` once: set the account's password and activate it. Raises
    ``InvalidInvite`` or ``WeakPassword``."""
    found = _live_invite(session, raw, now)
    row = session.get(PortalAccount, (found.tenant_id, found.customer_id))
    if row is None or row.status == "disabled":
        raise InvalidInvite("this link is not valid")
    row.password_hash = hash_password(password)
    if row.status != "active":
        row.status = "active"
        row.activated_at = now
    found.used_at = now
    session.flush()
    return Account.of(row)


def sign_in(session: Session, tenant: str, email: str, password: str) -> Account | None:
    """The active account of ``email`` in ``tenant`` when ``password`` is its password. The
    work is the same for an unknown address, so timing tells nothing."""
    try:
        address = check_email(email)
    except PortalError:
        address = ""
    row = (
        session.scalar(
            select(PortalAccount).where(
                PortalAccount.tenant_id == tenant, PortalAccount.email == address
            )
        )
        if address
        else None
    )
    ok = verify_password(row.password_hash if row is not None else None, password)
    if row is None or not ok or row.status != "active":
        return None
    return Account.of(row)


def find(session: Session, tenant: str, customer_id: str) -> Account | None:
    row = session.get(PortalAccount, (tenant, customer_id))
    return Account.of(row) if row is not None else None


def accounts(session: Session, tenant: str, *, limit: int = 1000) -> list[Account]:
    rows = session.scalars(
        select(PortalAccount)
        .where(PortalAccount.tenant_id == tenant)
        .order_by(PortalAccount.customer_id)
        .limit(limit)
    )
    return [Account.of(r) for r in rows]


def set_status(uow: UnitOfWork, customer_id: str, *, enabled: bool, by: str) -> Account:
    """Disable (or enable again) an account; raises ``AccountNotFound`` for an unknown one.
    An enabled account is active again if it had a password, else invited. Callers end a
    disabled account's sessions with ``hub.web.sessions.set_customer_status``."""
    row = uow.session.get(PortalAccount, (uow.tenant, customer_id))
    if row is None:
        raise AccountNotFound(f"no portal account for customer {customer_id!r}")
    if enabled:
        row.status = "active" if row.password_hash else "invited"
        row.disabled_at = row.disabled_by = None
    else:
        row.status = "disabled"
        row.disabled_at = uow.now()
        row.disabled_by = by
    uow.session.flush()
    return Account.of(row)


def set_language(session: Session, tenant: str, customer_id: str, language: str) -> None:
    row = session.get(PortalAccount, (tenant, customer_id))
    if row is not None and language in LANGUAGES:
        row.language = language
