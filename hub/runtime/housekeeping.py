"""Keeps the store from growing without bound: published outbox rows, old inbox entries and old
dead-letter audit entries go after their retention period. The inbox retention is the window in which a duplicate is still
recognised, so it must outlast any producer's redelivery horizon."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from hub.runtime import dlq_audit
from hub.runtime.uow import UnitOfWorkFactory
from hub.store.models import InboxEntry, OutboxMessage


def prune(
    uow: UnitOfWorkFactory,
    *,
    outbox_days: float,
    inbox_days: float,
    audit_days: float | None = None,
) -> tuple[int, int]:
    """Delete outbox rows published more than ``outbox_days`` ago, inbox entries older than
    ``inbox_days`` and, when ``audit_days`` is given, dead-letter audit entries older than that.
    Returns (outbox rows, inbox rows) deleted."""
    now = uow.clock.now()
    with uow.sessions.begin() as session:
        sent = session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.sent_at.is_not(None),
                OutboxMessage.sent_at < now - timedelta(days=outbox_days),
            )
        ).rowcount  # type: ignore[attr-defined]
        seen = session.execute(
            delete(InboxEntry).where(InboxEntry.handled_at < now - timedelta(days=inbox_days))
        ).rowcount  # type: ignore[attr-defined]
    if audit_days is not None:
        dlq_audit.forget_older_than(uow, audit_days)
    return int(sent), int(seen)
