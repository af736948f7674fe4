"""The store's contract, on SQLite and on PostgreSQL alike (``database_url`` runs both)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hub.store import DeadLetter, InboxEntry, OutboxMessage, make_engine, session_factory, upgrade
from hub.store.db import current_revision, head_revision


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_upgrade_creates_the_tables_and_is_idempotent(database_url: str, engine: Engine) -> None:
    upgrade(database_url)  # a second time changes nothing
    assert current_revision(database_url) == head_revision()
    assert {"inbox", "outbox", "dead_letters"} <= set(inspect(engine).get_table_names())


def test_inbox_rejects_a_second_entry_for_the_same_consumer_and_key(
    sessions: sessionmaker[Session],
) -> None:
    def entry(consumer: str, tenant: str = "default") -> InboxEntry:
        return InboxEntry(
            tenant_id=tenant,
            consumer=consumer,
            idempotency_key="k1",
            event_id="e1",
            event_type="t",
            correlation_id="c",
            handled_at=NOW,
        )

    with sessions() as s, s.begin():
        s.add(entry("a"))
        s.add(entry("b"))  # another consumer may handle the same event
        s.add(entry("a", "acme"))  # the same key in another tenant is another event
    with pytest.raises(IntegrityError), sessions() as s, s.begin():
        s.add(entry("a"))


def test_outbox_keeps_bytes_headers_and_aware_times(sessions: sessionmaker[Session]) -> None:
    body = b'{"specversion":"1.0"}\x00\xff'
    with sessions() as s, s.begin():
        s.add(
            OutboxMessage(
                tenant_id="default",
                event_id="e1",
                event_type="crm.ticket.created",
                exchange="hub.events",
                routing_key="crm.ticket.created",
                subject="T-1",
                headers={"x-hub-attempt": 2},
                body=body,
                correlation_id="c1",
                causation_id="e0",
                created_at=NOW,
                available_at=NOW + timedelta(seconds=5),
            )
        )
    with sessions() as s:
        row = s.scalars(select(OutboxMessage)).one()
        assert row.body == body
        assert row.headers == {"x-hub-attempt": 2}
        assert row.available_at == NOW + timedelta(seconds=5)
        assert row.available_at.tzinfo is not None
        assert row.sent_at is None and row.publish_attempts == 0 and row.kind == "event"
        pending = s.scalars(
            select(OutboxMessage).where(
                OutboxMessage.sent_at.is_(None), OutboxMessage.available_at <= NOW
            )
        ).all()
        assert pending == []  # not yet available


def test_naive_datetimes_are_refused(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(Exception, match="naive datetime"), sessions() as s, s.begin():
        s.add(
            InboxEntry(
                tenant_id="default",
                consumer="a",
                idempotency_key="k",
                event_id="e",
                event_type="t",
                handled_at=datetime(2026, 1, 1),
            )
        )


def test_dead_letter_keeps_the_original_message(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        s.add(
            DeadLetter(
                tenant_id="default",
                consumer="finance",
                queue="hub.finance",
                body=b"{nope",
                headers={"h": "v"},
                error_type="InvalidMessage",
                error_message="body is not JSON",
                traceback="tb",
                attempts=1,
                first_failed_at=NOW,
                last_failed_at=NOW,
            )
        )
    with sessions() as s:
        dl = s.scalars(select(DeadLetter)).one()
        assert (dl.body, dl.status, dl.error_type) == (b"{nope", "dead", "InvalidMessage")
        assert dl.id >= 1


def test_the_migrations_build_exactly_the_models(database_url: str, engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import hub.store.tables  # noqa: F401  (every table on the metadata)
    from hub.store.models import Base

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations differ: write a migration for {diff}"
