"""Edges of the processor's decision: a store outage, poison counting, the embedded lease."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.runtime.ledger import InboxKey
from hub.runtime.policy import RetryPolicy
from hub.runtime.processor import Outcome, Processor
from hub.runtime.registry import by_queue
from hub.runtime.transport import EVENTS_EXCHANGE, Delivery, Outgoing
from hub.runtime.transports.sql import SqlTransport
from hub.runtime.uow import UnitOfWorkFactory
from hub.store import make_engine, upgrade
from hub.store.models import DeadLetter
from tests.support import ledger
from tests.support.harness import item_event, outgoing, wait_until


def _delivery(body: bytes, count: int = 1) -> tuple[Delivery, list[str]]:
    settled: list[str] = []
    d = Delivery(
        "hub.ledger",
        "test.item.created",
        body,
        {},
        "m-1",
        count,
        ack=lambda: settled.append("ack"),
        requeue=lambda: settled.append("requeue"),
    )
    return d, settled


def _batch(bodies: list[bytes], settled: list[str]) -> list[Delivery]:
    """First deliveries of ``bodies``; settling one appends "ack i" or "requeue i"."""
    return [
        Delivery(
            "hub.ledger",
            "test.item.created",
            body,
            {},
            f"m-{i}",
            1,
            ack=lambda i=i: settled.append(f"ack {i}"),
            requeue=lambda i=i: settled.append(f"requeue {i}"),
        )
        for i, body in enumerate(bodies)
    ]


def _processor(url: str, limit: int = 2) -> Processor:
    return Processor(
        by_queue([ledger.consumer]),
        UnitOfWorkFactory(make_engine(url)),
        default_retry=RetryPolicy(),
        delivery_limit=limit,
        outage_pause=0,
    )


def test_a_store_outage_returns_the_message_unsettled_and_spends_no_attempt() -> None:
    processor = _processor("postgresql+psycopg://nobody@127.0.0.1:1/none")
    d, settled = _delivery(outgoing(item_event("O-1")).body)
    assert processor(d) is Outcome.RETURNED
    assert settled == ["requeue"]


def test_only_handling_starts_of_redeliveries_count_towards_poison(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    upgrade(url)
    processor = _processor(url, limit=2)
    ledger.metadata.create_all(processor.uow.engine)
    body = outgoing(item_event("P-9")).body
    # a message prefetched beside a poison message comes back with a high delivery count,
    # but it was never started: it is handled normally
    d, settled = _delivery(body, count=7)
    assert processor(d) is Outcome.HANDLED and settled == ["ack"]

    crash = outgoing(item_event("P-10", permanent=True)).body
    starts = []
    for count in (2, 3):  # two redeliveries whose handling started and "crashed"
        d, _ = _delivery(crash, count)
        starts.append(processor._count_start("ledger", d))
    assert starts == [1, 2]
    d, settled = _delivery(crash, 4)
    assert processor(d) is Outcome.DEAD and settled == ["ack"]


def test_the_embedded_broker_redelivers_a_dead_workers_messages_after_its_lease(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'broker.sqlite'}?lease=1"
    worker, survivor = SqlTransport(url), SqlTransport(url)
    worker.setup({"hub.q": ["t.x"]})
    worker.publish([Outgoing(EVENTS_EXCHANGE, "t.x", b"1", "m-1")])
    taken = worker._lease(["hub.q"], 10)  # the worker takes it, then dies without settling
    assert [r["message_id"] for r in taken] == ["m-1"]
    assert survivor._lease(["hub.q"], 10) == []
    # the lease runs out: the broker's own table no longer counts it as in flight
    wait_until(lambda: survivor.stats(["hub.q"])[0].in_flight == 0, what="the lease to run out")
    got: list[Delivery] = []
    stop = threading.Event()

    def on(d: Delivery) -> None:
        got.append(d)
        d.ack()
        stop.set()

    survivor.consume(["hub.q"], on, prefetch=10, stop=stop)
    assert got[0].message_id == "m-1" and got[0].delivery_count == 2
    assert survivor.stats(["hub.q"])[0].depth == 0


def test_a_batch_commits_together_and_settles_each_message_on_its_own(database_url: str) -> None:
    upgrade(database_url)
    processor = _processor(database_url)
    ledger.metadata.create_all(processor.uow.engine)
    bodies = [
        outgoing(item_event("B-1", key="k-1")).body,
        outgoing(item_event("B-1", key="k-1")).body,  # the same key again, in the same batch
        outgoing(item_event("B-2", permanent=True)).body,
        b"{not json",
        outgoing(item_event("B-3")).body,
    ]
    settled: list[str] = []
    batch = _batch(bodies, settled)
    outcomes = processor.handle_batch(batch)
    assert sorted(o.value for o in outcomes) == sorted(
        ["handled", "duplicate", "dead-lettered", "dead-lettered", "handled"]
    )
    assert sorted(settled) == [f"ack {i}" for i in range(5)]
    with processor.uow.engine.connect() as conn:
        items = sorted(
            conn.execute(ledger.ledger.select()).mappings().all(), key=lambda r: r["item"]
        )
    assert [r["item"] for r in items] == ["B-1", "B-3"]
    processor.uow.engine.dispose()


def test_a_handler_breaking_a_store_constraint_spoils_no_other_message_of_its_batch(
    database_url: str,
) -> None:
    upgrade(database_url)
    processor = _processor(database_url)
    ledger.metadata.create_all(processor.uow.engine)
    bodies = [
        outgoing(item_event("C-1")).body,
        outgoing(item_event("C-2", constraint=True)).body,
        outgoing(item_event("C-3")).body,
    ]
    settled: list[str] = []
    batch = _batch(bodies, settled)
    outcomes = processor.handle_batch(batch)
    assert [o.value for o in outcomes] == ["handled", "retried", "handled"]
    assert sorted(settled) == ["ack 0", "ack 1", "ack 2"]
    with processor.uow.engine.connect() as conn:
        items = sorted(r["item"] for r in conn.execute(ledger.ledger.select()).mappings())
    assert items == ["C-1", "C-3"]
    processor.uow.engine.dispose()


def test_a_key_taken_by_another_worker_during_a_batch_is_a_duplicate_on_a_second_pass(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(database_url)
    processor = _processor(database_url)
    ledger.metadata.create_all(processor.uow.engine)
    first = _delivery(outgoing(item_event("R-1", key="race")).body)[0]
    assert processor(first) is Outcome.HANDLED  # the other worker's commit
    looked = []
    real = processor.ledger.handled

    def late(keys: Iterable[InboxKey]) -> set[InboxKey]:
        wanted = list(keys)
        looked.append(len(wanted))
        return set() if len(looked) == 1 else real(wanted)

    monkeypatch.setattr(processor.ledger, "handled", late)
    settled: list[str] = []
    batch = [
        Delivery(
            "hub.ledger",
            "test.item.created",
            outgoing(item_event(item, key=key)).body,
            {},
            f"m-{item}",
            1,
            ack=lambda item=item: settled.append(item),
            requeue=lambda: settled.append("requeue"),
        )
        for item, key in (("R-2", "k-2"), ("R-1", "race"), ("R-3", "k-3"))
    ]
    outcomes = processor.handle_batch(batch)
    assert [o.value for o in outcomes] == ["handled", "duplicate", "handled"]
    assert looked == [3, 3], "the batch was not tried again as a batch"
    assert sorted(settled) == ["R-1", "R-2", "R-3"]
    with processor.uow.engine.connect() as conn:
        items = sorted(r["item"] for r in conn.execute(ledger.ledger.select()).mappings())
    assert items == ["R-1", "R-2", "R-3"]
    processor.uow.engine.dispose()


def test_a_redelivered_message_already_dead_lettered_is_not_stored_twice(
    database_url: str,
) -> None:
    upgrade(database_url)
    processor = _processor(database_url, limit=5)
    first, _ = _delivery(b"{not json")
    again, settled = _delivery(b"{not json", count=2)  # the worker died before settling it
    assert processor(first) is Outcome.DEAD
    assert processor(again) is Outcome.DEAD
    assert settled == ["ack"]
    resent, _ = _delivery(b"{not json")  # resent by its producer (same id): recognised too
    assert processor(resent) is Outcome.DEAD
    other = replace(_delivery(b"{not json")[0], message_id="m-2")  # another message: stored
    assert processor(other) is Outcome.DEAD
    with processor.uow.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DeadLetter)) == 2
    processor.uow.engine.dispose()
