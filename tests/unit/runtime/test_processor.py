"""The processor's decisions, on the in-memory ledger: no database, no broker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from hub.clock import ControllableClock
from hub.errors import PermanentError, TransientError
from hub.runtime.ledger import MemoryLedger, StoreOutage
from hub.runtime.policy import RetryPolicy
from hub.runtime.processor import ATTEMPT, LAST_ERROR, Outcome, Processor
from hub.runtime.registry import Consumer, by_queue
from hub.runtime.tenants import KnownTenants
from hub.runtime.transport import Delivery
from hub.runtime.uow import Duplicate, UnitOfWork, UnitOfWorkFactory
from schemas import CloudEvent

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
HAPPENED = "test.unit.happened"


class Tenants:
    """The tenants the hub has, without a store."""

    def __init__(self, *names: str, ledger: MemoryLedger) -> None:
        self.names = set(names)
        self.ledger = ledger

    def __contains__(self, tenant: object) -> bool:
        if self.ledger.down:
            raise StoreOutage("down")
        return tenant in self.names

    def owner_of(self, meta: dict[str, Any]) -> str:
        named = meta.get("tenantid") or "default"
        return named if named in self else "default"


class Units:
    """A unit-of-work factory whose inbox is the memory ledger's: a handler's transaction
    records its key when the handler returns, and nothing when it raises."""

    def __init__(self, ledger: MemoryLedger) -> None:
        self.ledger = ledger
        self.clock = ControllableClock(NOW)

    @contextmanager
    def handling(self, consumer: str, event: CloudEvent) -> Iterator[UnitOfWork]:
        if self.ledger.down:
            raise StoreOutage("the store is down")
        key = (event.tenantid, consumer, event.key)
        if key in self.ledger.inbox:
            raise Duplicate(f"{consumer} already handled {event.key}")
        yield cast(UnitOfWork, None)
        self.ledger.inbox.add(key)


class Hub:
    def __init__(self, handler: Any, *, attempts: int = 3, limit: int = 2) -> None:
        self.ledger = MemoryLedger()
        self.handled: list[str] = []
        consumer = Consumer("unit")

        @consumer.handles(HAPPENED)
        def handle(event: CloudEvent, uow: UnitOfWork) -> None:
            handler(event)
            self.handled.append(event.id)

        self.units = Units(self.ledger)
        self.processor = Processor(
            by_queue([consumer]),
            cast(UnitOfWorkFactory, self.units),
            default_retry=RetryPolicy(attempts=attempts, base_delay=2.0, jitter=0),
            delivery_limit=limit,
            outage_pause=0,
            tenants=cast(KnownTenants, Tenants("default", "acme", ledger=self.ledger)),
            ledger=self.ledger,
        )
        self.settled: list[str] = []

    def deliver(
        self,
        *,
        event_id: str = "e1",
        count: int = 1,
        headers: dict[str, Any] | None = None,
        queue: str = "hub.unit",
        **attributes: Any,
    ) -> Outcome:
        event = {
            "specversion": "1.0",
            "id": event_id,
            "source": "urn:test",
            "type": HAPPENED,
            "time": "2026-12-03T12:00:00Z",
            "subject": "S-1",
            "data": {},
            **attributes,
        }
        d = Delivery(
            queue,
            HAPPENED,
            json.dumps(event).encode(),
            dict(headers or {}),
            event_id,
            count,
            ack=lambda: self.settled.append("ack"),
            requeue=lambda: self.settled.append("requeue"),
        )
        return self.processor(d)


def ok(event: CloudEvent) -> None:
    pass


def test_a_handled_event_is_acknowledged_and_a_second_delivery_is_a_duplicate() -> None:
    hub = Hub(ok)
    assert hub.deliver() is Outcome.HANDLED
    assert hub.deliver() is Outcome.DUPLICATE
    assert hub.settled == ["ack", "ack"]
    assert hub.handled == ["e1"]
    assert hub.ledger.outbox == {} and hub.ledger.letters == []


def test_a_permanent_error_is_dead_lettered_at_once_never_retried() -> None:
    def refuse(event: CloudEvent) -> None:
        raise PermanentError("no such agreement")

    hub = Hub(refuse)
    assert hub.deliver() is Outcome.DEAD
    assert hub.settled == ["ack"]
    (letter,) = hub.ledger.letters
    assert (letter.consumer, letter.error_type, letter.error_message, letter.attempts) == (
        "unit",
        "PermanentError",
        "no such agreement",
        1,
    )
    assert hub.ledger.retries == []


def test_a_transient_error_schedules_a_retry_with_the_next_attempt_and_the_error() -> None:
    def flaky(event: CloudEvent) -> None:
        raise TransientError("the ERP timed out")

    hub = Hub(flaky)
    assert hub.deliver() is Outcome.RETRY
    assert hub.settled == ["ack"]  # the retry row is kept first, then the message acknowledged
    (retry,) = hub.ledger.retries
    assert retry.routing_key == "hub.unit"
    assert retry.available_at == NOW + timedelta(seconds=2)
    assert retry.headers[ATTEMPT] == 2
    assert retry.headers[LAST_ERROR] == "TransientError: the ERP timed out"
    assert hub.ledger.letters == []


def test_the_last_attempt_that_fails_is_dead_lettered_with_its_count() -> None:
    def flaky(event: CloudEvent) -> None:
        raise TransientError("the ERP timed out")

    hub = Hub(flaky, attempts=3)
    assert hub.deliver(headers={ATTEMPT: 3}) is Outcome.DEAD
    (letter,) = hub.ledger.letters
    assert (letter.error_type, letter.attempts) == ("TransientError", 3)
    assert hub.ledger.retries == []


def test_an_invalid_message_is_dead_lettered_once_even_when_resent() -> None:
    hub = Hub(ok)
    assert hub.deliver(specversion="0.3") is Outcome.DEAD
    assert hub.deliver(specversion="0.3") is Outcome.DEAD  # the producer resent it
    assert [x.error_type for x in hub.ledger.letters] == ["InvalidMessage"]
    assert hub.handled == []


def test_a_redelivery_started_past_the_delivery_limit_is_poison() -> None:
    hub = Hub(ok, limit=2)
    hub.ledger.starts[("unit", "e1:1")] = 2  # a worker died twice handling it
    assert hub.deliver(count=3) is Outcome.DEAD
    (letter,) = hub.ledger.letters
    assert "poison message" in letter.error_message
    assert hub.handled == []
    assert hub.ledger.starts == {}  # settled: the count is forgotten


def test_a_redelivery_within_the_limit_is_handled_and_its_count_forgotten() -> None:
    hub = Hub(ok, limit=2)
    assert hub.deliver(count=2) is Outcome.HANDLED
    assert hub.handled == ["e1"] and hub.ledger.starts == {}


def test_an_unreachable_store_returns_the_message_and_records_nothing() -> None:
    def refuse(event: CloudEvent) -> None:
        raise PermanentError("never reached")

    hub = Hub(refuse)
    hub.ledger.down = True
    assert hub.deliver() is Outcome.RETURNED
    assert hub.deliver(count=2) is Outcome.RETURNED  # a redelivery: its count cannot be kept
    assert hub.settled == ["requeue", "requeue"]
    hub.ledger.down = False
    assert hub.ledger.letters == [] and hub.ledger.outbox == {} and hub.ledger.starts == {}


def test_a_store_lost_while_recording_a_failure_returns_the_message() -> None:
    hub = Hub(ok)

    def fail_and_lose_the_store(event: CloudEvent) -> None:
        hub.ledger.down = True
        raise TransientError("the ERP timed out")

    hub.processor.consumers["hub.unit"].handlers[HAPPENED] = lambda e, uow: fail_and_lose_the_store(
        e
    )
    assert hub.deliver() is Outcome.RETURNED
    assert hub.settled == ["requeue"]  # nothing recorded: the broker keeps it


def test_an_event_of_an_unknown_tenant_is_dead_lettered_under_the_default_tenant() -> None:
    hub = Hub(ok)
    assert hub.deliver(tenantid="globex") is Outcome.DEAD
    (letter,) = hub.ledger.letters
    assert (letter.tenant_id, letter.error_type) == ("default", "UnknownTenant")
    assert "globex" in letter.error_message
    assert hub.deliver(event_id="e2", tenantid="acme") is Outcome.HANDLED
    assert ("acme", "unit", "urn:test#e2") in hub.ledger.inbox  # source#id: the key


@pytest.mark.parametrize(
    ("queue", "why"),
    [("hub.nobody", "no consumer reads queue"), ("hub.unit", "has no handler for")],
)
def test_a_message_nobody_handles_is_dead_lettered_with_the_reason(queue: str, why: str) -> None:
    hub = Hub(ok)
    if queue == "hub.unit":
        hub.processor.consumers["hub.unit"].handlers.clear()
    assert hub.deliver(queue=queue) is Outcome.DEAD
    (letter,) = hub.ledger.letters
    assert why in letter.error_message
    assert hub.settled == ["ack"]
