"""The educational request flow, as application functions inside a ``UnitOfWork``.

- ``receive_request``: check eligibility, then open the ticket (``crm.ticket.created``), request
  its charge when the type charges at opening, and queue the opening e-mail; or reject the
  request (``edu.request.rejected``). A request id seen before is ignored.
- ``charge_on_stage``: request the charge of a ticket that entered its type's ``charge_at``
  stage.
- ``settle_charge``: record billing's answer on the charge and the ticket; a failure moves the
  ticket to the type's ``on_charge_failed`` stage.
"""

from __future__ import annotations

import logging
import uuid
from typing import Literal

from hub.education.billing import plan_charge
from hub.education.eligibility import Rejection, check_request
from hub.education.refdata import Enrollment, RefData, StudentOptions
from hub.education.tables import ChargeRow, EduRequestRow
from hub.errors import PermanentError
from hub.mail.outbox import OutgoingMail, queue_mail
from hub.runtime.uow import UnitOfWork
from hub.store.batch import find, flush, keep
from hub.workflow.config import TicketType, WorkflowConfig
from hub.workflow.errors import TicketNotFound, WorkflowError
from hub.workflow.service import (
    comment_ticket,
    current_config,
    get_ticket,
    move_ticket,
    open_ticket,
)
from hub.workflow.tickets import Ticket
from schemas.events import ChargeRequested, RequestCreated, RequestRejected

log = logging.getLogger("hub.education")

ORIGIN_TYPE = "edu.request.created"
BILLING_ACTOR = "system:billing"
_CHARGE_NS = uuid.UUID("a4e1b0c2-6d3f-4a8e-b5c7-0f9e8d7c6b5a")


def charge_id_for(ticket_id: str) -> str:
    """One charge per ticket: the id is derived from the ticket id."""
    return "CH-" + uuid.uuid5(_CHARGE_NS, ticket_id).hex[:16]


def receive_request(uow: UnitOfWork, request: RequestCreated) -> Ticket | Rejection | None:
    """Decide on a student's request; returns the opened ticket, the rejection, or ``None``
    when the request id was handled before. Raises ``WorkflowError`` for an unknown ticket
    type and ``BillingError`` when a charged type's charge cannot be computed."""
    if find(uow.session, EduRequestRow, (uow.tenant, request.request_id)) is not None:
        log.info("request %s was already handled; ignored", request.request_id)
        return None
    version, config = current_config(uow)
    tt = config.ticket_type(request.ticket_type)
    refdata = RefData(uow.session, uow.tenant)
    student = request.student
    enrollment = refdata.enrollment(request.company, student.ra, request.academic_period)
    debt = refdata.debt(request.company, student.ra)
    requested_on = request.requested_at.date()
    row = EduRequestRow(
        tenant_id=uow.tenant,
        request_id=request.request_id,
        ticket_type=request.ticket_type,
        ra=student.ra,
        company=request.company,
        branch=request.branch,
        academic_period=request.academic_period,
        delivery_location=request.delivery_location,
        requested_at=request.requested_at,
        email=student.email,
        received_at=uow.now(),
        body=request.model_dump(mode="json"),
    )
    rejection = check_request(
        tt,
        requested_on=requested_on,
        academic_period=request.academic_period,
        parameters=request.parameters,
        enrollment=enrollment,
        debt=debt,
    )
    if rejection is not None:
        row.status = "rejected"
        row.rejection_reason = rejection.reason
        row.rejection_detail = rejection.detail
        keep(uow.session, EduRequestRow, (uow.tenant, request.request_id), row)
        uow.emit(
            "edu.request.rejected",
            request.request_id,
            RequestRejected(
                request_id=request.request_id, reason=rejection.reason, detail=rejection.detail
            ),
        )
        log.info("rejected request %s: %s", request.request_id, rejection.reason)
        return rejection
    ticket = open_ticket(
        uow,
        request.ticket_type,
        parameters=request.parameters,
        customer_id=student.ra,
        company=request.company,
        branch=request.branch,
        origin_type=ORIGIN_TYPE,
        origin_id=request.request_id,
        valid_on=requested_on,
        sources=StudentOptions(enrollment),
        subject=request.subject,
        description=request.description,
    )
    row.status = "opened"
    row.ticket_id = ticket.id
    keep(uow.session, EduRequestRow, (uow.tenant, request.request_id), row)
    flush(uow.session)
    if tt.billing is not None and tt.billing.charged and tt.billing.charge_at == "opening":
        request_charge(uow, config, tt, row, ticket.id, enrollment=enrollment, new_ticket=True)
    if tt.email is not None and tt.email.on_open:
        if student.email:
            queue_mail(
                uow,
                opening_mail(tt, request, ticket.id),
                about=ticket.id,
                company=request.company,
                branch=request.branch,
            )
        else:
            log.info("request %s: the student has no e-mail address", request.request_id)
    return ticket


def opening_mail(tt: TicketType, request: RequestCreated, ticket_id: str) -> OutgoingMail:
    """The e-mail to the requester when the ticket is opened."""
    assert tt.email is not None and request.student.email
    text = (
        f"Dear {request.student.name},\n\n"
        f"your request {request.request_id} ({tt.name}) was received and opened as "
        f"ticket {ticket_id}.\n\n{tt.email.sender_name}\n"
    )
    return OutgoingMail(
        to=request.student.email,
        sender_name=tt.email.sender_name,
        subject=tt.email.subject,
        text=text,
    )


def request_charge(
    uow: UnitOfWork,
    config: WorkflowConfig,
    tt: TicketType,
    req: EduRequestRow,
    ticket_id: str,
    *,
    enrollment: Enrollment | None = None,
    new_ticket: bool = False,
) -> ChargeRow | None:
    """Record the ticket's charge and emit ``billing.charge.requested``; ``None`` (nothing
    done) when the ticket's charge was requested before. ``new_ticket``: the ticket was opened
    in this unit of work, so it has no charge yet (no look-up). ``enrollment``: the student's,
    when this unit of work has already read it."""
    charge_id = charge_id_for(ticket_id)
    if not new_ticket and uow.session.get(ChargeRow, (uow.tenant, charge_id)) is not None:
        return None
    if enrollment is None:
        enrollment = RefData(uow.session, uow.tenant).enrollment(
            req.company, req.ra, req.academic_period
        )
    if enrollment is None:
        raise PermanentError(
            f"request {req.request_id}: no enrollment of {req.ra} in {req.academic_period} "
            "to charge"
        )
    plan = plan_charge(
        config,
        tt,
        delivery_location=req.delivery_location,
        requested_on=req.requested_at.date(),
        academic_period=req.academic_period,
        fixed_day=enrollment.fixed_due_day,
    )
    charge = ChargeRow(
        tenant_id=uow.tenant,
        charge_id=charge_id,
        request_id=req.request_id,
        ticket_id=ticket_id,
        student_ra=req.ra,
        contract_id=enrollment.contract_id,
        service=req.ticket_type,
        amount=plan.amount,
        due_date=plan.due_date,
        extra_service=plan.extra_service,
        status="requested",
        requested_at=uow.now(),
    )
    uow.session.add(charge)
    uow.emit(
        "billing.charge.requested",
        req.request_id,
        ChargeRequested.model_validate(
            {
                "charge_id": charge_id,
                "request_id": req.request_id,
                "ticket_id": ticket_id,
                "student_ra": req.ra,
                "contract_id": enrollment.contract_id,
                "amount": plan.amount,
                "due_date": plan.due_date,
                "service": req.ticket_type,
                "extra_service": plan.extra_service,
                "company": req.company,
                "academic_period": req.academic_period,
            }
        ),
    )
    log.info("charge %s of %s requested for %s", charge_id, plan.amount, ticket_id)
    return charge


def charge_on_stage(uow: UnitOfWork, ticket_id: str, to_stage: str) -> ChargeRow | None:
    """Request the charge of an educational ticket that entered its type's ``charge_at``
    stage; ``None`` for any other ticket or stage, or a charge requested before (or a ticket
    deleted since: only a cancelled one is)."""
    try:
        ticket = get_ticket(uow, ticket_id)
    except TicketNotFound:
        return None
    if ticket.origin_type != ORIGIN_TYPE or ticket.origin_id is None:
        return None
    tt = ticket.ticket_type
    if tt.billing is None or not tt.billing.charged or tt.billing.charge_at != to_stage:
        return None
    req = uow.session.get(EduRequestRow, (uow.tenant, ticket.origin_id))
    if req is None:
        raise PermanentError(f"ticket {ticket_id}: request {ticket.origin_id} is unknown")
    return request_charge(uow, ticket.config, tt, req, ticket_id)


def settle_charge(
    uow: UnitOfWork,
    charge_id: str,
    outcome: Literal["created", "failed"],
    *,
    installment_id: str | None = None,
    reason: str | None = None,
) -> ChargeRow:
    """Record billing's answer. The first answer wins: a later, different one is logged and
    ignored. Raises ``PermanentError`` for an unknown charge."""
    charge = uow.session.get(ChargeRow, (uow.tenant, charge_id), with_for_update=True)
    if charge is None:
        raise PermanentError(f"unknown charge {charge_id!r}")
    if charge.status != "requested":
        if charge.status != outcome:
            log.warning("charge %s is %s; answer %s ignored", charge_id, charge.status, outcome)
        return charge
    charge.status = outcome
    charge.installment_id = installment_id
    charge.failure_reason = reason
    charge.settled_at = uow.now()
    try:
        ticket = get_ticket(uow, charge.ticket_id)
    except TicketNotFound:  # deleted since (cancelled first): the charge's record is enough
        log.info("charge %s is %s; its ticket %s was deleted", charge_id, outcome, charge.ticket_id)
        return charge
    if outcome == "created":
        note = (
            f"Charge {charge_id} of {format(charge.amount, 'f')} created: "
            f"installment {installment_id}, due {charge.due_date.isoformat()}."
        )
    else:
        note = f"Charge {charge_id} of {format(charge.amount, 'f')} failed: {reason}."
    if ticket.status == "open":
        comment_ticket(uow, ticket.id, note, by=BILLING_ACTOR)
    target = ticket.ticket_type.billing.on_charge_failed if ticket.ticket_type.billing else None
    if outcome == "failed" and target and ticket.status == "open" and ticket.stage != target:
        try:
            move_ticket(uow, ticket.id, target, reason=f"charge failed: {reason}", by=BILLING_ACTOR)
        except WorkflowError as e:
            log.warning(
                "ticket %s stays at %s after a failed charge: %s", ticket.id, ticket.stage, e
            )
    return charge
