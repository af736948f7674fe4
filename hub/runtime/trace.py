"""The message trace: every record the hub keeps about one correlation id, as a timeline.

Sources: the inbox (an event received and handled by a consumer), the outbox (an event emitted,
a retry scheduled, a replay, a mail), the dead-letter store, and the stage history of the
tickets opened in the chain. Published outbox rows are pruned after
``HUB_OUTBOX_RETENTION_DAYS``, so an old chain shows less.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from hub.runtime.uow import UnitOfWorkFactory
from hub.store.models import DeadLetter, InboxEntry, OutboxMessage
from hub.workflow.tables import StageHistoryRow, TicketRow

_OUTBOX_STEP = {"event": "emitted", "retry": "retried", "replay": "replayed"}


def _step(at: datetime, step: str, **fields: Any) -> dict[str, Any]:
    return {"at": at.isoformat(), "step": step, **fields}


def timeline(uow: UnitOfWorkFactory, correlation_id: str, *, tenant: str) -> list[dict[str, Any]]:
    """Each record of the chain ``correlation_id``, oldest first. Every item has ``at``,
    ``step`` (received, emitted, retried, replayed, mail, dead-lettered, ticket), and
    ``event_id``, ``event_type``, ``consumer``, ``detail`` where they apply. Only ``tenant``'s
    records are read."""
    steps: list[dict[str, Any]] = []
    with uow.sessions() as session:
        for inbox in session.scalars(
            select(InboxEntry).where(
                InboxEntry.tenant_id == tenant, InboxEntry.correlation_id == correlation_id
            )
        ):
            steps.append(
                _step(
                    inbox.handled_at,
                    "received",
                    event_id=inbox.event_id,
                    event_type=inbox.event_type,
                    consumer=inbox.consumer,
                    detail="handled",
                )
            )
        for row in session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.tenant_id == tenant, OutboxMessage.correlation_id == correlation_id
            )
        ):
            sent = f"sent {row.sent_at.isoformat()}" if row.sent_at else "not sent yet"
            detail = f"to {row.routing_key}; {sent}"
            if row.kind == "retry":
                detail = f"attempt {row.headers.get('x-hub-attempt')} due {row.available_at.isoformat()}; {sent}"
                if row.headers.get("x-hub-last-error"):
                    detail += f"; after {row.headers['x-hub-last-error']}"
            steps.append(
                _step(
                    row.created_at,
                    _OUTBOX_STEP.get(row.kind, row.kind),
                    event_id=row.event_id,
                    event_type=row.event_type,
                    consumer=row.routing_key.removeprefix("hub.") if row.exchange == "" else None,
                    detail=detail,
                )
            )
        for dl in session.scalars(
            select(DeadLetter).where(
                DeadLetter.tenant_id == tenant, DeadLetter.correlation_id == correlation_id
            )
        ):
            steps.append(
                _step(
                    dl.last_failed_at,
                    "dead-lettered",
                    event_id=dl.event_id,
                    event_type=dl.event_type,
                    consumer=dl.consumer,
                    detail=f"{dl.error_type}: {dl.error_message} ({dl.status})",
                    dead_letter_id=dl.id,
                )
            )
        tickets = list(
            session.scalars(
                select(TicketRow.id).where(
                    TicketRow.tenant_id == tenant, TicketRow.correlation_id == correlation_id
                )
            )
        )
        if tickets:
            for h in session.scalars(
                select(StageHistoryRow).where(
                    StageHistoryRow.tenant_id == tenant, StageHistoryRow.ticket_id.in_(tickets)
                )
            ):
                moved = f"{h.from_stage} -> {h.to_stage}" if h.from_stage else h.to_stage
                steps.append(
                    _step(
                        h.at,
                        "ticket",
                        event_id=None,
                        event_type=None,
                        consumer=None,
                        detail=f"{h.ticket_id} {h.kind} {moved} by {h.by}"
                        + (f" ({h.reason})" if h.reason else ""),
                        ticket_id=h.ticket_id,
                    )
                )
    steps.sort(key=lambda s: s["at"])
    return steps
