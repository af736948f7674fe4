"""A batch reads its rows once and writes each table once, yet every message sees what the
earlier messages of the same batch wrote (``hub.store.batch``), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from consumers import ALL
from hub.bench.mix import Mix
from hub.bench.run import _prepare_hub_store
from hub.bench.statements import counting
from hub.education.tables import EnrollmentRow
from hub.finance.tables import AgreementState
from hub.runtime.policy import RetryPolicy
from hub.runtime.processor import Outcome, Processor
from hub.runtime.registry import by_queue
from hub.runtime.transport import Delivery
from hub.runtime.uow import UnitOfWorkFactory
from hub.store.batch import find, keep, preload, read_ahead
from hub.store.db import make_engine, session_factory
from hub.store.models import DEFAULT_TENANT
from hub.workflow.tables import StageHistoryRow, TicketRow
from producers.finance_simulator import cancelled_event, pending_event
from schemas import CloudEvent

QUEUES = {t: c.queue for c in ALL for t in c.handlers}


@pytest.fixture
def processor(database_url: str) -> Iterator[Processor]:
    _prepare_hub_store(database_url, Mix(1, duplicates=0.0, tag="batch"))
    engine = make_engine(database_url)
    yield Processor(
        by_queue(ALL),
        UnitOfWorkFactory(engine),
        default_retry=RetryPolicy(),
        delivery_limit=5,
        outage_pause=0,
    )
    engine.dispose()


def _run(processor: Processor, *events: dict[str, Any], commits: int | None = 1) -> list[Outcome]:
    """Hand ``events`` (all for one consumer) to the processor as one batch, and check that it
    committed ``commits`` times (1: the batch was not split nor handled again one by one)."""
    batch = [
        Delivery(QUEUES[e["type"]], e["type"], json.dumps(e).encode(), {}, e["id"], 1, _no, _no)
        for e in events
    ]
    with counting(processor.uow.engine) as seen:
        outcomes = processor.handle_batch(batch)
    if commits is not None:
        assert seen["commits"] == commits
    return outcomes


def _tickets(engine: Engine, agreement: str) -> list[TicketRow]:
    with session_factory(engine)() as s:
        return list(s.scalars(select(TicketRow).where(TicketRow.origin_id == agreement)))


def _state(engine: Engine, agreement: str) -> AgreementState | None:
    with session_factory(engine)() as s:
        return s.get(AgreementState, (DEFAULT_TENANT, agreement))


def test_a_cancellation_after_the_pending_event_in_the_same_batch_cancels_its_ticket(
    processor: Processor,
) -> None:
    outcomes = _run(
        processor,
        pending_event("AG-B1"),
        cancelled_event("AG-B1", "customer gave up"),
        pending_event("AG-B2"),
    )
    assert outcomes == [Outcome.HANDLED] * 3
    engine = processor.uow.engine
    [ticket] = _tickets(engine, "AG-B1")
    assert ticket.status == "cancelled"
    state = _state(engine, "AG-B1")
    assert state is not None and state.outcome == "ticket-cancelled"
    assert state.ticket_id == ticket.id
    with session_factory(engine)() as s:
        kinds = s.scalars(
            select(StageHistoryRow.kind)
            .where(StageHistoryRow.ticket_id == ticket.id)
            .order_by(StageHistoryRow.id)
        ).all()
    assert kinds == ["open", "cancel"]
    assert [t.status for t in _tickets(engine, "AG-B2")] == ["open"]


def test_a_pending_event_after_the_cancellation_in_the_same_batch_opens_nothing(
    processor: Processor,
) -> None:
    assert (
        _run(processor, cancelled_event("AG-C1", "withdrawn"), pending_event("AG-C1"))
        == [Outcome.HANDLED] * 2
    )
    assert _tickets(processor.uow.engine, "AG-C1") == []
    state = _state(processor.uow.engine, "AG-C1")
    assert state is not None and state.outcome == "before-pending" and state.pending_event_id


def test_two_pending_events_of_one_agreement_in_a_batch_open_one_ticket(
    processor: Processor,
) -> None:
    # two different event ids (no inbox duplicate): the second finds the first one's state
    assert _run(processor, pending_event("AG-D1"), pending_event("AG-D1")) == [Outcome.HANDLED] * 2
    assert len(_tickets(processor.uow.engine, "AG-D1")) == 1
    # a later batch reads the stored state ahead and opens nothing either
    assert _run(processor, pending_event("AG-D1"), pending_event("AG-D2")) == [Outcome.HANDLED] * 2
    assert len(_tickets(processor.uow.engine, "AG-D1")) == 1


def test_enrollment_versions_out_of_order_in_one_batch_keep_the_newest(
    processor: Processor,
) -> None:
    def upsert(version: int) -> dict[str, Any]:
        data = {
            "ra": "RA-9",
            "company": "1",
            "academic_period": "2026.2",
            "contract_id": f"CT-{version}",
            "contract_status": "active",
            "disciplines": ["MAT101"],
            "fixed_due_day": 10,
            "version": version,
        }
        return {
            "specversion": "1.0",
            "id": f"enr-{version}",
            "source": "urn:test",
            "type": "edu.enrollment.upserted",
            "subject": "RA-9",
            "time": "2026-11-24T12:00:00Z",
            "data": data,
        }

    assert _run(processor, upsert(1), upsert(3), upsert(2)) == [Outcome.HANDLED] * 3
    with session_factory(processor.uow.engine)() as s:
        row = s.get(EnrollmentRow, (DEFAULT_TENANT, "1", "RA-9", "2026.2"))
    assert row is not None and (row.version, row.contract_id) == (3, "CT-3")


def test_a_failing_message_in_the_batch_leaves_the_others_and_their_reads_intact(
    processor: Processor,
) -> None:
    bad = pending_event("AG-E2")
    bad["data"]["template"] = "no-such-template"
    outcomes = _run(processor, pending_event("AG-E1"), bad, pending_event("AG-E3"), commits=None)
    assert outcomes == [Outcome.HANDLED, Outcome.DEAD, Outcome.HANDLED]
    engine = processor.uow.engine
    assert [len(_tickets(engine, a)) for a in ("AG-E1", "AG-E2", "AG-E3")] == [1, 0, 1]


def test_a_message_the_schema_refuses_leaves_the_batch_and_its_reads_to_the_others(
    processor: Processor,
) -> None:
    odd = pending_event("AG-F1")
    odd["data"]["agreement_id"] = 12345  # not a string: refused before any read-ahead
    outcomes = _run(processor, pending_event("AG-F2"), odd, pending_event("AG-F3"), commits=2)
    assert sorted(o.value for o in outcomes) == ["dead-lettered", "handled", "handled"]
    engine = processor.uow.engine
    assert [len(_tickets(engine, a)) for a in ("AG-F2", "AG-F3")] == [1, 1]


def test_a_failing_read_ahead_hands_the_batch_over_to_one_by_one_handling(
    processor: Processor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(events: Sequence[CloudEvent], session: Session) -> None:
        raise RuntimeError("read-ahead bug")

    consumer = processor.consumers["hub.finance-agreements"]
    monkeypatch.setitem(consumer.read_aheads, "finance.agreement.pending", broken)
    # one transaction per message: nothing is blamed on the messages, nothing is lost
    outcomes = _run(processor, pending_event("AG-H1"), pending_event("AG-H2"), commits=2)
    assert outcomes == [Outcome.HANDLED] * 2
    assert [len(_tickets(processor.uow.engine, a)) for a in ("AG-H1", "AG-H2")] == [1, 1]


def test_find_serves_what_was_read_ahead_or_kept_without_a_query(database_url: str) -> None:
    _prepare_hub_store(database_url, Mix(1, duplicates=0.0, tag="find"))
    engine = make_engine(database_url)
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2].split()[0]))
    key = (DEFAULT_TENANT, "AG-G1")
    with session_factory(engine)() as s, s.begin():
        # outside a batch: find is Session.get, and asks the store
        assert find(s, AgreementState, key) is None
        assert seen.count("SELECT") == 1
    with session_factory(engine)() as s, s.begin():
        read_ahead(s)
        preload(s, AgreementState, [key, (DEFAULT_TENANT, "AG-G2")], for_update=True)
        assert seen.count("SELECT") == 2  # one query for both keys
        assert find(s, AgreementState, key) is None  # known absent
        state = AgreementState(
            tenant_id=DEFAULT_TENANT, agreement_id="AG-G1", updated_at=datetime.now(UTC)
        )
        keep(s, AgreementState, key, state)
        assert find(s, AgreementState, key) is state
        preload(s, AgreementState, [key])  # already known: no query
        assert seen.count("SELECT") == 2
    with session_factory(engine)() as s, counting(engine) as n:
        read_ahead(s)
        preload(s, AgreementState, [key])
        assert find(s, AgreementState, key) is not None  # stored at the commit above
        assert n["SELECT"] == 1
    engine.dispose()


def _no() -> None:
    pass
