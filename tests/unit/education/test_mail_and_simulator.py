"""HUB_SMTP_URL, the message of a mail row, and the billing simulator's answers."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from hub.errors import ConfigurationError, PermanentError
from hub.mail.outbox import OutgoingMail, SmtpDeliverer, message
from hub.mail.servers import SmtpServer
from hub.runtime.uow import UnitOfWorkFactory
from hub.settings import Settings
from hub.store.db import make_engine, upgrade
from hub.store.models import OutboxMessage
from producers.billing_simulator import BillingRules, answer
from schemas import decode
from schemas.examples import example_event
from tests.support.education import Mailbox, free_port, smtp_server


def test_smtp_urls() -> None:
    plain = SmtpServer.parse("smtp://127.0.0.1:8025")
    assert (plain.host, plain.port, plain.secure, plain.sender) == (
        "127.0.0.1",
        8025,
        "none",
        "hub@localhost",
    )
    full = SmtpServer.parse("smtps://me%40x.org:s%3Dcret@mail.x.org?from=sec@x.org")
    assert (full.port, full.secure, full.username, full.password, full.sender) == (
        465,
        "ssl",
        "me@x.org",
        "s=cret",
        "sec@x.org",
    )
    assert SmtpServer.parse("smtp://mail?starttls=true").secure == "starttls"
    with pytest.raises(ConfigurationError):
        SmtpServer.parse("http://mail")


QUEUED = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


@pytest.fixture
def store(sqlite_url: str) -> Iterator[UnitOfWorkFactory]:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    yield UnitOfWorkFactory(engine)
    engine.dispose()


def test_the_message_of_an_outbox_row_has_a_date_and_a_message_id() -> None:
    mail = OutgoingMail("ana@example.com", "Secretaria Acadêmica", "Pedido recebido", "Olá")
    row = OutboxMessage(event_id="m-1", body=mail.to_json(), kind="mail", created_at=QUEUED)
    msg = message(row, SmtpServer.parse("smtp://h:25?from=sec@x.org"))
    assert msg["To"] == "ana@example.com"
    assert msg["Subject"] == "Pedido recebido"
    assert msg["Message-ID"] == "<m-1@hub>"
    assert msg["Date"] == "Fri, 20 Nov 2026 14:00:00 +0000"
    assert msg["From"] == "Secretaria Acadêmica <sec@x.org>"
    assert OutgoingMail.from_json(row.body) == mail
    # without a name of its own, a message has the server's display name
    named = SmtpServer("h", 25, sender="sec@x.org", sender_name="Escola")
    plain = OutgoingMail("ana@example.com", "", "s", "t")
    unnamed = OutboxMessage(event_id="m-2", body=plain.to_json(), created_at=QUEUED)
    assert message(unnamed, named)["From"] == "Escola <sec@x.org>"


def test_retry_delays_grow_to_a_limit(store: UnitOfWorkFactory) -> None:
    d = SmtpDeliverer(store, Settings(smtp_url="smtp://h:25"), retry_base=1.0, retry_max=5.0)
    assert [d.retry_delay(n) for n in (1, 2, 3, 4, 10)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_only_a_permanent_reply_is_a_permanent_error(store: UnitOfWorkFactory) -> None:
    port = free_port()
    mailbox = Mailbox(unknown={"nobody@example.com"}, busy={"later@example.com"})
    only = SmtpDeliverer(store, Settings(smtp_url=f"smtp://127.0.0.1:{port}"))

    def row(to: str) -> OutboxMessage:
        body = OutgoingMail(to, "S", "s", "t").to_json()
        return OutboxMessage(event_id=to, body=body, created_at=QUEUED, tenant_id="default")

    with smtp_server(port, mailbox):
        only.deliver(row("ana@example.com"))
        with pytest.raises(PermanentError, match="nobody@example.com refused: 550 5.1.1"):
            only.deliver(row("nobody@example.com"))
        with pytest.raises(smtplib.SMTPRecipientsRefused) as busy:
            only.deliver(row("later@example.com"))
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
