"""Durable deadlines: a ``ticket_timers`` row per stage entry with an expected duration.

``fire_due_timers`` claims due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers
share the work; SQLite serialises writers) and runs each row's overdue action in its own unit of
work: emit ``crm.ticket.overdue``, then ``escalate`` (hand to the holder's manager) or ``move`` (to
the configured stage, by ``system``). Timers survive restarts because they are rows.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from hub.clock import Clock
from hub.runtime.uow import Cause, UnitOfWork, UnitOfWorkFactory
from hub.workflow.config import OverdueAction
from hub.workflow.errors import WorkflowError
from hub.workflow.permissions import SYSTEM, Holder, escalation_target
from hub.workflow.repository import TicketRepository
from hub.workflow.service import chain_of, record_events
from hub.workflow.tables import TimerRow

log = logging.getLogger(__name__)


def fire_due_timers(
    factory: UnitOfWorkFactory, clock: Clock | None = None, limit: int = 100
) -> int:
    """Fire up to ``limit`` due timers; returns how many fired. Safe to run from several
    processes at once; each timer fires at most once."""
    clock = clock or factory.clock
    now = clock.now()
    with factory.sessions() as session:
        candidates = list(
            session.execute(
                select(TimerRow.id, TimerRow.tenant_id)
                .where(
                    TimerRow.fired_at.is_(None),
                    TimerRow.cancelled_at.is_(None),
                    TimerRow.due_at <= now,
                )
                .order_by(TimerRow.due_at, TimerRow.id)
                .limit(limit)
            )
        )
    fired = 0
    for timer_id, tenant in candidates:
        with factory(Cause.action(f"ticket-timer:{timer_id}", tenant=tenant)) as uow:
            row = uow.session.scalars(
                select(TimerRow)
                .where(
                    TimerRow.id == timer_id,
                    TimerRow.fired_at.is_(None),
                    TimerRow.cancelled_at.is_(None),
                )
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:  # another worker took it, or the ticket moved on
                continue
            try:
                with uow.session.begin_nested():
                    _run(uow, row)
            except WorkflowError as e:
                log.warning("timer %s of ticket %s failed: %s", row.id, row.ticket_id, e)
                row.last_error = str(e)
            row.fired_at = clock.now()
            fired += 1
    return fired


def _run(uow: UnitOfWork, row: TimerRow) -> None:
    repo = TicketRepository(uow.session, uow.tenant)
    ticket = repo.get(row.ticket_id)
    if ticket.status != "open" or ticket.stage != row.stage:
        return
    action = OverdueAction.model_validate(row.action)
    now = uow.now()
    effective = action.action
    manager = escalation_target(ticket.config, ticket.people, ticket.holder)
    if effective == "escalate" and manager is None:
        effective = "notify"  # nobody above the holder (e.g. the customer holds it)
    if effective == "escalate" and manager is not None:
        ticket.transfer(Holder("attendant", manager), "overdue: escalated", SYSTEM, now=now)
    elif effective == "move" and action.stage is not None:
        ticket.move_to(action.stage, action.reason, SYSTEM, now=now)
    uow.emit(
        "crm.ticket.overdue",
        ticket.id,
        {
            "ticket_id": ticket.id,
            "ticket_type": ticket.type_id,
            "stage": row.stage,
            "due_at": row.due_at.isoformat(),
            "action": effective,
            "holder_kind": ticket.holder.kind,
            "holder_id": ticket.holder.id,
            "to_stage": action.stage if effective == "move" else None,
        },
        extensions=chain_of(ticket),
    )
    repo.save(ticket, now)
    record_events(uow, ticket)
    log.info("ticket %s overdue at %s: %s", ticket.id, row.stage, effective)
