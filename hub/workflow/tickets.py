"""The ticket: one case walking its type's stages along the flow. Plain Python, no store.

Every state change appends to ``changes`` (stage history) and ``events`` (outbound events to
record); the service layer persists both. A refused change raises a ``WorkflowError`` and leaves
the ticket untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any, Literal

from hub.identity.directory import Directory
from hub.workflow import permissions
from hub.workflow.config import (
    EmitAction,
    OverdueAction,
    SetFieldAction,
    Stage,
    TicketType,
    WorkflowConfig,
)
from hub.workflow.errors import (
    FieldRuleViolation,
    IllegalMove,
    OutsideValidity,
    PermissionDenied,
    ReasonRequired,
    WorkflowError,
)
from hub.workflow.parameters import OptionSources, check_required, check_values, is_blank
from hub.workflow.permissions import ADMIN_ROLE, Holder
from hub.workflow.templates import render

Status = Literal["open", "completed", "cancelled"]


@dataclass(frozen=True)
class StageChange:
    """One line of the stage history. ``kind``: open, move, transfer (holder changed), cancel,
    classify (classification changed; ``reason`` says from what to what), occurrence (a
    contact-center occurrence added to the ticket at its stage; ``reason`` names it)."""

    kind: Literal["open", "move", "transfer", "cancel", "classify", "occurrence"]
    from_stage: str | None
    to_stage: str
    reason: str | None
    by: str
    at: datetime
    holder: Holder


@dataclass(frozen=True)
class Comment:
    by: str
    at: datetime
    text: str
    #: An attendants' note: never shown to the customer.
    internal: bool = False


@dataclass(frozen=True)
class PendingEvent:
    """An outbound event decided by the ticket, to be recorded by the unit of work."""

    type: str
    subject: str
    data: dict[str, Any]


@dataclass
class Ticket:
    id: str
    config: WorkflowConfig
    config_version: int
    type_id: str
    stage: str
    holder: Holder
    parameters: dict[str, Any]
    opened_at: datetime
    status: Status = "open"
    subject: str | None = None
    description: str | None = None
    customer_id: str | None = None
    company: str | None = None
    branch: str | None = None
    origin_type: str | None = None
    origin_id: str | None = None
    classification: str | None = None
    due_at: datetime | None = None
    overdue_action: OverdueAction | None = None
    correlation_id: str | None = None
    version: int = 0
    directory: Directory | None = field(default=None, repr=False, compare=False)
    #: Reads the tenant's users the first time a rule needs them (most tickets never do).
    read_directory: Callable[[], Directory] | None = field(default=None, repr=False, compare=False)
    changes: list[StageChange] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    events: list[PendingEvent] = field(default_factory=list)

    # --- reading ----------------------------------------------------------------------

    @property
    def ticket_type(self) -> TicketType:
        return self.config.ticket_type(self.type_id)

    @property
    def group(self) -> str:
        """The service group of the ticket's type."""
        return self.ticket_type.group

    @property
    def people(self) -> Directory:
        """The tenant's users (the configuration's seed when the ticket was built without
        them)."""
        if self.directory is None:
            read = self.read_directory or partial(permissions.seed_directory, self.config)
            self.directory = read()
        return self.directory

    @property
    def current_stage(self) -> Stage:
        return self.ticket_type.stages[self.stage]

    def allowed_moves(self) -> list[dict[str, Any]]:
        """Each stage the flow allows next: ``stage``, ``name``, ``purpose``, ``reason_required``,
        ``reasons`` (empty once the ticket is closed)."""
        if self.status != "open":
            return []
        tt = self.ticket_type
        out = []
        for flow in tt.flows_from(self.stage):
            target = tt.stages[flow.to]
            rule = target.required_reason()
            reasons = flow.reasons or (rule.reasons if rule else None)
            out.append(
                {
                    "stage": flow.to,
                    "name": target.name,
                    "purpose": target.purpose,
                    "reason_required": flow.needs_reason or rule is not None,
                    "reasons": reasons or [],
                }
            )
        return out

    def visible_parameters(self) -> dict[str, Any]:
        """The parameters without those the current stage makes invisible."""
        rules = self.current_stage.fields
        return {k: v for k, v in self.parameters.items() if rules.get(k) != "invisible"}

    def context(self, move: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What stage-action templates may read (see ``hub.workflow.templates``)."""
        return {
            "ticket": {
                "id": self.id,
                "type": self.type_id,
                "stage": self.stage,
                "status": self.status,
                "parameters": dict(self.parameters),
                "origin_type": self.origin_type,
                "origin_id": self.origin_id,
                "group": self.group,
                "classification": self.classification,
                "customer_id": self.customer_id,
                "company": self.company,
                "branch": self.branch,
                "holder_kind": self.holder.kind,
                "holder_id": self.holder.id,
            },
            "move": dict(move or {}),
        }

    # --- opening ----------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        config: WorkflowConfig,
        config_version: int,
        type_id: str,
        *,
        ticket_id: str,
        by: str,
        now: datetime,
        parameters: Mapping[str, Any] | None = None,
        customer_id: str | None = None,
        company: str | None = None,
        branch: str | None = None,
        origin_type: str | None = None,
        origin_id: str | None = None,
        classification: str | None = None,
        stage: str | None = None,
        holder: Holder | None = None,
        valid_on: date | None = None,
        sources: OptionSources | None = None,
        subject: str | None = None,
        description: str | None = None,
        read_directory: Callable[[], Directory] | None = None,
    ) -> Ticket:
        """A new ticket of ``type_id`` at its default stage (or ``stage``, which must be flagged
        ``first``), in the type's service group and classification (or ``classification``). Raises ``OutsideValidity``, ``InvalidParameters`` or ``WorkflowError``."""
        tt = config.ticket_type(type_id)
        day = valid_on or now.date()
        if (tt.valid_from and day < tt.valid_from) or (tt.valid_until and day > tt.valid_until):
            raise OutsideValidity(
                f"ticket type {type_id!r} is valid from {tt.valid_from or '-'} "
                f"to {tt.valid_until or '-'}, not on {day}"
            )
        start = stage or tt.default_stage
        if start not in tt.stages or not tt.stages[start].first:
            raise WorkflowError(f"{start!r} is not a first stage of {type_id!r}")
        context = {"customer_id": customer_id, "company": company, "branch": branch}
        values = check_values(tt, parameters or {}, {**context, "parameters": parameters}, sources)
        check_required(tt, values)
        ticket = cls(
            id=ticket_id,
            config=config,
            config_version=config_version,
            type_id=type_id,
            stage=start,
            holder=Holder("customer", customer_id),
            parameters=values,
            opened_at=now,
            customer_id=customer_id,
            company=company,
            branch=branch,
            origin_type=origin_type,
            origin_id=origin_id,
            classification=classification or tt.classification,
            subject=subject,
            description=description,
            read_directory=read_directory,
        )
        ticket.events.append(
            PendingEvent(
                "crm.ticket.created",
                ticket_id,
                {
                    "ticket_id": ticket_id,
                    "ticket_type": type_id,
                    "stage": start,
                    "origin_type": origin_type,
                    "origin_id": origin_id,
                },
            )
        )
        ticket._enter(start, None, None, by, now, kind="open", holder=holder)
        return ticket

    # --- changing ---------------------------------------------------------------------

    def move_to(
        self,
        stage: str,
        reason: str | None,
        by: str,
        *,
        now: datetime,
        fields: Mapping[str, Any] | None = None,
    ) -> StageChange:
        """Move along the flow to ``stage``.

        Refuses (ticket unchanged): ``IllegalMove`` (closed ticket, or no flow from here),
        ``PermissionDenied``, ``ReasonRequired`` (the flow or the stage entered needs a reason, or
        one from a list), ``FieldRuleViolation`` (a field required at the current stage is blank,
        or ``fields`` writes a read-only / invisible one).
        """
        self._require_open("move")
        flow = self.ticket_type.flow(self.stage, stage)
        if flow is None:
            allowed = ", ".join(m["stage"] for m in self.allowed_moves()) or "none"
            raise IllegalMove(
                f"ticket {self.id}: no flow from {self.stage!r} to {stage!r} (allowed: {allowed})"
            )
        self._authorize(by)
        reason = (reason or "").strip() or None
        target = self.ticket_type.stages[stage]
        rule = target.required_reason()
        allowed_reasons = flow.reasons or (rule.reasons if rule else None)
        if reason is None and (flow.needs_reason or rule is not None):
            raise ReasonRequired(f"ticket {self.id}: moving to {stage!r} needs a reason")
        if allowed_reasons and reason not in allowed_reasons:
            raise ReasonRequired(
                f"ticket {self.id}: the reason must be one of: {', '.join(allowed_reasons)}"
            )
        updated = self._checked_fields(fields or {})
        missing = [
            name
            for name, field_rule in self.current_stage.fields.items()
            if field_rule == "required" and is_blank(updated.get(name))
        ]
        if missing:
            raise FieldRuleViolation(
                f"ticket {self.id}: required at stage {self.stage!r}: {', '.join(missing)}"
            )
        saved = (self.stage, self.holder, self.status, self.parameters, self.due_at)
        marks = (len(self.changes), len(self.events), self.overdue_action)
        try:
            self.parameters = dict(updated)
            return self._enter(stage, self.stage, reason, by, now, kind="move")
        except WorkflowError:  # a stage action failed: leave the ticket as it was
            self.stage, self.holder, self.status, self.parameters, self.due_at = saved
            del self.changes[marks[0] :], self.events[marks[1] :]
            self.overdue_action = marks[2]
            raise

    def update_fields(self, values: Mapping[str, Any], by: str, *, now: datetime) -> None:
        """Write parameters at the current stage (field rules and parameter types enforced)."""
        self._require_open("edit")
        self._authorize(by)
        self.parameters = self._checked_fields(values)

    def cancel(self, reason: str | None, by: str, *, now: datetime) -> StageChange:
        """Cancel the open ticket; a reason is mandatory.

        Only an administrator (the ``admin`` role) cancels, and only a ticket under the
        customer's responsibility (holder = customer); the system (consumers, timers) cancels
        any open ticket. Raises ``PermissionDenied`` otherwise (seed 002).
        """
        self._require_open("cancel")
        self.check_may_cancel(by)
        reason = (reason or "").strip()
        if not reason:
            raise ReasonRequired(f"ticket {self.id}: cancelling needs a reason")
        self.status = "cancelled"
        self.due_at = None
        change = StageChange("cancel", self.stage, self.stage, reason, by, now, self.holder)
        self.changes.append(change)
        self.events.append(
            PendingEvent("crm.ticket.cancelled", self.id, {"ticket_id": self.id, "reason": reason})
        )
        return change

    def check_may_cancel(self, by: str) -> None:
        """Raise ``PermissionDenied`` unless ``by`` may cancel this ticket now."""
        actor = permissions.identify(self.people, by, self.customer_id)
        if actor.kind == "system":
            return
        if ADMIN_ROLE not in actor.roles:
            raise PermissionDenied(f"only administrators may cancel a ticket ({by!r} is not one)")
        if self.holder.kind != "customer":
            holder = f"{self.holder.kind} {self.holder.id}" if self.holder.id else self.holder.kind
            raise PermissionDenied(
                f"ticket {self.id} is not under the customer's responsibility (held by "
                f"{holder}); only such a ticket may be cancelled"
            )

    def check_may_delete(self, by: str) -> None:
        """Raise ``PermissionDenied`` unless ``by`` is an administrator, and ``IllegalMove``
        unless the ticket is cancelled: only a cancelled ticket may be deleted (seed 002)."""
        actor = permissions.identify(self.people, by, self.customer_id)
        if ADMIN_ROLE not in actor.roles:
            raise PermissionDenied(f"only administrators may delete a ticket ({by!r} is not one)")
        if self.status != "cancelled":
            raise IllegalMove(
                f"ticket {self.id} is {self.status}: only a cancelled ticket may be deleted"
            )

    def comment(self, text: str, by: str, *, now: datetime, internal: bool = False) -> Comment:
        """Add to the discussion: always writable while the ticket is open, by any attendant or
        the ticket's customer. ``internal``: an attendants' note the customer never sees (a
        customer cannot write one)."""
        if self.status != "open":
            raise IllegalMove(f"ticket {self.id} is {self.status}; its discussion is closed")
        actor = permissions.identify(self.people, by, self.customer_id)
        if internal and actor.kind == "customer":
            raise PermissionDenied(
                "internal notes are the attendants'; a customer cannot write one"
            )
        if not text.strip():
            raise WorkflowError("a comment needs text")
        entry = Comment(by, now, text.strip(), internal)
        self.comments.append(entry)
        return entry

    def add_occurrence(self, note: str, by: str, *, now: datetime) -> StageChange:
        """Record a contact-center occurrence on the open ticket: a line of its stage history
        (the stage does not change) and the note in its discussion."""
        self._require_open("take an occurrence")
        permissions.identify(self.people, by, self.customer_id)
        change = StageChange("occurrence", self.stage, self.stage, note, by, now, self.holder)
        self.changes.append(change)
        self.comments.append(Comment(by, now, note))
        return change

    def check_may_attach(self, by: str) -> None:
        """Attachments follow the discussion's rule: while open, any attendant or the customer."""
        if self.status != "open":
            raise IllegalMove(f"ticket {self.id} is {self.status}; attachments are closed")
        permissions.identify(self.people, by, self.customer_id)

    def classifications_allowed(self) -> list[str]:
        """The classifications this ticket may be given now: every other active one of its
        type's service (or of no service) while it is open and its current classification (if
        any) is changeable; none otherwise."""
        known = self.config.classifications
        current = known.get(self.classification or "")
        if self.status != "open" or (current is not None and not current.changeable):
            return []
        service = self.ticket_type.service
        return sorted(
            n
            for n, c in known.items()
            if c.active and n != self.classification and c.service in (None, service)
        )

    def classify(self, classification: str, by: str, *, now: datetime) -> StageChange | None:
        """Give the open ticket another classification, as whoever may act on it. A
        classification configured ``changeable: false`` stays; an inactive one cannot be
        given. Giving the one it has changes nothing (``None``)."""
        self._require_open("be reclassified")
        self._authorize(by)
        if classification == self.classification:
            return None
        known = self.config.classifications
        current = known.get(self.classification or "")
        if current is not None and not current.changeable:
            raise IllegalMove(
                f"ticket {self.id}: its classification {self.classification!r} cannot be changed"
            )
        target = known.get(classification)
        service = self.ticket_type.service
        if target is None or not target.active or target.service not in (None, service):
            allowed = ", ".join(self.classifications_allowed()) or "none"
            state = (
                "unknown"
                if target is None
                else "inactive"
                if not target.active
                else f"of the service {target.service!r}, not {service!r}"
            )
            raise WorkflowError(
                f"classification {classification!r} is {state} (allowed: {allowed})"
            )
        note = f"classification {self.classification or '(none)'} -> {classification}"
        self.classification = classification
        change = StageChange("classify", self.stage, self.stage, note, by, now, self.holder)
        self.changes.append(change)
        return change

    def transfer(self, holder: Holder, reason: str, by: str, *, now: datetime) -> StageChange:
        """Hand the ticket to ``holder`` without changing its stage (e.g. escalation)."""
        self._require_open("transfer")
        self.holder = holder
        change = StageChange("transfer", self.stage, self.stage, reason, by, now, holder)
        self.changes.append(change)
        return change

    # --- internals --------------------------------------------------------------------

    def _require_open(self, verb: str) -> None:
        if self.status != "open":
            raise IllegalMove(f"ticket {self.id} is {self.status}; it cannot {verb}")

    def _authorize(self, by: str) -> None:
        actor = permissions.identify(self.people, by, self.customer_id)
        if not permissions.may_act(self.config, self.people, actor, self.holder):
            holder = f"{self.holder.kind} {self.holder.id}" if self.holder.id else self.holder.kind
            raise PermissionDenied(f"{by!r} may not act on ticket {self.id} (held by {holder})")

    def _checked_fields(self, values: Mapping[str, Any]) -> dict[str, Any]:
        rules = self.current_stage.fields
        locked = [k for k in values if rules.get(k) in {"read_only", "invisible"}]
        if locked:
            raise FieldRuleViolation(
                f"ticket {self.id}: not writable at stage {self.stage!r}: {', '.join(locked)}"
            )
        context = {"customer_id": self.customer_id, "company": self.company, "branch": self.branch}
        return {**self.parameters, **check_values(self.ticket_type, values, context, None)}

    def _enter(
        self,
        stage: str,
        from_stage: str | None,
        reason: str | None,
        by: str,
        now: datetime,
        *,
        kind: Literal["open", "move"],
        holder: Holder | None = None,
    ) -> StageChange:
        target = self.ticket_type.stages[stage]
        self.stage = stage
        self.holder = holder or self._assignee(target)
        if target.concludes:
            self.status = "completed"
        move = {"by": by, "at": now.isoformat(), "reason": reason, "from": from_stage, "to": stage}
        if kind == "move":
            self.events.append(
                PendingEvent(
                    "crm.ticket.stage-changed",
                    self.id,
                    {
                        "ticket_id": self.id,
                        "from_stage": from_stage,
                        "to_stage": stage,
                        "reason": reason,
                        "by": by,
                    },
                )
            )
        for action in target.actions:
            if isinstance(action, SetFieldAction):
                self.parameters[action.field] = render(action.value, self.context(move))
        for action in target.actions:
            if isinstance(action, EmitAction):
                context = self.context(move)
                data = render(action.data, context)
                self.events.append(
                    PendingEvent(action.event, str(render(action.subject, context)), data)
                )
        open_ = self.status == "open" and target.expected_duration is not None
        self.due_at = now + target.expected_duration if open_ and target.expected_duration else None
        self.overdue_action = (target.on_overdue or OverdueAction()) if self.due_at else None
        change = StageChange(kind, from_stage, stage, reason, by, now, self.holder)
        self.changes.append(change)
        return change

    def _assignee(self, stage: Stage) -> Holder:
        rule = stage.assignment
        if rule is None or rule.kind == "customer":
            return Holder("customer", self.customer_id)
        return Holder(rule.kind, rule.id)
