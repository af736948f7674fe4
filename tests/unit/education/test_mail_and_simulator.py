"""The SMTP settings and message, and the billing simulator's answers."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from hub.education.mail import OutgoingMail, SmtpDeliverer, SmtpServer
from hub.errors import ConfigurationError, PermanentError
from hub.store.models import OutboxMessage
from producers.billing_simulator import BillingRules, answer
from schemas import decode
from schemas.examples import example_event
from tests.support.education import Mailbox, free_port, smtp_server


def test_smtp_urls() -> None:
    plain = SmtpServer.parse("smtp://127.0.0.1:8025")
    assert (plain.host, plain.port, plain.ssl, plain.sender) == (
        "127.0.0.1",
        8025,
        False,
        "hub@localhost",
    )
    full = SmtpServer.parse("smtps://me%40x.org:s%3Dcret@mail.x.org?from=sec@x.org")
    assert (full.port, full.ssl, full.username, full.password, full.sender) == (
        465,
        True,
        "me@x.org",
        "s=cret",
        "sec@x.org",
    )
    assert SmtpServer.parse("smtp://mail?starttls=true").starttls
    with pytest.raises(ConfigurationError):
        SmtpServer.parse("http://mail")


def test_the_message_of_an_outbox_row() -> None:
    mail = OutgoingMail("ana@example.com", "Secretaria Acadêmica", "Pedido recebido", "Olá")
    row = OutboxMessage(event_id="m-1", body=mail.to_json(), kind="mail")
    msg = SmtpDeliverer("smtp://h:25?from=sec@x.org").message(row)
    assert msg["To"] == "ana@example.com"
    assert msg["Subject"] == "Pedido recebido"
    assert msg["Message-ID"] == "<m-1@hub>"
    assert "sec@x.org" in msg["From"]
    assert OutgoingMail.from_json(row.body) == mail


def test_retry_delays_grow_to_a_limit() -> None:
    d = SmtpDeliverer("smtp://h:25", retry_base=1.0, retry_max=5.0)
    assert [d.retry_delay(n) for n in (1, 2, 3, 4, 10)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_only_a_permanent_reply_is_a_permanent_error() -> None:
    port = free_port()
    mailbox = Mailbox(unknown={"nobody@example.com"}, busy={"later@example.com"})
    deliverer = SmtpDeliverer(f"smtp://127.0.0.1:{port}")

    def row(to: str) -> OutboxMessage:
        return OutboxMessage(event_id=to, body=OutgoingMail(to, "S", "s", "t").to_json())

    with smtp_server(port, mailbox):
        deliverer.deliver(row("ana@example.com"))
        with pytest.raises(PermanentError, match="nobody@example.com refused: 550 5.1.1"):
            deliverer.deliver(row("nobody@example.com"))
        with pytest.raises(smtplib.SMTPRecipientsRefused) as busy:
            deliverer.deliver(row("later@example.com"))
        assert not isinstance(busy.value, PermanentError)
    assert [str(m["To"]) for m in mailbox.messages] == ["ana@example.com"]


def requested(**data: object) -> object:
    event = example_event("billing.charge.requested")
    event["data"] = {**event["data"], **data}
    event["time"] = datetime(2026, 11, 20, tzinfo=UTC).isoformat()
    return decode(event)


def test_the_simulator_creates_an_installment_deterministically() -> None:
    event = requested()
    first = answer(event, BillingRules())  # type: ignore[arg-type]
    again = answer(event, BillingRules())  # type: ignore[arg-type]
    assert first.type == "billing.charge.created"
    assert first.id == again.id and first.data.installment_id == again.data.installment_id
    assert first.causationid == event.id  # type: ignore[attr-defined]
    assert first.data.charge_id == "CH-1"


def test_the_simulator_fails_the_configured_cases() -> None:
    rules = BillingRules(fail_above=Decimal("100.00"), fail_contracts=frozenset({"CT-X"}))
    assert answer(requested(amount="100.00"), rules).type == "billing.charge.created"  # type: ignore[arg-type]
    over = answer(requested(amount="100.01"), rules)  # type: ignore[arg-type]
    assert over.type == "billing.charge.failed" and "above the limit" in over.data.reason
    closed = answer(requested(contract_id="CT-X"), rules)  # type: ignore[arg-type]
    assert closed.type == "billing.charge.failed" and "CT-X" in closed.data.reason
