"""What a customer sees and does in the portal: their own tickets only, under the seed's five
filters, and the few actions the workflow leaves to them.

The filters (seed 002, "Cliente Online"):

- ``all``: every ticket of the customer;
- ``mine`` ("under my responsibility"): open, and waiting for the customer's action: the
  ticket's holder is the customer. A ticket enters the flow at its first stage when it is
  opened, so "not yet in the flow" is a first stage held by the customer, and "came back for
  analysis" a later stage held by them;
- ``awaiting`` ("awaiting return"): open, and held by someone else: read-only, but for the
  discussion and attachments;
- ``completed`` and ``cancelled``: closed, read-only.

A customer may approve or reject only while they hold the ticket, and only by a move to a
stage whose purpose is approval or rejection; everything else a customer may do is the
discussion and attachments while the ticket is open. The workflow enforces the same rules
again (holder, flow, reasons, field rules).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, func, not_, select
from sqlalchemy.orm import Session

from hub.portal.i18n import N_, Problem
from hub.runtime.uow import UnitOfWork
from hub.workflow import service
from hub.workflow.config import Parameter, TicketType, WorkflowConfig
from hub.workflow.errors import PermissionDenied, TicketNotFound, WorkflowError
from hub.workflow.repository import TicketRepository
from hub.workflow.tables import TicketRow
from hub.workflow.tickets import Ticket


class Denied(Problem, PermissionDenied):
    """A customer's action the portal does not allow."""


class Unavailable(Problem, WorkflowError):
    """A type of request the portal does not offer."""


Filter = Literal["all", "mine", "awaiting", "completed", "cancelled"]
FILTERS: tuple[Filter, ...] = ("all", "mine", "awaiting", "completed", "cancelled")
#: The purposes of the moves a customer may make.
DECISIONS = ("approval", "rejection")
PAGE = 100


def _held_by(customer_id: str) -> ColumnElement[bool]:
    return and_(TicketRow.holder_kind == "customer", TicketRow.holder_id == customer_id)


def _condition(name: Filter, customer_id: str) -> ColumnElement[bool] | None:
    if name == "mine":
        return and_(TicketRow.status == "open", _held_by(customer_id))
    if name == "awaiting":
        return and_(TicketRow.status == "open", not_(_held_by(customer_id)))
    if name == "completed":
        return TicketRow.status == "completed"
    if name == "cancelled":
        return TicketRow.status == "cancelled"
    return None


def filter_of(value: str | None) -> Filter:
    for name in FILTERS:
        if value == name:
            return name
    return "all"


def _own(tenant: str, customer_id: str) -> ColumnElement[bool]:
    return and_(TicketRow.tenant_id == tenant, TicketRow.customer_id == customer_id)


def counts(session: Session, tenant: str, customer_id: str) -> dict[Filter, int]:
    """How many of the customer's tickets each filter shows (one query)."""
    held = and_(TicketRow.holder_kind == "customer", TicketRow.holder_id == customer_id)
    is_open = TicketRow.status == "open"
    row = session.execute(
        select(
            func.count(),
            func.count().filter(and_(is_open, held)),
            func.count().filter(and_(is_open, not_(held))),
            func.count().filter(TicketRow.status == "completed"),
            func.count().filter(TicketRow.status == "cancelled"),
        ).where(_own(tenant, customer_id))
    ).one()
    return dict(zip(FILTERS, (int(n) for n in row), strict=True))


@dataclass(frozen=True)
class Line:
    """A ticket in the customer's list."""

    id: str
    subject: str | None
    type_name: str
    stage_name: str
    status: str
    yours: bool
    opened_at: Any
    updated_at: Any


def listing(
    session: Session, tenant: str, customer_id: str, name: Filter, config: WorkflowConfig
) -> list[Line]:
    """The customer's tickets under filter ``name``, newest first (at most ``PAGE``)."""
    query = (
        select(TicketRow)
        .where(_own(tenant, customer_id))
        .order_by(TicketRow.updated_at.desc(), TicketRow.id)
        .limit(PAGE)
    )
    condition = _condition(name, customer_id)
    if condition is not None:
        query = query.where(condition)
    lines = []
    for row in session.scalars(query):
        tt = config.ticket_types.get(row.ticket_type)
        stage = tt.stages.get(row.stage) if tt is not None else None
        lines.append(
            Line(
                row.id,
                row.subject,
                tt.name if tt is not None else row.ticket_type,
                (stage.name or row.stage) if stage is not None else row.stage,
                row.status,
                row.status == "open" and row.holder_kind == "customer"
                and row.holder_id == customer_id,
                row.opened_at,
                row.updated_at,
            )
        )
    return lines


def own_ticket(uow: UnitOfWork, customer_id: str, ticket_id: str) -> Ticket:
    """The ticket, when it is ``customer_id``'s (of the unit of work's tenant); otherwise
    ``TicketNotFound``, so nothing tells a customer another's ticket exists."""
    if len(ticket_id) > 40:
        raise TicketNotFound("no such ticket")
    try:
        ticket = TicketRepository(uow.session, uow.tenant).get(ticket_id)
    except TicketNotFound:
        raise TicketNotFound("no such ticket") from None
    if ticket.customer_id != customer_id:
        raise TicketNotFound("no such ticket")
    return ticket


def is_theirs(ticket: Ticket, customer_id: str) -> bool:
    """Whether the ticket waits for the customer's action."""
    return (
        ticket.status == "open"
        and ticket.holder.kind == "customer"
        and ticket.holder.id == customer_id
    )


def decisions(ticket: Ticket, customer_id: str) -> list[dict[str, Any]]:
    """The approval / rejection moves the customer may make now (none unless they hold it)."""
    if not is_theirs(ticket, customer_id):
        return []
    return [m for m in ticket.allowed_moves() if m["purpose"] in DECISIONS]


def decide(
    uow: UnitOfWork, customer_id: str, ticket_id: str, stage: str, reason: str | None
) -> Ticket:
    """Approve or reject: move the customer's ticket to ``stage`` (an approval or rejection
    stage the flow allows from here). Raises ``PermissionDenied`` for any other move."""
    ticket = own_ticket(uow, customer_id, ticket_id)
    if stage not in {m["stage"] for m in decisions(ticket, customer_id)}:
        raise Denied(N_("This request cannot be approved or rejected by you now."))
    return service.move_ticket(uow, ticket_id, stage, reason=reason, by=customer_id)


# --- opening ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldView:
    """A parameter as the opening form shows it. ``required``: by the type or its first
    stage; ``fixed``: the first stage makes it read-only, so what the customer gives now is
    kept as given; ``kind``: text, number, date, yes/no or choice (``choices``: value, label)."""

    name: str
    label: str
    kind: str
    required: bool
    fixed: bool
    choices: list[tuple[str, str]]


def portal_types(config: WorkflowConfig) -> dict[str, list[tuple[str, TicketType]]]:
    """The types enabled for the portal, by service group (groups in the configuration's
    order)."""
    out: dict[str, list[tuple[str, TicketType]]] = {}
    for tid, tt in config.ticket_types.items():
        if tt.portal:
            out.setdefault(tt.group, []).append((tid, tt))
    return out


def portal_type(config: WorkflowConfig, type_id: str) -> TicketType:
    tt = config.ticket_types.get(type_id)
    if tt is None or not tt.portal:
        raise Unavailable(N_("This type of request cannot be opened in the portal."))
    return tt


_KINDS = {"integer": "number", "decimal": "number", "date": "date", "boolean": "yes/no"}


def _kind(p: Parameter) -> str:
    if p.options or p.options_source or p.type == "choice":
        return "choice"
    return _KINDS.get(p.type, "text")


def opening_fields(
    tt: TicketType, choices: Mapping[str, list[tuple[str, str]]]
) -> list[FieldView]:
    """The type's parameters as its default stage's field rules show them (invisible ones
    left out; ``json`` ones are not for customers). ``choices``: the options of parameters
    with an option source."""
    rules = tt.stages[tt.default_stage].fields
    out = []
    for name, p in tt.parameters.items():
        rule = rules.get(name)
        if rule == "invisible" or p.type == "json":
            continue
        options = list(choices.get(name, [])) or [(o, o) for o in (p.options or [])]
        out.append(
            FieldView(
                name,
                p.label or name,
                _kind(p),
                p.required or rule == "required",
                rule == "read_only",
                options,
            )
        )
    return out


def writable_values(fields: list[FieldView], given: Mapping[str, str]) -> dict[str, Any]:
    """What the customer may write at opening: only the form's fields (never an invisible
    one), blanks left out. The workflow then checks types, options and required ones."""
    allowed = {f.name for f in fields}
    return {k: v.strip() for k, v in given.items() if k in allowed and v.strip()}


# --- a ticket's page --------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A line of the page's history or discussion. ``by``: ``you``, ``hub`` (the hub itself,
    an integration or a timer) or a person's name."""

    at: Any
    by: str
    text: str
    stage: str | None = None
    reason: str | None = None
    kind: str = ""


@dataclass(frozen=True)
class Page:
    ticket: Ticket
    type_name: str
    stage_name: str
    yours: bool
    fields: list[tuple[str, str]]
    history: list[Entry]
    discussion: list[Entry]
    attachments: list[Any]
    decisions: list[dict[str, Any]]

    @property
    def open(self) -> bool:
        return self.ticket.status == "open"


def _who(by: str, customer_id: str, config: WorkflowConfig) -> str:
    if by == customer_id:
        return "you"
    if by.startswith("system"):
        return "hub"
    person = config.attendants.get(by)
    return person.name if person is not None else by


def page_of(
    uow: UnitOfWork,
    customer_id: str,
    ticket_id: str,
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> Page:
    """What the customer's page of their ticket shows: the parameters the current stage lets
    them see (a choice by its label, from ``labels``: parameter -> value -> label), the stage
    history (a hand-over without its internal reason), the discussion without the
    attendants' internal notes, the attachments and the decisions open to them.
    ``TicketNotFound`` unless it is theirs."""
    ticket = own_ticket(uow, customer_id, ticket_id)
    tt = ticket.ticket_type
    config = ticket.config
    names = {sid: s.name or sid for sid, s in tt.stages.items()}
    repo = TicketRepository(uow.session, uow.tenant)
    fields = []
    for name, value in ticket.visible_parameters().items():
        p = tt.parameters.get(name)
        if p is None or p.type == "json" or value in (None, ""):
            continue
        shown = (labels or {}).get(name, {}).get(str(value), str(value))
        fields.append((p.label or name, shown))
    history = [
        Entry(
            h.at,
            _who(h.by, customer_id, config),
            h.kind,
            names.get(h.to_stage or "", h.to_stage),
            h.reason if h.kind != "transfer" else None,
            h.kind,
        )
        for h in repo.history(ticket.id)
    ]
    discussion = [
        Entry(c.at, _who(c.by, customer_id, config), c.text)
        for c in repo.comments(ticket.id)
        if not c.internal
    ]
    return Page(
        ticket,
        tt.name,
        names.get(ticket.stage, ticket.stage),
        is_theirs(ticket, customer_id),
        fields,
        history,
        discussion,
        repo.attachments(ticket.id),
        decisions(ticket, customer_id),
    )
