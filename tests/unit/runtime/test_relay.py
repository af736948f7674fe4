"""The outbox relay's decisions, on the in-memory ledger and the in-memory broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

from hub.clock import ControllableClock
from hub.errors import PermanentError
from hub.runtime.ledger import MemoryLedger
from hub.runtime.observe import Observer
from hub.runtime.relay import CLAIM_SECONDS, OUTBOX_ORIGIN, UNDELIVERABLE_DELAY, OutboxRelay
from hub.runtime.transport import DIRECT, EVENTS_EXCHANGE
from hub.runtime.transports.memory import MemoryTransport
from hub.runtime.uow import UnitOfWorkFactory
from hub.store.models import OutboxMessage

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class Units:
    def __init__(self) -> None:
        self.clock = ControllableClock(NOW)


class Mail:
    """A deliverer whose server accepts, refuses for good, or fails, by the row's subject."""

    def __init__(self) -> None:
        self.delivered: list[str] = []
        self.tried: list[str] = []

    def deliver(self, row: OutboxMessage) -> None:
        self.tried.append(row.event_id)
        if row.subject == "refused":
            raise PermanentError("550 no such mailbox")
        if row.subject == "down":
            raise ConnectionRefusedError("the server does not answer")
        self.delivered.append(row.event_id)

    def retry_delay(self, attempts: int) -> float:
        return 10.0 * attempts

    def route(self, row: OutboxMessage) -> str:
        return "smtp.a" if row.subject in ("down", "same-server") else "smtp.b"


class Relay:
    def __init__(self) -> None:
        self.ledger = MemoryLedger()
        self.units = Units()
        self.transport = MemoryTransport()
        self.transport.setup({"hub.finance": ["fin.#"], "hub.unit": []})
        self.mail = Mail()
        self.observer = Observer()
        self.relay = OutboxRelay(
            cast(UnitOfWorkFactory, self.units),
            self.transport,
            deliverers={"mail": self.mail},
            observer=self.observer,
            ledger=self.ledger,
        )

    def row(
        self,
        event_id: str,
        *,
        kind: str = "event",
        queue: str | None = None,
        subject: str | None = None,
        at: datetime = NOW,
    ) -> int:
        return self.ledger.add(
            OutboxMessage(
                tenant_id="default",
                kind=kind,
                event_id=event_id,
                event_type="fin.agreement.approved",
                exchange=DIRECT if queue else EVENTS_EXCHANGE,
                routing_key=queue or "fin.agreement.approved",
                subject=subject,
                headers={},
                body=b"{}",
                correlation_id=None,
                causation_id=None,
                created_at=NOW,
                available_at=at,
            )
        ).id

    def published(self) -> list[str]:
        return [m.message_id for m in self.transport.published]


def test_due_events_are_published_in_order_and_marked_sent_once() -> None:
    r = Relay()
    first, second = r.row("e1"), r.row("e2")
    r.row("later", at=NOW + timedelta(seconds=5))
    assert r.relay.run_once() == 2
    assert r.published() == ["e1", "e2"]
    assert r.ledger.outbox[first].sent_at == NOW and r.ledger.outbox[second].sent_at == NOW
    assert r.relay.run_once() == 0  # sent rows are not published again
    assert r.relay.backlog() == (0, 1)
    r.units.clock.advance(timedelta(seconds=5))
    assert r.relay.run_once() == 1
    assert r.published() == ["e1", "e2", "later"]
    assert r.observer.published["event"] == 3


def test_a_retry_to_a_queue_that_does_not_exist_waits_and_the_rest_is_sent() -> None:
    r = Relay()
    lost = r.row("r1", kind="retry", queue="hub.gone")
    sent = r.row("r2", kind="retry", queue="hub.unit")
    assert r.relay.run_once() == 1
    assert r.published() == ["r2"]
    row = r.ledger.outbox[lost]
    assert row.sent_at is None and row.publish_attempts == 1
    assert row.available_at == NOW + timedelta(seconds=30)
    assert "hub.gone" in (row.last_error or "")
    assert r.ledger.outbox[sent].sent_at == NOW


def test_mail_is_delivered_outside_the_broker_and_marked_sent() -> None:
    r = Relay()
    mail = r.row("m1", kind="mail", subject="ok")
    assert r.relay.run_once() == 1
    assert r.mail.delivered == ["m1"] and r.published() == []
    assert r.ledger.outbox[mail].sent_at == NOW


def test_a_failed_server_holds_back_its_other_mail_but_not_another_servers() -> None:
    r = Relay()
    down = r.row("m1", kind="mail", subject="down")
    waiting = r.row("m2", kind="mail", subject="same-server")
    other = r.row("m3", kind="mail", subject="ok")
    assert r.relay.run_once() == 1
    assert r.mail.tried == ["m1", "m3"]  # m2 was not tried: its server just failed
    failed = r.ledger.outbox[down]
    assert (failed.publish_attempts, failed.available_at) == (1, NOW + timedelta(seconds=10))
    assert "ConnectionRefusedError" in (failed.last_error or "")
    held = r.ledger.outbox[waiting]
    assert (held.publish_attempts, held.available_at) == (0, NOW + timedelta(seconds=10))
    assert r.ledger.outbox[other].sent_at == NOW


def test_mail_refused_for_good_moves_to_the_dead_letters_with_where_it_was_going() -> None:
    r = Relay()
    refused = r.row("m1", kind="mail", subject="refused")
    assert r.relay.run_once() == 0
    assert refused not in r.ledger.outbox
    (letter,) = r.ledger.letters
    assert (letter.consumer, letter.queue, letter.error_type) == (
        "mail",
        "outbox.mail",
        "PermanentError",
    )
    assert letter.headers[OUTBOX_ORIGIN]["kind"] == "mail"
    assert letter.attempts == 1
    assert r.observer.count("dead-lettered", "mail") == 1


def test_a_kind_without_a_deliverer_here_waits_for_a_process_that_has_one() -> None:
    r = Relay()
    fax = r.row("f1", kind="fax")
    assert r.relay.run_once() == 0
    row = r.ledger.outbox[fax]
    assert row.available_at == NOW + timedelta(seconds=UNDELIVERABLE_DELAY)
    assert "no deliverer for outbox kind 'fax'" in (row.last_error or "")


def test_a_claim_hides_mail_from_a_second_relay_while_it_is_delivered() -> None:
    r = Relay()
    mail = r.row("m1", kind="mail", subject="ok")
    seen_by_the_other: list[int] = []

    def deliver_while_another_relay_looks(row: OutboxMessage) -> None:
        claimed = r.ledger.claim(10, NOW, NOW + timedelta(seconds=CLAIM_SECONDS))
        seen_by_the_other.extend(c.id for c in claimed)
        r.mail.delivered.append(row.event_id)

    r.mail.deliver = deliver_while_another_relay_looks  # type: ignore[method-assign]
    assert r.relay.run_once() == 1
    assert seen_by_the_other == []
    assert r.ledger.outbox[mail].sent_at == NOW


def test_the_relay_sleeps_until_the_next_row_falls_due_within_its_poll() -> None:
    r = Relay()
    assert r.relay._idle_wait() == r.relay.poll  # nothing waiting
    r.row("soon", at=NOW + timedelta(seconds=0.1))
    assert r.relay._idle_wait() == 0.1
    r.units.clock.advance(timedelta(seconds=1))
    assert r.relay._idle_wait() == 0.0  # overdue: no sleep
