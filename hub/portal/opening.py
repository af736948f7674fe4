"""A ticket opened by a customer in the portal.

- A type no integration owns is opened directly, with origin ``portal`` (``crm.ticket.created``
  says ``origin_type: portal``).
- An educational type becomes the student's ``edu.request.created`` (source
  ``urn:hub:portal``, request id ``PORTAL-…``), handled by the ``edu-requests`` consumer like
  any other request, so eligibility, options from the student's data, the charge and the
  e-mail all apply. The student is the account's customer id (their RA); the academic period
  and company are those of their newest enrollment.
- A finance type is never opened in the portal: only the financial module's event opens one.

When the tenant names a default attendant (``hub settings portal set --default-attendant``),
the new ticket goes to that user.

``nonce`` (the form's own id) makes a double submission open one ticket, not two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select

from hub.education.desk import PORTAL_SOURCE, request_event
from hub.education.refdata import RefData, StudentOptions
from hub.education.tables import EduRequestRow, EnrollmentRow
from hub.portal.i18n import N_, Problem
from hub.portal.settings import portal_settings
from hub.portal.tickets import opening_fields, portal_type, writable_values
from hub.runtime.uow import Cause, Duplicate, UnitOfWorkFactory
from hub.workflow import service
from hub.workflow.config import WorkflowConfig
from hub.workflow.errors import TicketNotFound, WorkflowError
from hub.workflow.ownership import owner_of
from hub.workflow.permissions import Holder
from hub.workflow.repository import TicketRepository

ORIGIN = "portal"
PORTAL_ACTOR = "system:portal"
MAX_SUBJECT = 400
MAX_DESCRIPTION = 10_000


class Unfit(Problem, WorkflowError):
    """The request cannot be opened as given (the message is for the customer)."""


class Refused(WorkflowError):
    """The request was refused by its integration's rules (the reason is for the customer)."""

    def __init__(self, reason: str, detail: str | None) -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Opened:
    ticket_id: str


def newest_enrollment(factory: UnitOfWorkFactory, tenant: str, ra: str) -> EnrollmentRow | None:
    """The student's enrollment of the newest academic period (active contracts first)."""
    with factory.sessions() as session:
        rows = list(
            session.scalars(
                select(EnrollmentRow)
                .where(EnrollmentRow.tenant_id == tenant, EnrollmentRow.ra == ra)
                .order_by(EnrollmentRow.academic_period.desc())
                .limit(20)
            )
        )
    active = [r for r in rows if r.contract_status.strip().lower() == "active"]
    chosen = active or rows
    return chosen[0] if chosen else None


def choices_for(
    factory: UnitOfWorkFactory,
    config: WorkflowConfig,
    tenant: str,
    customer_id: str,
    type_id: str,
) -> dict[str, list[tuple[str, str]]]:
    """The options of the type's parameters that come from the customer's own data, with
    their labels (a discipline: its code and name)."""
    tt = config.ticket_type(type_id)
    sourced = {n: p.options_source for n, p in tt.parameters.items() if p.options_source}
    if not sourced:
        return {}
    row = newest_enrollment(factory, tenant, customer_id)
    if row is None:
        return {n: [] for n in sourced}
    with factory.sessions() as session:
        enrollment = RefData(session, tenant).enrollment(row.company, row.ra, row.academic_period)
    options = StudentOptions(enrollment)
    out = {}
    for name, source in sourced.items():
        assert source is not None
        labels = options.labels(source)
        out[name] = [(v, labels.get(v, v)) for v in options.options(source, {}) or []]
    return out


@dataclass(frozen=True)
class PortalRequest:
    """What a customer sent from the portal's "new request" form."""

    tenant: str
    customer_id: str
    type_id: str
    subject: str
    description: str
    values: Mapping[str, str]
    #: The form's one-time value: the same form sent twice opens one ticket.
    nonce: str
    email: str | None = None

    @property
    def cause(self) -> str:
        return f"portal:{self.customer_id}:{self.nonce}"

    @property
    def origin_id(self) -> str:
        return f"PORTAL-{self.nonce[:40]}"


def open_from_portal(
    factory: UnitOfWorkFactory, config: WorkflowConfig, asked: PortalRequest
) -> Opened:
    """Open the customer's request; raises ``WorkflowError`` (a type not for the portal, a
    missing subject, a parameter the workflow refuses) or ``Refused``."""
    tt = portal_type(config, asked.type_id)
    subject, description = asked.subject.strip(), asked.description.strip()
    if not subject:
        raise Unfit(N_("Please give your request a subject."))
    if len(subject) > MAX_SUBJECT or len(description) > MAX_DESCRIPTION:
        raise Unfit(
            N_("The subject has at most %(subject)s characters, the request %(text)s."),
            subject=MAX_SUBJECT,
            text=MAX_DESCRIPTION,
        )
    asked = replace(asked, subject=subject, description=description)
    choices = choices_for(factory, config, asked.tenant, asked.customer_id, asked.type_id)
    fields = opening_fields(tt, choices)
    parameters: dict[str, Any] = writable_values(fields, asked.values)
    missing = [f.label for f in fields if f.required and f.name not in parameters]
    if missing:
        raise Unfit(N_("Please fill in: %(fields)s."), fields=", ".join(missing))
    owner = owner_of(config, asked.type_id)
    if owner == "finance":
        raise Unfit(N_("This type of request cannot be opened in the portal."))
    if owner != "education":
        return Opened(_direct(factory, asked, parameters))
    ticket_id = _educational(factory, config, asked, parameters)
    with factory(Cause.action(f"{asked.cause}:attendant", tenant=asked.tenant)) as uow:
        holder = _default_holder(uow)
        if holder is not None:
            repo = TicketRepository(uow.session, uow.tenant)
            ticket = repo.get(ticket_id)
            if ticket.status == "open" and ticket.holder != holder and ticket.version == 1:
                ticket.transfer(holder, "portal: default attendant", PORTAL_ACTOR, now=uow.now())
                repo.save(ticket, uow.now())
    return Opened(ticket_id)


def _direct(factory: UnitOfWorkFactory, asked: PortalRequest, parameters: dict[str, Any]) -> str:
    """Open a type no integration owns, for the portal's default attendant if there is one."""
    with factory(Cause.action(asked.cause, tenant=asked.tenant)) as uow:
        repo = TicketRepository(uow.session, uow.tenant)
        same = service.new_ticket_id(uow.cause.seed, asked.type_id, asked.origin_id)
        try:
            return repo.get(same).id  # the same form sent twice: one ticket
        except TicketNotFound:
            pass
        return service.open_ticket(
            uow,
            asked.type_id,
            by=asked.customer_id,
            parameters=parameters,
            customer_id=asked.customer_id,
            origin_type=ORIGIN,
            origin_id=asked.origin_id,
            subject=asked.subject,
            description=asked.description or None,
            holder=_default_holder(uow),
        ).id


def _default_holder(uow: Any) -> Holder | None:
    chosen = portal_settings(uow.session, uow.tenant).default_attendant
    return Holder("attendant", chosen) if chosen else None


def _educational(
    factory: UnitOfWorkFactory,
    config: WorkflowConfig,
    asked: PortalRequest,
    parameters: Mapping[str, Any],
) -> str:
    from consumers.edu_requests import consumer

    enrollment = newest_enrollment(factory, asked.tenant, asked.customer_id)
    if enrollment is None:
        raise Refused("not_enrolled", "you are not enrolled in an academic period")
    tt = config.ticket_type(asked.type_id)
    place = config.delivery_locations.get(tt.delivery_location or "")
    event = request_event(
        config,
        asked.type_id,
        ra=asked.customer_id,
        name=asked.customer_id,
        email=asked.email,
        academic_period=enrollment.academic_period,
        parameters=parameters,
        now=factory.clock.now(),
        company=enrollment.company,
        branch=place.branch if place else None,
        request_id=asked.origin_id,
        tenant=asked.tenant,
        source=PORTAL_SOURCE,
        subject=asked.subject,
        description=asked.description or None,
    )
    try:
        with factory.handling(consumer.name, event) as uow:
            consumer.handlers[event.type](event, uow)
    except Duplicate:
        pass  # the same form sent twice: its first decision stands
    with factory.sessions() as session:
        row = session.get(EduRequestRow, (asked.tenant, event.subject))
    factory.on_commit()
    if row is None:  # pragma: no cover - the handler records every request it decides
        raise WorkflowError("the request was not recorded")
    if row.status != "opened" or row.ticket_id is None:
        raise Refused(row.rejection_reason or "rejected", row.rejection_detail)
    return row.ticket_id
