"""Finance agreement approval: an agreement pending in the financial module becomes an approval
ticket; finance's cancellation cancels it while undecided.

- ``finance.agreement.pending``: the agreement template (``data.template``) selects the ticket
  type, first stage, attendant and approval deadline; the ticket keeps the agreement's data as
  its parameters and ``crm.ticket.created`` is emitted. One ticket per agreement: a pending event
  for an agreement that already has a ticket, or that was cancelled first, opens nothing.
- ``finance.agreement.cancelled``: cancels the open ticket (``crm.ticket.cancelled``); after a
  decision it changes nothing and is only recorded.

The decisions themselves (``finance.agreement.approved`` / ``rejected``) are the stage actions of
the ticket type's approval and rejection stages (see ``hub/demo/workflow.yaml``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from hub.errors import PermanentError
from hub.finance.tables import AgreementState
from hub.runtime.registry import Consumer, data_keys
from hub.runtime.uow import UnitOfWork
from hub.store.batch import find, keep, preload
from hub.workflow import service
from hub.workflow.tickets import Ticket
from schemas import CloudEvent
from schemas.events import AgreementCancelled, AgreementPending

log = logging.getLogger(__name__)

PENDING = "finance.agreement.pending"
CANCELLED = "finance.agreement.cancelled"
ORIGIN = PENDING  # tickets' origin_type; origin_id is the agreement id
CANCELLED_BY = "system:finance"

consumer = Consumer("finance-agreements")


class UnknownAgreementTemplate(PermanentError):
    """The pending agreement names a template the workflow configuration does not have."""


@consumer.reads_ahead(PENDING, CANCELLED)
def _states(events: Sequence[CloudEvent], session: Session) -> None:
    preload(session, AgreementState, data_keys(events, "agreement_id"), for_update=True)


@consumer.handles(PENDING)
def on_pending(event: CloudEvent, uow: UnitOfWork) -> None:
    """Open the approval ticket of a pending agreement (at most one per agreement).

    Raises ``UnknownAgreementTemplate`` (dead-lettered) for a template the configuration lacks,
    and the workflow's errors (``PermanentError``) when the ticket cannot be opened.
    """
    data = AgreementPending.model_validate(event.data)
    state = _state(uow, event.tenantid, data.agreement_id)
    if state is not None and state.cancelled_at is not None:
        log.info(
            "agreement %s was cancelled before it was pending: no ticket",
            data.agreement_id,
            extra={"event_id": event.id, "correlation_id": event.chain},
        )
        state.pending_event_id = event.id
        state.updated_at = uow.now()
        return
    if state is not None and state.ticket_id is not None:
        # every ticket of an agreement is opened here, with its state row in the same commit
        log.info(
            "agreement %s already has ticket %s: nothing to open",
            data.agreement_id,
            state.ticket_id,
            extra={"event_id": event.id, "correlation_id": event.chain},
        )
        return
    _, config = service.current_config(uow)
    if data.template not in config.agreement_templates:
        known = ", ".join(sorted(config.agreement_templates)) or "none"
        raise UnknownAgreementTemplate(
            f"agreement {data.agreement_id}: unknown agreement template {data.template!r} "
            f"(known: {known})"
        )
    ticket = service.open_ticket_from_agreement_template(
        uow,
        data.template,
        parameters=_parameters(data),
        customer_id=data.customer.id,
        company=data.company,
        branch=data.branch,
        origin_type=ORIGIN,
        origin_id=data.agreement_id,
    )
    if state is None:
        state = _new_state(uow, event.tenantid, data.agreement_id)
    state.ticket_id = ticket.id
    state.pending_event_id = event.id
    state.updated_at = uow.now()


@consumer.handles(CANCELLED)
def on_cancelled(event: CloudEvent, uow: UnitOfWork) -> None:
    """Cancel the agreement's open ticket; record the cancellation whatever it changed, so a
    pending event arriving later opens no ticket. A second cancellation changes nothing."""
    data = AgreementCancelled.model_validate(event.data)
    state = _state(uow, event.tenantid, data.agreement_id)
    if state is not None and state.cancelled_at is not None:
        log.info("agreement %s was already cancelled", data.agreement_id)
        return
    tickets = service.find_tickets_by_origin(uow, ORIGIN, data.agreement_id)
    outcome = _cancel(uow, tickets, data.reason)
    if state is None:
        state = _new_state(uow, event.tenantid, data.agreement_id)
    state.outcome = outcome
    state.ticket_id = state.ticket_id or (tickets[0].id if tickets else None)
    state.cancel_event_id = event.id
    state.cancel_reason = data.reason
    state.cancelled_at = uow.now()
    state.updated_at = uow.now()
    log.info(
        "agreement %s cancelled: %s",
        data.agreement_id,
        state.outcome,
        extra={"event_id": event.id, "correlation_id": event.chain},
    )


def _cancel(uow: UnitOfWork, tickets: list[Ticket], reason: str) -> str:
    """Cancel every open ticket; return what the cancellation did (see ``AgreementState``)."""
    if not tickets:
        return "before-pending"
    open_ = [t for t in tickets if t.status == "open"]
    for ticket in open_:
        service.cancel_ticket(uow, ticket.id, reason=reason, by=CANCELLED_BY)
    if open_:
        return "ticket-cancelled"
    if any(t.status == "completed" for t in tickets):
        return "after-decision"
    return "ticket-closed"


def _state(uow: UnitOfWork, tenant_id: str, agreement_id: str) -> AgreementState | None:
    return find(uow.session, AgreementState, (tenant_id, agreement_id), for_update=True)


def _new_state(uow: UnitOfWork, tenant_id: str, agreement_id: str) -> AgreementState:
    state = AgreementState(tenant_id=tenant_id, agreement_id=agreement_id)
    keep(uow.session, AgreementState, (tenant_id, agreement_id), state)
    return state


def _parameters(data: AgreementPending) -> dict[str, Any]:
    """The ticket's parameters: the agreement's data as JSON values (money as decimal strings)."""
    plain = data.model_dump(mode="json", exclude_none=True)
    return {
        "agreement_id": data.agreement_id,
        "customer": plain["customer"],
        "company": data.company,
        "branch": data.branch,
        "amount": plain["amount"],
        "installments": plain["installments"],
    }
