"""E-mail through the outbox: queued in the unit of work that decided it, sent by the relay.

``queue_mail`` writes an outbox row of kind ``mail`` (exchange ``smtp``, routing key = the
recipient, body = the message as JSON). The relay hands such rows to ``SmtpDeliverer``; while
the SMTP server is down, or answers with a temporary (4xx) reply, the row stays pending and is
tried again later, so mail is delayed, never lost. A permanent (5xx) reply, e.g. a mailbox
that does not exist, moves the row to the dead-letter store (consumer ``mail``) with the
server's answer; ``hub dlq replay`` sends it again once the cause is mended. Delivery is at-least-once: every message carries a ``Message-ID`` derived from
the row, so a rare second copy (a crash between the server's acceptance and the row being
marked sent) is recognisable.

``HUB_SMTP_URL``: ``smtp://[user:password@]host:port[?from=address&starttls=true]`` or
``smtps://...`` (TLS from the first byte). ``from`` is the envelope sender and the address of
the ``From`` header (default ``hub@localhost``); the display name is the ticket type's sender
name.
"""

from __future__ import annotations

import json
import logging
import smtplib
import uuid
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.utils import formataddr
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_fixed

from hub.errors import ConfigurationError, PermanentError
from hub.store.models import OutboxMessage

if TYPE_CHECKING:
    from hub.runtime.uow import UnitOfWork

log = logging.getLogger("hub.mail")

MAIL_KIND = "mail"
MAIL_EXCHANGE = "smtp"
_MAIL_NS = uuid.UUID("3d0c9a7e-2b1f-4f3e-8c55-91a4f0b6d2e7")


@dataclass(frozen=True)
class OutgoingMail:
    """One plain-text message to one recipient."""

    to: str
    sender_name: str
    subject: str
    text: str

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, body: bytes) -> OutgoingMail:
        return cls(**json.loads(body))


#: Outbox header of a mail row: the company and branch whose mail settings send it.
MAIL_SCOPE = "x-hub-mail-scope"


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
    ``branch`` (of the ticket it is about) choose the mail settings that send it."""
    mail_id = str(uuid.uuid5(_MAIL_NS, f"{uow.cause.seed}\x1f{about}\x1f{mail.to}"))
    now = uow.now()
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
            available_at=now,
        )
    )
    return mail_id


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    ssl: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = "hub@localhost"

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        """Raises ``ConfigurationError`` for a URL that is not ``smtp://`` or ``smtps://``."""
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ConfigurationError(f"HUB_SMTP_URL: expected smtp://host:port, got {url!r}")
        query = parse_qs(parts.query)
        ssl = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if ssl else 25),
            ssl=ssl,
            starttls=query.get("starttls", ["false"])[0].lower() in {"1", "true", "yes"},
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            sender=query.get("from", ["hub@localhost"])[0],
        )


class SmtpDeliverer:
    """Delivers outbox rows of kind ``mail`` to an SMTP server.

    ``deliver`` returns once the server accepted the message, raises ``PermanentError`` for a
    permanent (5xx) reply and ``OSError`` / ``smtplib.SMTPException`` otherwise; a refused
    connection is tried twice more within a second here, longer outages are the relay's
    business (``retry_delay``).
    """

    def __init__(
        self, url: str, *, retry_base: float = 5.0, retry_max: float = 600.0, timeout: float = 10.0
    ) -> None:
        self.server = SmtpServer.parse(url)
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.timeout = timeout

    def retry_delay(self, attempts: int) -> float:
        """Seconds before trying a row again after ``attempts`` failed deliveries."""
        return float(min(self.retry_max, self.retry_base * 2 ** max(0, attempts - 1)))

    def message(self, row: OutboxMessage) -> EmailMessage:
        mail = OutgoingMail.from_json(row.body)
        msg = EmailMessage()
        msg["From"] = formataddr((mail.sender_name, self.server.sender))
        msg["To"] = mail.to
        msg["Subject"] = mail.subject
        msg["Message-ID"] = f"<{row.event_id}@hub>"
        msg["X-Hub-Mail-Id"] = row.event_id
        msg.set_content(mail.text)
        return msg

    def deliver(self, row: OutboxMessage) -> None:
        msg = self.message(row)
        try:
            for attempt in Retrying(
                retry=retry_if_exception_type((ConnectionError, smtplib.SMTPServerDisconnected)),
                wait=wait_fixed(0.3),
                stop=stop_after_attempt(3),
                reraise=True,
            ):
                with attempt:
                    self._send(msg)
        except smtplib.SMTPRecipientsRefused as e:
            replies = list(e.recipients.values())
            if replies and all(code >= 500 for code, _ in replies):
                raise PermanentError(f"{msg['To']} refused: {_reply(*replies[0])}") from e
            raise
        except smtplib.SMTPResponseException as e:
            if e.smtp_code >= 500:
                raise PermanentError(f"refused: {_reply(e.smtp_code, e.smtp_error)}") from e
            raise
        log.info("mail %s sent to %s", row.event_id, msg["To"])

    def _send(self, msg: EmailMessage) -> None:
        s = self.server
        smtp: smtplib.SMTP = (
            smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout)
            if s.ssl
            else smtplib.SMTP(s.host, s.port, timeout=self.timeout)
        )
        with smtp:
            if s.starttls:
                smtp.starttls()
            if s.username:
                smtp.login(s.username, s.password or "")
            smtp.send_message(msg, from_addr=s.sender)


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()
