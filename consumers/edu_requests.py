"""Educational requests: a student's request becomes a ticket (or a rejection), charged
requests go to billing, and billing's answers are recorded on the ticket.

- ``edu.request.created``: eligibility checks in order (``not_enrolled``,
  ``contract_inactive``, ``outside_window``, ``has_debts``, ``invalid_parameters``); a
  failing request emits ``edu.request.rejected``, otherwise the ticket is opened
  (``crm.ticket.created``), a type charged at opening emits ``billing.charge.requested`` and
  a type with e-mail on opening queues the requester's e-mail.
- ``crm.ticket.stage-changed``: an educational ticket entering its type's ``charge_at`` stage
  emits ``billing.charge.requested``.
- ``billing.charge.created`` / ``billing.charge.failed``: recorded on the charge and in the
  ticket's discussion; a failure moves the ticket to the type's ``on_charge_failed`` stage.

See ``docs/education.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from hub.education import requests
from hub.education.tables import CustomerDebtRow, EduRequestRow, EnrollmentRow
from hub.runtime.registry import Consumer, data_keys
from hub.runtime.uow import UnitOfWork
from hub.store.batch import preload
from schemas import CloudEvent
from schemas.events import ChargeCreated, ChargeFailed, RequestCreated, TicketStageChanged

consumer = Consumer("edu-requests")


@consumer.reads_ahead("edu.request.created")
def _request_rows(events: Sequence[CloudEvent], session: Session) -> None:
    """The request, the student's enrollment and debt of each request, a query per table."""
    preload(session, EduRequestRow, data_keys(events, "request_id"))
    preload(session, EnrollmentRow, data_keys(events, "company", "student.ra", "academic_period"))
    preload(session, CustomerDebtRow, data_keys(events, "company", "student.ra"))


@consumer.handles("edu.request.created")
def on_request_created(event: CloudEvent, uow: UnitOfWork) -> None:
    data = RequestCreated.model_validate(event.data)
    requests.receive_request(uow, data)


@consumer.handles("crm.ticket.stage-changed")
def on_stage_changed(event: CloudEvent, uow: UnitOfWork) -> None:
    data = TicketStageChanged.model_validate(event.data)
    requests.charge_on_stage(uow, data.ticket_id, data.to_stage)


@consumer.handles("billing.charge.created")
def on_charge_created(event: CloudEvent, uow: UnitOfWork) -> None:
    data = ChargeCreated.model_validate(event.data)
    requests.settle_charge(uow, data.charge_id, "created", installment_id=data.installment_id)


@consumer.handles("billing.charge.failed")
def on_charge_failed(event: CloudEvent, uow: UnitOfWork) -> None:
    data = ChargeFailed.model_validate(event.data)
    requests.settle_charge(uow, data.charge_id, "failed", reason=data.reason)
