"""The ``data`` of every event type in the public contract.

Each model lists the minimum fields the contract promises; more fields are welcome
(``extra="allow"``) and are carried through untouched.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from schemas.types import Money


class Data(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


NonEmpty = Field(min_length=1)
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]

# --- inbound -----------------------------------------------------------------------------


class Customer(Data):
    id: str = NonEmpty
    name: str = NonEmpty
    email: Email | None = None


class Installment(Data):
    number: int = Field(ge=1)
    due_date: date
    amount: Money


class AgreementPending(Data):
    agreement_id: str = NonEmpty
    template: str = NonEmpty
    customer: Customer
    company: str = NonEmpty
    branch: str = NonEmpty
    amount: Money
    installments: list[Installment] = Field(min_length=1)


class AgreementCancelled(Data):
    agreement_id: str = NonEmpty
    reason: str = NonEmpty


class Student(Data):
    ra: str = NonEmpty
    name: str = NonEmpty
    email: Email | None = None


class RequestCreated(Data):
    request_id: str = NonEmpty
    ticket_type: str = NonEmpty
    student: Student
    company: str = NonEmpty
    branch: str = NonEmpty
    academic_period: str = NonEmpty
    delivery_location: str = NonEmpty
    parameters: dict[str, Any] = Field(default_factory=dict)
    requested_at: AwareDatetime
    subject: str | None = Field(
        default=None, max_length=400, description="The request's subject (hub addition)."
    )
    description: str | None = Field(
        default=None,
        max_length=10_000,
        description="The request in the student's words (hub addition).",
    )


class EnrollmentUpserted(Data):
    ra: str = NonEmpty
    company: str = NonEmpty
    academic_period: str = NonEmpty
    contract_id: str = NonEmpty
    contract_status: str = Field(min_length=1, examples=["active", "inactive"])
    disciplines: list[str] = Field(
        default_factory=list,
        description="Discipline codes the student takes in the academic period (hub addition).",
    )
    discipline_names: dict[str, str] = Field(
        default_factory=dict,
        max_length=500,
        description="Names of the disciplines, by code, shown to the student in the portal "
        "(hub addition).",
    )
    fixed_due_day: int | None = Field(
        default=None,
        ge=1,
        le=31,
        description="The contract's fixed due day of month for installments (hub addition); "
        "in a shorter month the last day of that month.",
    )
    version: int = Field(ge=0)


class DebtUpserted(Data):
    customer_id: str = Field(min_length=1, description="The RA for students.")
    company: str = NonEmpty
    open_amount: Money
    version: int = Field(ge=0)


class UserUpserted(Data):
    """A user as the platform last published it; applied in ``version`` order."""

    user_id: str = Field(min_length=1, max_length=200)
    name: str = NonEmpty
    email: Email | None = None
    active: bool
    version: int = Field(ge=0)


class CompanyUpserted(Data):
    """A company (coligada) as the ERP last published it; applied in ``version`` order."""

    company: str = Field(min_length=1, max_length=50)
    name: str = NonEmpty
    tax_id: str | None = Field(default=None, max_length=40)
    version: int = Field(ge=0)


class BranchUpserted(Data):
    """A branch (filial) of a company as the ERP last published it; ``version`` ordered."""

    company: str = Field(min_length=1, max_length=50)
    branch: str = Field(min_length=1, max_length=50)
    name: str = NonEmpty
    headquarters: bool = False
    tax_id: str | None = Field(default=None, max_length=40)
    version: int = Field(ge=0)


class ContactCustomer(Data):
    id: str = NonEmpty
    name: str | None = None
    email: Email | None = None
    phone: str | None = Field(default=None, max_length=40)


class ContactReceived(Data):
    """A contact that reached the omnichannel desk, with the form its agent filled."""

    contact_id: str = Field(min_length=1, max_length=200)
    channel: str = Field(min_length=1, max_length=40, examples=["whatsapp", "email", "chat"])
    customer: ContactCustomer
    form: str = NonEmpty
    fields: dict[str, Any] = Field(default_factory=dict)
    agent: str = NonEmpty
    received_at: AwareDatetime


class ChargeCreated(Data):
    charge_id: str = NonEmpty
    request_id: str = NonEmpty
    installment_id: str = NonEmpty


class ChargeFailed(Data):
    charge_id: str = NonEmpty
    request_id: str = NonEmpty
    reason: str = NonEmpty


# --- outbound ----------------------------------------------------------------------------


class TicketCreated(Data):
    ticket_id: str = NonEmpty
    ticket_type: str = NonEmpty
    stage: str = NonEmpty
    origin_type: str | None = None
    origin_id: str | None = None


class TicketStageChanged(Data):
    ticket_id: str = NonEmpty
    from_stage: str = NonEmpty
    to_stage: str = NonEmpty
    reason: str | None = None
    by: str = NonEmpty


class TicketCancelled(Data):
    """An open ticket was cancelled. Only an administrator cancels a ticket, and only one
    under the customer's responsibility; the hub's consumers and timers cancel any open one."""

    ticket_id: str = NonEmpty
    reason: str = NonEmpty


class TicketDeleted(Data):
    """A cancelled ticket was deleted by an administrator (hub addition). Its earlier events
    stay valid; the hub keeps a tombstone of it."""

    ticket_id: str = NonEmpty
    ticket_type: str = NonEmpty
    reason: str = NonEmpty
    by: str = NonEmpty


class AgreementApproved(Data):
    agreement_id: str = NonEmpty
    ticket_id: str = NonEmpty
    decided_by: str = NonEmpty
    decided_at: AwareDatetime


class AgreementRejected(Data):
    agreement_id: str = NonEmpty
    ticket_id: str = NonEmpty
    decided_by: str = NonEmpty
    decided_at: AwareDatetime
    reason: str = NonEmpty


RejectionCode = Literal[
    "not_enrolled", "contract_inactive", "outside_window", "has_debts", "invalid_parameters"
]


class RequestRejected(Data):
    request_id: str = NonEmpty
    reason: RejectionCode
    detail: str | None = None


class ChargeRequested(Data):
    charge_id: str = NonEmpty
    request_id: str = NonEmpty
    ticket_id: str = NonEmpty
    student_ra: str = NonEmpty
    contract_id: str = NonEmpty
    amount: Money
    due_date: date
    service: str = NonEmpty


class TicketOverdue(Data):
    """A ticket stayed in its stage past the stage's expected duration.

    ``action`` says what the hub did about it: ``notify`` (only this event), ``escalate``
    (handed to the holder's manager, ``holder_*`` name the new holder) or ``move`` (moved to
    ``to_stage``).
    """

    ticket_id: str = NonEmpty
    ticket_type: str = NonEmpty
    stage: str = NonEmpty
    due_at: AwareDatetime
    action: Literal["notify", "escalate", "move"]
    holder_kind: Literal["attendant", "group", "customer"] | None = None
    holder_id: str | None = None
    to_stage: str | None = None


class TenantProvisioned(Data):
    """A tenant was provisioned (or completed): its plan, its roles, its support user."""

    tenant: str = NonEmpty
    plan: Literal["freemium", "starter", "advanced"]
    roles: list[str]
    support_user: str = NonEmpty


class OccurrenceRecorded(Data):
    """An occurrence recorded through a script item (or the omnichannel desk's form)."""

    occurrence_id: str = NonEmpty
    script_item: str | None = None
    form: str = NonEmpty
    ticket_id: str = NonEmpty
    complement: dict[str, Any] | None = None
    channel: str = NonEmpty
    by: str = NonEmpty


ContactRejectionCode = Literal[
    "form_not_enabled",
    "group_not_authorised",
    "process_not_enabled",
    "invalid_fields",
    "unknown_form",
]


class ContactRejected(Data):
    """An omnichannel contact the hub refused, and why (nothing is dropped silently)."""

    contact_id: str = NonEmpty
    reason: ContactRejectionCode
    detail: str | None = None


class UserActivated(Data):
    """A pending user was activated by an administrator of the tenant."""

    user_id: str = NonEmpty
    by: str = NonEmpty


#: Every event type of the contract and the model of its ``data``.
EVENT_DATA: dict[str, type[Data]] = {
    "finance.agreement.pending": AgreementPending,
    "finance.agreement.cancelled": AgreementCancelled,
    "edu.request.created": RequestCreated,
    "edu.enrollment.upserted": EnrollmentUpserted,
    "finance.debt.upserted": DebtUpserted,
    "billing.charge.created": ChargeCreated,
    "billing.charge.failed": ChargeFailed,
    "crm.ticket.created": TicketCreated,
    "crm.ticket.stage-changed": TicketStageChanged,
    "crm.ticket.cancelled": TicketCancelled,
    "crm.ticket.deleted": TicketDeleted,
    "finance.agreement.approved": AgreementApproved,
    "finance.agreement.rejected": AgreementRejected,
    "edu.request.rejected": RequestRejected,
    "billing.charge.requested": ChargeRequested,
    "crm.ticket.overdue": TicketOverdue,
    "platform.user.upserted": UserUpserted,
    "erp.company.upserted": CompanyUpserted,
    "erp.branch.upserted": BranchUpserted,
    "omni.contact.received": ContactReceived,
    "crm.occurrence.recorded": OccurrenceRecorded,
    "omni.contact.rejected": ContactRejected,
    "crm.tenant.provisioned": TenantProvisioned,
    "crm.user.activated": UserActivated,
}

#: Event types the hub adds to the published contract (allowed: the contract may grow).
EXTENSIONS = frozenset({"crm.ticket.overdue", "crm.ticket.deleted"})

INBOUND = frozenset(
    {
        "finance.agreement.pending",
        "finance.agreement.cancelled",
        "edu.request.created",
        "edu.enrollment.upserted",
        "finance.debt.upserted",
        "billing.charge.created",
        "billing.charge.failed",
        "platform.user.upserted",
        "erp.company.upserted",
        "erp.branch.upserted",
        "omni.contact.received",
    }
)
OUTBOUND = frozenset(EVENT_DATA) - INBOUND
