"""The dead-letter audit: who purged, edited or replayed which dead letter, and when.

Each entry keeps the message as it was (so a purged one stays readable), and an edit also the
corrected message and the diff. Entries are forgotten after ``HUB_AUDIT_RETENTION_DAYS``
(housekeeping).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.runtime.uow import UnitOfWorkFactory
from hub.store.models import DeadLetter, DeadLetterAudit

Action = Literal["purged", "edited", "replayed"]


def record(
    session: Session,
    dl: DeadLetter,
    action: Action,
    *,
    by: str,
    at: datetime,
    corrected: bytes | None = None,
    diff: str | None = None,
    detail: str | None = None,
) -> DeadLetterAudit:
    """Add an entry for ``action`` on ``dl`` to ``session`` (the operator's transaction)."""
    entry = DeadLetterAudit(
        tenant_id=dl.tenant_id,
        dead_letter_id=dl.id,
        action=action,
        by=by[:200],
        at=at,
        consumer=dl.consumer,
        event_id=dl.event_id,
        event_type=dl.event_type,
        error_type=dl.error_type,
        error_message=dl.error_message,
        body=dl.body,
        headers=dl.headers or {},
        corrected=corrected,
        diff=diff,
        detail=detail,
    )
    session.add(entry)
    return entry


def entries(
    uow: UnitOfWorkFactory, tenant: str, dead_letter_id: int | None = None, limit: int = 200
) -> list[DeadLetterAudit]:
    """The tenant's newest entries first (of one dead letter when ``dead_letter_id`` is
    given)."""
    query = (
        select(DeadLetterAudit)
        .where(DeadLetterAudit.tenant_id == tenant)
        .order_by(DeadLetterAudit.id.desc())
        .limit(limit)
    )
    if dead_letter_id is not None:
        query = query.where(DeadLetterAudit.dead_letter_id == dead_letter_id)
    with uow.sessions() as session:
        return list(session.scalars(query))


def as_json(entry: DeadLetterAudit, *, with_bodies: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": entry.id,
        "dead_letter_id": entry.dead_letter_id,
        "action": entry.action,
        "by": entry.by,
        "at": entry.at.isoformat(),
        "consumer": entry.consumer,
        "event_id": entry.event_id,
        "event_type": entry.event_type,
        "error_type": entry.error_type,
        "detail": entry.detail,
        "diff": entry.diff,
    }
    if with_bodies:
        out["body"] = entry.body.decode("utf-8", "replace")
        out["corrected"] = entry.corrected.decode("utf-8", "replace") if entry.corrected else None
    return out


def forget_older_than(uow: UnitOfWorkFactory, days: float) -> int:
    """Drop entries older than ``days`` (housekeeping). Returns how many."""
    cutoff = uow.clock.now() - timedelta(days=days)
    with uow.sessions.begin() as session:
        result = session.execute(delete(DeadLetterAudit).where(DeadLetterAudit.at < cutoff))
    return int(result.rowcount)  # type: ignore[attr-defined]
