"""Tables of the message runtime: inbox, outbox (which also carries scheduled retries), dead letters.

Other parts of the hub add their tables to the same ``Base.metadata``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend (SQLite keeps no zone; we store UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


#: The tenant of events without a ``tenantid``, of ``make run`` and of every existing flow.
DEFAULT_TENANT = "default"


class Tenant(Base):
    """An isolated customer installation: every row of its data carries its id.

    ``required_fields`` maps a module (``tickets``, ``users``, ...) to the fields the tenant
    makes mandatory there; ``settings`` holds the tenant's own switches (see ``hub.tenancy``).
    """

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(20))  # freemium | starter | advanced
    required_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class InboxEntry(Base):
    """One handled message per (tenant, consumer, idempotency key): the duplicate filter."""

    __tablename__ = "inbox"

    tenant_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(400), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(200))
    correlation_id: Mapped[str | None] = mapped_column(String(200))
    handled_at: Mapped[datetime]

    __table_args__ = (Index("ix_inbox_tenant_correlation", "tenant_id", "correlation_id"),)


class OutboxMessage(Base):
    """A message to publish, written in the transaction that decided it.

    ``exchange``/``routing_key`` say where it goes: the events exchange and the event type for
    outbound events; the default exchange and a hub queue for a scheduled retry or a replay,
    which reach only the consumer that failed. ``available_at`` delays it (retries).
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="event")  # event | retry | replay
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(200))
    exchange: Mapped[str] = mapped_column(String(200))
    routing_key: Mapped[str] = mapped_column(String(400))
    subject: Mapped[str | None] = mapped_column(String(400))
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    correlation_id: Mapped[str | None] = mapped_column(String(200))
    causation_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    available_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    publish_attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_outbox_pending", "sent_at", "available_at"),
        Index("ix_outbox_event", "event_id"),
        Index("ix_outbox_tenant_correlation", "tenant_id", "correlation_id"),
    )


class DeadLetter(Base):
    """A message no retry will fix, kept whole for an operator to inspect, replay or purge."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(
        String(100), doc="The event's tenant; ``default`` when it names none the hub has."
    )
    consumer: Mapped[str] = mapped_column(String(100))
    queue: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str | None] = mapped_column(String(200))
    event_type: Mapped[str | None] = mapped_column(String(200))
    correlation_id: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error_type: Mapped[str] = mapped_column(String(200))
    error_message: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=1)
    first_failed_at: Mapped[datetime]
    last_failed_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="dead")  # dead | replayed
    replayed_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_dead_letters_tenant_status", "tenant_id", "status", "consumer"),
        Index("ix_dead_letters_tenant_correlation", "tenant_id", "correlation_id"),
    )


class HandlingAttempt(Base):
    """Handlings of a redelivered message that were started but never settled: the worker died.

    Only redeliveries are counted, so messages that were merely prefetched alongside a poison
    message when the worker died are not mistaken for it.
    """

    __tablename__ = "handling_attempts"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    message_key: Mapped[str] = mapped_column(String(400), primary_key=True)
    started: Mapped[int] = mapped_column(default=0)
    last_started_at: Mapped[datetime]


class DeadLetterAudit(Base):
    """What an operator did to a dead letter: ``purged``, ``edited`` (replayed as corrected) or
    ``replayed``; who and when, and the message itself as it was, so that a purged one stays
    readable for the audit's retention period. An edit also keeps the corrected message and the
    diff between the two."""

    __tablename__ = "dead_letter_audit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(100))
    dead_letter_id: Mapped[int] = mapped_column(BigId)
    action: Mapped[str] = mapped_column(String(20))  # purged | edited | replayed
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(index=True)
    consumer: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str | None] = mapped_column(String(200))
    event_type: Mapped[str | None] = mapped_column(String(200))
    error_type: Mapped[str] = mapped_column(String(200))
    error_message: Mapped[str] = mapped_column(Text)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    corrected: Mapped[bytes | None] = mapped_column(LargeBinary)
    diff: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_dead_letter_audit_tenant_letter", "tenant_id", "dead_letter_id"),)
