"""E-mail through the outbox: queued in the unit of work that decided it, sent by the relay
through the SMTP server of the company and branch it is about.

``queue_mail`` writes an outbox row of kind ``mail`` (exchange ``smtp``, routing key = the
recipient, body = the message as JSON, header ``MAIL_SCOPE`` = the company and branch), due
after the delay of the server that will send it. The relay hands such rows to
``SmtpDeliverer``, which picks the server per row (``MailServers.resolve``, then
``HUB_SMTP_URL``). While the server is down, answers with a temporary (4xx) reply, or no server
is set at all, the row stays pending and is tried again later, so mail is delayed, never lost.
A permanent (5xx) reply, e.g. a mailbox that does not exist, moves the row to the dead-letter
store (consumer ``mail``) with the server's answer; ``hub dlq replay`` sends it again once the
cause is mended. Delivery is at-least-once: every message carries a ``Message-ID`` derived from
the row, so a rare second copy (a crash between the server's acceptance and the row being
marked sent) is recognisable, and a ``Date`` (when it was queued).
"""

from __future__ import annotations

import json
import logging
import smtplib
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from functools import cached_property
from typing import TYPE_CHECKING

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_fixed

from hub.errors import PermanentError
from hub.mail import smtp
from hub.mail.servers import MailServers, NoMailServer, SmtpServer, scope_name
from hub.secrets import SecretBox
from hub.store.models import OutboxMessage

if TYPE_CHECKING:
    from hub.runtime.uow import UnitOfWork, UnitOfWorkFactory
    from hub.settings import Settings

log = logging.getLogger("hub.mail")

MAIL_KIND = "mail"
MAIL_EXCHANGE = "smtp"
#: Outbox header of a mail row: the company and branch whose mail settings send it.
MAIL_SCOPE = "x-hub-mail-scope"
_MAIL_NS = uuid.UUID("3d0c9a7e-2b1f-4f3e-8c55-91a4f0b6d2e7")


@dataclass(frozen=True)
class OutgoingMail:
    """One plain-text message to one recipient. ``sender_name`` (e.g. a ticket type's) is
    the From header's name; empty, the server's display name is used."""

    to: str
    sender_name: str
    subject: str
    text: str

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, body: bytes) -> OutgoingMail:
        return cls(**json.loads(body))


def queue_mail(
    uow: UnitOfWork,
    mail: OutgoingMail,
    *,
    about: str,
    company: str | None = None,
    branch: str | None = None,
) -> str:
    """Write ``mail`` to the outbox in ``uow``'s transaction; returns its id, derived from the
    unit of work's cause and ``about`` (the same cause queues the same id). ``company`` and
    ``branch`` (of the ticket it is about) choose the server that sends it; it is due after
    that server's delay."""
    mail_id = str(uuid.uuid5(_MAIL_NS, f"{uow.cause.seed}\x1f{about}\x1f{mail.to}"))
    now = uow.now()
    server = MailServers(uow.session, uow.tenant).resolve(company, branch)
    delay = server.delay_seconds if server is not None else 0
    uow.session.add(
        OutboxMessage(
            tenant_id=uow.tenant,
            kind=MAIL_KIND,
            event_id=mail_id,
            event_type="mail",
            exchange=MAIL_EXCHANGE,
            routing_key=mail.to[:400],
            subject=about[:400],
            headers={MAIL_SCOPE: {"company": company, "branch": branch}},
            body=mail.to_json(),
            correlation_id=uow.cause.correlation_id,
            causation_id=uow.cause.id,
            created_at=now,
            available_at=now + timedelta(seconds=delay),
        )
    )
    return mail_id


def message(row: OutboxMessage, server: SmtpServer) -> EmailMessage:
    """The e-mail of an outbox row, as ``server`` sends it."""
    mail = OutgoingMail.from_json(row.body)
    msg = EmailMessage()
    msg["From"] = formataddr((mail.sender_name or server.sender_name, server.sender))
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(row.created_at)
    msg["Message-ID"] = f"<{row.event_id}@hub>"
    msg["X-Hub-Mail-Id"] = row.event_id
    msg.set_content(mail.text)
    return msg


class SmtpDeliverer:
    """Delivers outbox rows of kind ``mail``, each through its company's or branch's server.

    ``deliver`` returns once the server accepted the message, raises ``PermanentError`` for a
    permanent (5xx) reply, ``NoMailServer`` when no server is set, and ``OSError`` /
    ``smtplib.SMTPException`` otherwise; a refused connection is tried twice more within a
    second here, longer outages are the relay's business (``retry_delay``).
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        settings: Settings,
        *,
        retry_base: float = 5.0,
        retry_max: float = 600.0,
        timeout: float = smtp.TIMEOUT,
    ) -> None:
        self.uow = uow
        self.settings = settings
        self.fallback = SmtpServer.parse(settings.smtp_url) if settings.smtp_url else None
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.timeout = timeout

    @cached_property
    def box(self) -> SecretBox:
        return SecretBox.for_settings(self.settings)

    def retry_delay(self, attempts: int) -> float:
        """Seconds before trying a row again after ``attempts`` failed deliveries."""
        return float(min(self.retry_max, self.retry_base * 2 ** max(0, attempts - 1)))

    def route(self, row: OutboxMessage) -> str:
        """The tenant, company and branch whose server sends ``row``."""
        scope = (row.headers or {}).get(MAIL_SCOPE) or {}
        return f"{row.tenant_id}/{scope.get('company')}/{scope.get('branch')}"

    def server_for(self, row: OutboxMessage) -> SmtpServer:
        """The server that sends ``row``: its scope's setting, else ``HUB_SMTP_URL``."""
        scope = (row.headers or {}).get(MAIL_SCOPE) or {}
        company, branch = scope.get("company"), scope.get("branch")
        with self.uow.sessions() as session:
            found = MailServers(session, row.tenant_id).resolve(company, branch)
            if found is not None:
                return SmtpServer.of_row(found, self.box)
        if self.fallback is not None:
            return self.fallback
        where = scope_name(company, branch) if company else "mail without a company"
        raise NoMailServer(f"no SMTP server for {where} and no HUB_SMTP_URL")

    def deliver(self, row: OutboxMessage) -> None:
        server = self.server_for(row)
        msg = message(row, server)
        try:
            for attempt in Retrying(
                retry=retry_if_exception_type((ConnectionError, smtplib.SMTPServerDisconnected)),
                wait=wait_fixed(0.3),
                stop=stop_after_attempt(3),
                reraise=True,
            ):
                with attempt:
                    smtp.send(server, msg, timeout=self.timeout)
        except smtplib.SMTPRecipientsRefused as e:
            replies = list(e.recipients.values())
            if replies and all(code >= 500 for code, _ in replies):
                raise PermanentError(f"{msg['To']} refused: {smtp.reply(*replies[0])}") from e
            raise
        except smtplib.SMTPResponseException as e:
            if e.smtp_code >= 500 and not isinstance(e, smtplib.SMTPAuthenticationError):
                raise PermanentError(f"refused: {smtp.reply(e.smtp_code, e.smtp_error)}") from e
            raise
        log.info("mail %s sent to %s through %s", row.event_id, msg["To"], server.address)
