"""``hub tickets open`` on a ticket type an integration owns (``hub.workflow.ownership``).

An educational type: the request becomes its ``edu.request.created`` event, handled here by the
``edu-requests`` consumer exactly as one from the broker would be (the same handler, inbox row
and unit of work), so eligibility, options, the charge and the e-mail all apply; the events and
the mail it causes wait in the outbox for the running hub's relay. A finance type is refused:
only the financial module's ``finance.agreement.pending`` opens one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.education.desk import request_event
from hub.education.tables import EduRequestRow
from hub.runtime.uow import Duplicate, UnitOfWorkFactory
from hub.workflow.config import WorkflowConfig
from hub.workflow.errors import WorkflowError


class OpenedElsewhere(WorkflowError):
    """The ticket type is opened only by its integration's event."""


@dataclass(frozen=True)
class Decision:
    """What the integration decided: the ticket opened, or the rejection and its reason."""

    request_id: str
    status: str  # opened | rejected
    ticket_id: str | None
    reason: str | None
    detail: str | None
    event_id: str


def refuse_finance(type_id: str) -> OpenedElsewhere:
    return OpenedElsewhere(
        f"{type_id!r} is opened by the financial module's finance.agreement.pending event (its "
        "agreement template, attendant and deadline); publish one with `hub publish FILE` "
        "(see docs/finance.md)"
    )


def open_educational(
    factory: UnitOfWorkFactory,
    config: WorkflowConfig,
    type_id: str,
    *,
    parameters: Mapping[str, Any],
    options: Mapping[str, str | None],
    tenant: str,
) -> Decision:
    """Handle the request's ``edu.request.created`` (in ``tenant``) through the
    ``edu-requests`` consumer."""
    from consumers.edu_requests import consumer

    event = request_event(
        config,
        type_id,
        ra=options.get("customer"),
        name=options.get("name"),
        email=options.get("email"),
        academic_period=options.get("period"),
        parameters=parameters,
        now=factory.clock.now(),
        company=options.get("company"),
        branch=options.get("branch"),
        delivery_location=options.get("delivery_location"),
        request_id=options.get("request_id"),
        tenant=tenant,
    )
    request_id = event.subject
    try:
        with factory.handling(consumer.name, event) as uow:
            consumer.handlers[event.type](event, uow)
    except Duplicate:
        pass  # the same request handled before: its decision stands
    with factory.sessions() as session:
        row = session.get(EduRequestRow, (tenant, request_id))
    if row is None:  # pragma: no cover - the handler records every request it decides
        raise WorkflowError(f"request {request_id} was not recorded")
    factory.on_commit()
    return Decision(
        request_id,
        row.status,
        row.ticket_id,
        row.rejection_reason,
        row.rejection_detail,
        event.id,
    )
