"""The message ledger's contract: the same tests on SQLite, on PostgreSQL and on the in-memory
ledger the runtime's unit tests use, so that the fake cannot drift from the real thing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from hub.runtime.ledger import (
    InboxKey,
    Ledger,
    Letter,
    MemoryLedger,
    Retry,
    SqlLedger,
    StoreOutage,
)
from hub.store import DeadLetter, InboxEntry, OutboxMessage, make_engine, session_factory, upgrade
from tests.services import fresh_postgres_database

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@dataclass
class Kept:
    """A ledger, and what a handler's transaction writes beside it (inbox and outbox rows),
    and what it stored, read back its own way."""

    ledger: Ledger
    memory: MemoryLedger | None = None
    sessions: sessionmaker[Session] | None = None

    def handle(self, key: InboxKey) -> None:
        if self.memory is not None:
            self.memory.inbox.add(key)
            return
        assert self.sessions is not None
        tenant, consumer, idempotency_key = key
        with self.sessions.begin() as s:
            s.execute(
                insert(InboxEntry).values(
                    tenant_id=tenant,
                    consumer=consumer,
                    idempotency_key=idempotency_key,
                    event_id=f"e-{idempotency_key}",
                    event_type="fin.agreement.pending",
                    correlation_id=None,
                    handled_at=NOW,
                )
            )

    def emit(self, *, kind: str = "event", at: datetime = NOW, event_id: str = "e1") -> int:
        row = OutboxMessage(
            tenant_id="default",
            kind=kind,
            event_id=event_id,
            event_type="crm.ticket.created",
            exchange="hub.events" if kind == "event" else "",
            routing_key="crm.ticket.created",
            subject="T-1",
            headers={"x-hub-attempt": 1},
            body=b'{"id":"' + event_id.encode() + b'"}',
            correlation_id="c1",
            causation_id=None,
            created_at=NOW,
            available_at=at,
        )
        if self.memory is not None:
            return self.memory.add(row).id
        assert self.sessions is not None
        with self.sessions.begin() as s:
            s.add(row)
            s.flush()
            return row.id

    def row(self, row_id: int) -> OutboxMessage | None:
        if self.memory is not None:
            return self.memory.outbox.get(row_id)
        assert self.sessions is not None
        with self.sessions() as s:
            return s.get(OutboxMessage, row_id)

    def letters(self) -> list[tuple[str, bytes, str | None, str]]:
        if self.memory is not None:
            return [(x.consumer, x.body, x.event_id, x.error_type) for x in self.memory.letters]
        assert self.sessions is not None
        with self.sessions() as s:
            rows = s.execute(
                select(
                    DeadLetter.consumer, DeadLetter.body, DeadLetter.event_id, DeadLetter.error_type
                ).order_by(DeadLetter.id)
            )
            return [tuple(r) for r in rows]  # type: ignore[misc]


@contextmanager
def _database(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.sqlite'}"
    else:
        with fresh_postgres_database() as url:
            yield url


@pytest.fixture(params=["sqlite", "postgres", "memory"])
def kept(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kept]:
    if request.param == "memory":
        memory = MemoryLedger()
        yield Kept(memory, memory=memory)
        return
    with _database(request.param, tmp_path) as url:
        upgrade(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        yield Kept(SqlLedger(sessions), sessions=sessions)
        engine.dispose()


def _letter(body: bytes = b"{}", *, event_id: str = "e1", consumer: str = "c") -> Letter:
    return Letter(
        tenant_id="default",
        consumer=consumer,
        queue=f"hub.{consumer}",
        event_id=event_id,
        event_type="fin.agreement.pending",
        correlation_id=None,
        body=body,
        headers={},
        error_type="InvalidMessage",
        error_message="no",
        traceback=None,
        attempts=1,
        first_failed_at=NOW,
        last_failed_at=NOW,
    )


def test_handled_names_only_the_keys_in_the_inbox_of_their_tenant_and_consumer(kept: Kept) -> None:
    kept.handle(("default", "a", "k1"))
    kept.handle(("acme", "a", "k2"))
    asked = {
        ("default", "a", "k1"),
        ("default", "b", "k1"),
        ("default", "a", "k2"),
        ("acme", "a", "k2"),
    }
    assert kept.ledger.handled(asked) == {("default", "a", "k1"), ("acme", "a", "k2")}
    assert kept.ledger.handled([]) == set()


def test_starts_are_counted_per_consumer_and_message_until_forgotten(kept: Kept) -> None:
    assert [kept.ledger.count_start("a", "m1", NOW) for _ in range(3)] == [1, 2, 3]
    assert kept.ledger.count_start("b", "m1", NOW) == 1
    kept.ledger.forget_starts("a", "m1")
    kept.ledger.forget_starts("a", "never-started")  # nothing to forget is no error
    assert kept.ledger.count_start("a", "m1", NOW) == 1
    assert kept.ledger.count_start("b", "m1", NOW) == 2


def test_a_retry_waits_in_the_outbox_until_it_is_due(kept: Kept) -> None:
    later = NOW + timedelta(seconds=5)
    kept.ledger.schedule_retry(
        Retry(
            tenant_id="default",
            queue="hub.finance-approval",
            event_id="e1",
            event_type="fin.agreement.pending",
            subject="A-1",
            headers={"x-hub-attempt": 2},
            body=b"{}",
            correlation_id="c1",
            causation_id=None,
            created_at=NOW,
            available_at=later,
        )
    )
    assert kept.ledger.backlog(NOW) == (0, 1)
    assert kept.ledger.next_due() == later
    with kept.ledger.sending(10, NOW) as sending:
        assert sending.rows == []
    with kept.ledger.sending(10, later) as sending:
        (row,) = sending.rows
        assert (row.kind, row.routing_key, row.headers) == (
            "retry",
            "hub.finance-approval",
            {"x-hub-attempt": 2},
        )
        sending.sent([row], later)
    assert kept.ledger.backlog(later) == (0, 0)
    assert kept.ledger.next_due() is None


def test_a_dead_letter_is_refused_only_when_the_same_one_awaits_action(kept: Kept) -> None:
    assert kept.ledger.dead_letter(_letter(b"a"))
    assert kept.ledger.dead_letter(_letter(b"a"))  # without `unless`, always stored
    assert not kept.ledger.dead_letter(_letter(b"a", event_id="e2"), unless="body")
    assert kept.ledger.dead_letter(_letter(b"a", event_id="e2"), unless="body-and-id")
    assert kept.ledger.dead_letter(_letter(b"a", consumer="other"), unless="body")
    assert not kept.ledger.dead_letter(_letter(b"a", event_id="e2"), unless="body-and-id")
    assert [(c, b, e) for c, b, e, _ in kept.letters()] == [
        ("c", b"a", "e1"),
        ("c", b"a", "e1"),
        ("c", b"a", "e2"),
        ("other", b"a", "e1"),
    ]


def test_sending_hands_out_due_broker_rows_oldest_first_and_keeps_what_the_block_marks(
    kept: Kept,
) -> None:
    first, second, third = (kept.emit(event_id=f"e{n}") for n in range(3))
    kept.emit(kind="mail", event_id="m1")  # another deliverer's
    kept.emit(event_id="later", at=NOW + timedelta(minutes=1))
    with kept.ledger.sending(2, NOW) as sending:
        assert [r.id for r in sending.rows] == [first, second]
        sending.sent(sending.rows[:1], NOW)
        sending.postpone(sending.rows[1], NOW + timedelta(seconds=30), "unroutable")
    assert kept.row(first).sent_at == NOW  # type: ignore[union-attr]
    postponed = kept.row(second)
    assert postponed is not None and postponed.sent_at is None
    assert (postponed.publish_attempts, postponed.last_error) == (1, "unroutable")
    assert postponed.available_at == NOW + timedelta(seconds=30)
    with kept.ledger.sending(10, NOW) as sending:
        assert [r.id for r in sending.rows] == [third]


def test_a_sending_block_that_raises_records_nothing(kept: Kept) -> None:
    row_id = kept.emit()
    with pytest.raises(RuntimeError), kept.ledger.sending(10, NOW) as sending:
        sending.sent(sending.rows, NOW)
        raise RuntimeError("the broker went away before the confirm")
    assert kept.row(row_id).sent_at is None  # type: ignore[union-attr]
    assert kept.ledger.backlog(NOW) == (1, 0)


def test_a_claim_hides_rows_of_other_kinds_until_it_expires(kept: Kept) -> None:
    kept.emit(event_id="e1")
    mail = kept.emit(kind="mail", event_id="m1", at=NOW - timedelta(seconds=3))
    until = NOW + timedelta(minutes=5)
    (claimed,) = kept.ledger.claim(10, NOW, until)
    assert (claimed.id, claimed.kind) == (mail, "mail")
    assert claimed.available_at == NOW - timedelta(seconds=3)  # as it fell due: the relay lag
    assert kept.ledger.claim(10, NOW, until) == []  # another relay finds nothing
    assert [r.id for r in kept.ledger.claim(10, until, until + timedelta(minutes=5))] == [mail]


def test_claimed_rows_are_marked_sent_or_postponed_with_their_error(kept: Kept) -> None:
    sent, failed, waiting = (kept.emit(kind="mail", event_id=f"m{n}") for n in range(3))
    kept.ledger.claim(10, NOW, NOW + timedelta(minutes=5))
    kept.ledger.mark_sent(sent, NOW)
    kept.ledger.postpone(failed, NOW + timedelta(seconds=20), "SMTPServerDisconnected: gone")
    kept.ledger.postpone(waiting, NOW + timedelta(seconds=10))  # its server failed: no attempt
    assert kept.row(sent).sent_at == NOW  # type: ignore[union-attr]
    row = kept.row(failed)
    assert row is not None
    assert (row.publish_attempts, row.last_error) == (1, "SMTPServerDisconnected: gone")
    assert row.available_at == NOW + timedelta(seconds=20)
    row = kept.row(waiting)
    assert row is not None and (row.publish_attempts, row.last_error) == (0, None)
    assert kept.ledger.next_due() == NOW + timedelta(seconds=10)
    assert kept.ledger.backlog(NOW) == (0, 2)


def test_a_row_moved_to_the_dead_letters_leaves_the_outbox(kept: Kept) -> None:
    row_id = kept.emit(kind="mail", event_id="m1")
    kept.ledger.move_to_dead_letters(row_id, _letter(b"mail", event_id="m1", consumer="mail"))
    assert kept.row(row_id) is None
    assert kept.letters() == [("mail", b"mail", "m1", "InvalidMessage")]
    assert kept.ledger.backlog(NOW) == (0, 0)


def test_an_unreachable_store_is_a_store_outage(kept: Kept, tmp_path: Path) -> None:
    ledger: Ledger = kept.ledger
    if kept.memory is not None:
        kept.memory.down = True
    else:  # a database that is not there: the driver's error comes back as the hub's own
        assert kept.sessions is not None
        sqlite = kept.sessions.kw["bind"].dialect.name == "sqlite"
        gone = (
            f"sqlite:///{tmp_path / 'no-such-directory' / 'hub.sqlite'}"
            if sqlite
            else "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
        )
        ledger = SqlLedger(session_factory(make_engine(gone)))
    with pytest.raises(StoreOutage):
        ledger.handled([("default", "a", "k1")])
    with pytest.raises(StoreOutage):
        ledger.backlog(NOW)
    with pytest.raises(StoreOutage), ledger.sending(10, NOW):
        pass
