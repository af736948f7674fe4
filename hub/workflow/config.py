"""The workflow configuration: pydantic models of the YAML file (see docs/workflow.md).

Named things (services, groups, attendants, ticket types, stages, parameters, templates...) are
YAML mappings keyed by their id; flows and stage actions are lists. ``parse`` validates the
structure and runs every semantic check of ``hub.workflow.checks``, raising one
``ConfigurationError`` whose ``problems`` name each problem with its path in the file.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from hub.workflow.scripts import Form, ScriptItem
from schemas.types import Money

_SHORT_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _duration(value: Any) -> Any:
    """``"48h"``, ``"2d"``, ``"30m"`` as well as ISO 8601 (``"PT48H"``) or seconds."""
    if isinstance(value, str) and (m := _SHORT_DURATION.match(value)):
        return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
FieldRule = Literal["required", "read_only", "invisible"]
HolderKind = Literal["attendant", "group", "customer"]

#: Named sources of parameter options; a consumer resolves them from reference data.
OPTION_SOURCES: dict[str, str] = {
    "student.disciplines": "the disciplines of the student's enrollment in the academic period",
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Branch(Strict):
    name: str = ""


class Company(Strict):
    name: str = ""
    branches: dict[str, Branch] = Field(default_factory=dict)


#: Integrations that open tickets of their own, under their own rules (docs/workflow.md).
Integration = Literal["education", "finance"]


class Service(Strict):
    name: str
    description: str = ""
    integration: Integration | None = Field(
        default=None,
        description="The integration whose rules open this service's tickets (`education`: "
        "from edu.request.created; `finance`: from finance.agreement.pending).",
    )


class ServiceGroup(Strict):
    name: str
    description: str = ""
    members: list[str] = Field(default_factory=list, description="Attendant ids.")
    manager: str | None = Field(default=None, description="Attendant who answers for the group.")


class Classification(Strict):
    name: str
    changeable: bool = True
    active: bool = True
    service: str | None = Field(
        default=None,
        description="The service whose tickets may carry it; none: tickets of every service.",
    )


class Attendant(Strict):
    name: str
    email: str | None = None
    company: str | None = None
    location: str | None = None
    manager: str | None = Field(default=None, description="Subordinate of: escalation target.")
    roles: list[str] = Field(default_factory=list, description="`admin` may act on any ticket.")


class Location(Strict):
    name: str
    company: str


class DeliveryLocation(Strict):
    name: str
    company: str
    branch: str | None = None
    location: str | None = None
    price: Money | None = None


class Parameter(Strict):
    label: str = ""
    type: Literal["text", "integer", "decimal", "boolean", "date", "choice", "json"] = "text"
    required: bool = False
    options: list[str] | None = None
    options_source: str | None = Field(
        default=None, description="A named source of options, e.g. `student.disciplines`."
    )


class EmailSettings(Strict):
    on_open: bool = True
    sender_name: str
    subject: str


class PeriodDueDate(Strict):
    period: str
    requested_until: date
    due_date: date | None = None


class DueDateRule(Strict):
    """Exactly one of the three rules."""

    contract_fixed_day: bool = False
    days_after_request: int | None = Field(default=None, ge=0)
    period_table: list[PeriodDueDate] | None = None


class Billing(Strict):
    charged: bool = False
    amount_from: Literal["service_value", "delivery_location_price"] | None = None
    service_value: Money | None = None
    due_date: DueDateRule | None = None
    extra_service: bool = False
    charge_at: str = Field(default="opening", description="`opening` or a stage id.")
    on_charge_failed: str | None = Field(
        default=None, description="Stage to move to on `billing.charge.failed`."
    )


class Assignment(Strict):
    kind: HolderKind
    id: str | None = Field(default=None, description="Attendant or group id (not for customer).")


class OverdueAction(Strict):
    action: Literal["notify", "escalate", "move"] = "notify"
    stage: str | None = Field(default=None, description="Target of `move`.")
    reason: str | None = Field(default=None, description="Reason recorded by `move`.")


class EmitAction(Strict):
    kind: Literal["emit"]
    event: str
    subject: str
    data: dict[str, Any] = Field(default_factory=dict)
    mandatory: bool = True


class RequireReasonAction(Strict):
    kind: Literal["require_reason"]
    reasons: list[str] | None = Field(default=None, description="When given, one of these.")
    mandatory: bool = True


class SetFieldAction(Strict):
    kind: Literal["set_field"]
    field: str
    value: Any = None
    mandatory: bool = True


StageAction = Annotated[
    EmitAction | RequireReasonAction | SetFieldAction, Field(discriminator="kind")
]


class Stage(Strict):
    name: str = ""
    order: int = 0
    purpose: Literal["approval", "rejection", "none"] = "none"
    first: bool = Field(default=False, description="First stage of a possible flow.")
    default: bool = Field(default=False, description="The stage tickets open at.")
    activate_task: bool = False
    concludes: bool = Field(default=False, description="Entering it completes the ticket.")
    assignment: Assignment | None = None
    expected_duration: Duration | None = None
    on_overdue: OverdueAction | None = None
    fields: dict[str, FieldRule] = Field(default_factory=dict)
    actions: list[StageAction] = Field(default_factory=list)

    def required_reason(self) -> RequireReasonAction | None:
        return next((a for a in self.actions if isinstance(a, RequireReasonAction)), None)

    def emits(self, event_type: str) -> bool:
        return any(isinstance(a, EmitAction) and a.event == event_type for a in self.actions)


class Flow(Strict):
    from_: str = Field(alias="from")
    to: str
    reason: Literal["required", "optional"] = "optional"
    reasons: list[str] | None = Field(default=None, description="When given, one of these.")

    @property
    def needs_reason(self) -> bool:
        return self.reason == "required" or bool(self.reasons)


class TicketType(Strict):
    name: str
    description: str = ""
    service: str
    group: str
    classification: str | None = None
    approval: bool = Field(default=False, description="Needs approval and rejection stages.")
    valid_from: date | None = None
    valid_until: date | None = None
    delivery_location: str | None = None
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    email: EmailSettings | None = None
    check_debts: bool = False
    billing: Billing | None = None
    stages: dict[str, Stage] = Field(default_factory=dict)
    flows: list[Flow] = Field(default_factory=list)
    omnichannel: bool = Field(
        default=False,
        description="Its flow is a process enabled for the omnichannel desk (forms may link it).",
    )
    portal: bool = Field(
        default=False,
        description="Customers may open it in the portal (after choosing its service group).",
    )

    @property
    def default_stage(self) -> str:
        """The stage tickets open at (a checked configuration has exactly one)."""
        return next(s for s, st in self.stages.items() if st.default)

    def flow(self, from_stage: str, to_stage: str) -> Flow | None:
        return next((f for f in self.flows if f.from_ == from_stage and f.to == to_stage), None)

    def flows_from(self, stage: str) -> list[Flow]:
        return [f for f in self.flows if f.from_ == stage]


class Deadline(Strict):
    after: Duration
    on_overdue: Literal["escalate", "reject"] = "escalate"
    reason: str = Field(default="expired", description="Rejection reason when it expires.")


class AgreementTemplate(Strict):
    ticket_type: str
    group: str | None = None
    classification: str | None = None
    first_stage: str | None = None
    attendant: str | None = None
    approval_deadline: Deadline | None = None


class WorkflowConfig(Strict):
    companies: dict[str, Company] = Field(default_factory=dict)
    services: dict[str, Service] = Field(default_factory=dict)
    service_groups: dict[str, ServiceGroup] = Field(default_factory=dict)
    classifications: dict[str, Classification] = Field(default_factory=dict)
    attendants: dict[str, Attendant] = Field(default_factory=dict)
    locations: dict[str, Location] = Field(default_factory=dict)
    delivery_locations: dict[str, DeliveryLocation] = Field(default_factory=dict)
    ticket_types: dict[str, TicketType] = Field(default_factory=dict)
    agreement_templates: dict[str, AgreementTemplate] = Field(default_factory=dict)
    forms: dict[str, Form] = Field(default_factory=dict)
    scripts: dict[str, ScriptItem] = Field(default_factory=dict)

    def ticket_type(self, type_id: str) -> TicketType:
        """The ticket type ``type_id``; raises ``WorkflowError`` when unknown."""
        from hub.workflow.errors import WorkflowError

        if type_id not in self.ticket_types:
            raise WorkflowError(f"unknown ticket type {type_id!r}")
        return self.ticket_types[type_id]

    def agreement_template(self, name: str) -> AgreementTemplate:
        """The agreement template ``name``; raises ``WorkflowError`` when unknown."""
        from hub.workflow.errors import WorkflowError

        if name not in self.agreement_templates:
            raise WorkflowError(f"unknown agreement template {name!r}")
        return self.agreement_templates[name]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def parse(
    raw: Any,
    users: Collection[str] = (),
    companies: Mapping[str, Collection[str]] | None = None,
) -> WorkflowConfig:
    """Validate ``raw`` (the loaded YAML) and check it; raise ``ConfigurationError`` listing
    every problem (structure and meaning) with its path. ``users``: the tenant's users, whom
    the configuration may name beside its ``attendants``; ``companies``: the tenant's stored
    companies (id -> branch ids), which it may name beside its ``companies``."""
    from hub.workflow.checks import parse_and_check

    return parse_and_check(raw, users, companies)
