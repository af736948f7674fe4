"""The ticket read model: a ticket as the CLI, the API and the console show it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.runtime.uow import UnitOfWork
from hub.workflow.repository import TicketRepository
from hub.workflow.tables import TicketTombstone
from hub.workflow.tickets import Ticket


def ticket_json(ticket: Ticket, uow: UnitOfWork | None = None) -> dict[str, Any]:
    """A ticket as the CLI and the web console print it (history etc. when ``uow`` is given)."""
    out: dict[str, Any] = {
        "id": ticket.id,
        "type": ticket.type_id,
        "subject": ticket.subject,
        "description": ticket.description,
        "stage": ticket.stage,
        "status": ticket.status,
        "holder": {"kind": ticket.holder.kind, "id": ticket.holder.id},
        "customer_id": ticket.customer_id,
        "company": ticket.company,
        "branch": ticket.branch,
        "origin_type": ticket.origin_type,
        "origin_id": ticket.origin_id,
        "group": ticket.group,
        "classification": ticket.classification,
        "parameters": ticket.visible_parameters(),
        "opened_at": ticket.opened_at.isoformat(),
        "due_at": ticket.due_at.isoformat() if ticket.due_at else None,
        "version": ticket.version,
        "config_version": ticket.config_version,
    }
    if uow is not None:
        repo = TicketRepository(uow.session, uow.tenant)
        out["allowed_moves"] = ticket.allowed_moves()
        out["classifications_allowed"] = ticket.classifications_allowed()
        out["history"] = [
            {
                "kind": h.kind,
                "from": h.from_stage,
                "to": h.to_stage,
                "reason": h.reason,
                "by": h.by,
                "at": h.at.isoformat(),
                "holder": {"kind": h.holder_kind, "id": h.holder_id},
            }
            for h in repo.history(ticket.id)
        ]
        out["comments"] = [
            {"by": c.by, "at": c.at.isoformat(), "text": c.text, "internal": c.internal}
            for c in repo.comments(ticket.id)
        ]
        out["attachments"] = [
            {
                "id": a.id,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
                "by": a.by,
                "at": a.at.isoformat(),
            }
            for a in repo.attachments(ticket.id)
        ]
    return out


def tombstone_json(stone: TicketTombstone) -> dict[str, Any]:
    """What is left of a deleted ticket, as the CLI, the API and the console show it."""

    def when(at: datetime | None) -> str | None:
        return at.isoformat() if at is not None else None

    return {
        "ticket_id": stone.ticket_id,
        "type": stone.ticket_type,
        "customer_id": stone.customer_id,
        "subject": stone.subject,
        "opened_at": when(stone.opened_at),
        "cancelled_at": when(stone.cancelled_at),
        "cancel_reason": stone.cancel_reason,
        "deleted_by": stone.deleted_by,
        "deleted_at": when(stone.deleted_at),
        "reason": stone.reason,
    }
