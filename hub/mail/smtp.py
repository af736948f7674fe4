"""Talking to an SMTP server: send one message, and the "send a test e-mail" check.

TLS (``ssl`` from the first byte, or ``starttls``) verifies the server's certificate against
the system's trusted authorities (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` add others, e.g. a
company's own CA). Failures become one line for a person: the server's own reply when it
answered, else the reason the connection failed.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from hub.mail.servers import SmtpServer

TIMEOUT = 10.0


def send(server: SmtpServer, msg: EmailMessage, *, timeout: float = TIMEOUT) -> None:
    """Send ``msg`` through ``server``; returns once the server accepted it. Raises
    ``OSError`` (no connection, TLS refused) or ``smtplib.SMTPException`` (a reply refused
    it)."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP = (
        smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
        if server.secure == "ssl"
        else smtplib.SMTP(server.host, server.port, timeout=timeout)
    )
    with smtp:
        if server.secure == "starttls":
            smtp.starttls(context=context)
        if server.username:
            smtp.login(server.username, server.password or "")
        smtp.send_message(msg, from_addr=server.sender)


def reply(code: int, text: bytes | str) -> str:
    """An SMTP reply on one line: ``550 5.1.1 no such mailbox``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(f"{code} {text}".split())


def reason(error: BaseException, server: SmtpServer) -> str:
    """Why talking to ``server`` failed, in one line."""
    where = server.address
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()), (0, b"refused"))
        return f"{where} refused the recipient: {reply(code, text)}"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{where} answered: {reply(error.smtp_code, error.smtp_error)}"
    if isinstance(error, smtplib.SMTPNotSupportedError):
        if "STARTTLS" in str(error).upper():
            return f"{where}: TLS refused, the server does not offer STARTTLS"
        return f"{where}: {error}"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"{where}: TLS refused, the certificate is not trusted ({error.verify_message})"
    if isinstance(error, ssl.SSLError):
        return f"{where}: TLS refused ({error.reason or error})"
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection ({error or 'no reason given'})"
    if isinstance(error, socket.gaierror):
        return f"{where}: unknown host ({error.strerror})"
    if isinstance(error, TimeoutError | socket.timeout):
        return f"{where} did not answer in time"
    if isinstance(error, OSError):
        return f"cannot connect to {where}: {error.strerror or error}"
    return f"{where}: {' '.join(str(error).split()) or type(error).__name__}"


@dataclass(frozen=True)
class MailCheck:
    """The outcome of a test e-mail, in one line."""

    ok: bool
    line: str

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, "result": self.line}


def check_message(server: SmtpServer, *, scope: str, now: datetime) -> EmailMessage:
    """The test e-mail to the server's own sender address."""
    msg = EmailMessage()
    msg["From"] = formataddr((server.sender_name, server.sender))
    msg["To"] = server.sender
    msg["Subject"] = f"Test e-mail from the integration hub ({scope})"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain="hub")
    msg.set_content(
        f"This message was sent by the integration hub through {server.address} to check the "
        f"SMTP setting of {scope}. Nothing needs to be done.\n"
    )
    return msg


def send_test(
    server: SmtpServer, *, scope: str, now: datetime, timeout: float = TIMEOUT
) -> MailCheck:
    """Send the test e-mail; never raises for what the server or the network did."""
    try:
        send(server, check_message(server, scope=scope, now=now), timeout=timeout)
    except (OSError, smtplib.SMTPException) as e:
        return MailCheck(False, reason(e, server))
    return MailCheck(True, f"test e-mail sent to {server.sender} through {server.address}")
