"""Recording occurrences, as application functions inside a ``UnitOfWork``.

- ``record_from_script``: an operator at the desk records an occurrence through a script item
  authorised to them: the item's form's fields and the item's complement. It opens a ticket of
  the form's ticket type, or adds to the customer's open ticket of that type.
- ``receive_contact``: a contact from the omnichannel desk (``omni.contact.received``) is
  accepted when its form is enabled for the desk, its agent is in one of the form's groups and
  the form's process is enabled too; then one ticket per contact id is opened or added to.
  Otherwise ``omni.contact.rejected`` says why: nothing is dropped silently.

Either way the occurrence is stored, the ticket's stage history has a line for it, and
``crm.occurrence.recorded`` is emitted through the outbox.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.contact.desk import ScriptItemNotFound, viewer_of
from hub.contact.tables import OccurrenceRow
from hub.identity.users import load_directory
from hub.runtime.uow import UnitOfWork
from hub.workflow.config import Parameter, WorkflowConfig
from hub.workflow.errors import InvalidParameters, PermissionDenied, WorkflowError
from hub.workflow.parameters import check_values
from hub.workflow.repository import TicketFilter
from hub.workflow.scripts import (
    MARKETING_OUTCOMES,
    PENDING_STATUSES,
    ComplementKind,
    Form,
    Scripts,
    Viewer,
    may_use_form,
)
from hub.workflow.service import current_config, find_tickets_by_origin, open_ticket, tickets_of
from schemas.events import ContactReceived, ContactRejected, OccurrenceRecorded

log = logging.getLogger("hub.contact")

ORIGIN_CONTACT = "omni.contact.received"
ORIGIN_DESK = "crm.occurrence"
_OCCURRENCE_NS = uuid.UUID("5d0c9a3e-2f71-4b6a-8e14-93c7a2b1f604")


@dataclass(frozen=True)
class Recorded:
    occurrence_id: str
    ticket_id: str
    opened: bool  # a new ticket (else added to an open one)


def complement_of(kind: ComplementKind | None, raw: Mapping[str, Any] | None, by: str) -> Any:
    """The complement of an item of ``kind`` from what the operator gave; raises
    ``InvalidParameters``. ``pending``: ``status`` (pending, resolved, concluded; default
    pending) and ``responsible`` (default: who records); ``marketing``: ``outcome`` (success,
    failure, callback)."""
    raw = dict(raw or {})
    if kind is None:
        return None
    if kind == "pending":
        status = raw.get("status") or "pending"
        if status not in PENDING_STATUSES:
            raise InvalidParameters(
                f"complement.status: {status!r} is not one of {', '.join(PENDING_STATUSES)}"
            )
        responsible = raw.get("responsible") or by
        return {"kind": "pending", "status": status, "responsible": str(responsible)}
    outcome = raw.get("outcome")
    if outcome not in MARKETING_OUTCOMES:
        raise InvalidParameters(
            f"complement.outcome: {outcome!r} is not one of {', '.join(MARKETING_OUTCOMES)}"
        )
    return {"kind": "marketing", "outcome": outcome}


def checked_fields(config: WorkflowConfig, form: Form, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` normalised against the form's fields; raises ``InvalidParameters`` naming
    every unknown, ill-typed or missing required field."""
    tt = config.ticket_type(form.ticket_type)
    as_type = tt.model_copy(
        update={
            "parameters": {
                n: Parameter(label=f.label, type=f.type, required=f.required)
                for n, f in form.fields.items()
            }
        }
    )
    try:
        out = check_values(as_type, values, {}, None)
    except InvalidParameters as e:
        raise InvalidParameters(str(e).replace("parameters.", "fields.")) from None
    missing = [n for n, f in form.fields.items() if f.required and out.get(n) is None]
    if missing:
        raise InvalidParameters(f"required fields missing: {', '.join(missing)}")
    return out


def record_from_script(
    uow: UnitOfWork,
    item_id: str,
    *,
    fields: Mapping[str, Any],
    customer_id: str,
    complement: Mapping[str, Any] | None,
    by: str,
    channel: str = "phone",
) -> Recorded:
    """Record an occurrence through script item ``item_id`` as ``by``. Raises
    ``ScriptItemNotFound``, ``PermissionDenied`` (the item is not authorised to ``by``, or has
    no form) and ``InvalidParameters``."""
    _, config = current_config(uow)
    scripts = Scripts(config.scripts)
    if item_id not in config.scripts:
        raise ScriptItemNotFound(f"unknown script item {item_id!r}")
    if not scripts.authorised(item_id, viewer_of(uow, config, by)):
        raise PermissionDenied(f"{by!r} is not authorised to the script item {item_id!r}")
    item = config.scripts[item_id]
    if item.form is None:
        raise WorkflowError(f"script item {item_id!r} has no form to record")
    form = config.forms[item.form]
    values = checked_fields(config, form, fields)
    done = complement_of(item.complement, complement, by)
    tickets = tickets_of(uow).search(
        TicketFilter(ticket_type=form.ticket_type, status="open", customer_id=customer_id, limit=1)
    )
    return _record(
        uow,
        form_id=item.form,
        form=form,
        item_id=item_id,
        values=values,
        complement=done,
        channel=channel,
        by=by,
        customer_id=customer_id,
        contact_id=None,
        existing=tickets[0].id if tickets else None,
        origin=(ORIGIN_DESK, None),
    )


def refusal(
    config: WorkflowConfig, contact: ContactReceived, agent: Viewer | None
) -> ContactRejected | None:
    """Why the omnichannel desk's contact is refused, or ``None`` when it is accepted.
    ``agent``: the contact's agent as the scripts see them; ``None``: not an active user."""

    def no(reason: str, detail: str) -> ContactRejected:
        return ContactRejected.model_validate(
            {"contact_id": contact.contact_id, "reason": reason, "detail": detail}
        )

    form = config.forms.get(contact.form)
    if form is None:
        return no("unknown_form", f"no form {contact.form!r}")
    if not form.omnichannel:
        return no("form_not_enabled", f"form {contact.form} is not shown in the omnichannel desk")
    if agent is None:
        return no("group_not_authorised", f"agent {contact.agent} is not an active user")
    if not may_use_form(form, agent):
        return no(
            "group_not_authorised",
            f"agent {contact.agent} is in none of the groups of form {contact.form} "
            f"({', '.join(form.groups)})",
        )
    process = config.ticket_types.get(form.process or "")
    if form.process is not None and (process is None or not process.omnichannel):
        return no(
            "process_not_enabled",
            f"the process {form.process} of form {contact.form} is not enabled for the "
            "omnichannel desk",
        )
    try:
        checked_fields(config, form, contact.fields)
    except InvalidParameters as e:
        return no("invalid_fields", str(e))
    return None


def receive_contact(uow: UnitOfWork, contact: ContactReceived) -> Recorded | ContactRejected:
    """Decide on a contact of the omnichannel desk (see the module's docstring)."""
    _, config = current_config(uow)
    person = load_directory(uow.session, uow.tenant).get(contact.agent)
    agent = viewer_of(uow, config, contact.agent) if person and person.active else None
    rejected = refusal(config, contact, agent)
    if rejected is not None:
        uow.emit("omni.contact.rejected", contact.contact_id, rejected)
        log.info("rejected contact %s: %s", contact.contact_id, rejected.reason)
        return rejected
    form = config.forms[contact.form]
    values = checked_fields(config, form, contact.fields)
    previous = [
        t
        for t in find_tickets_by_origin(uow, ORIGIN_CONTACT, contact.contact_id)
        if t.status == "open"
    ]
    return _record(
        uow,
        form_id=contact.form,
        form=form,
        item_id=None,
        values=values,
        complement={"kind": "pending", "status": "pending", "responsible": contact.agent},
        channel=contact.channel,
        by=contact.agent,
        customer_id=contact.customer.id,
        contact_id=contact.contact_id,
        existing=previous[-1].id if previous else None,
        origin=(ORIGIN_CONTACT, contact.contact_id),
    )


def _record(
    uow: UnitOfWork,
    *,
    form_id: str,
    form: Form,
    item_id: str | None,
    values: dict[str, Any],
    complement: Any,
    channel: str,
    by: str,
    customer_id: str,
    contact_id: str | None,
    existing: str | None,
    origin: tuple[str, str | None],
) -> Recorded:
    occurrence_id = "OC-" + uuid.uuid5(_OCCURRENCE_NS, f"{uow.cause.seed}\x1f{form_id}").hex[:12]
    now = uow.now()
    if existing is None:
        ticket = open_ticket(
            uow,
            form.ticket_type,
            by=by,
            parameters=values,
            customer_id=customer_id,
            origin_type=origin[0],
            origin_id=origin[1] or occurrence_id,
        )
        ticket_id, opened = ticket.id, True
    else:
        repo = tickets_of(uow)
        ticket = repo.get(existing, for_update=True)
        via = f"script item {item_id}" if item_id else f"{channel} contact {contact_id}"
        shown = ", ".join(f"{k}={v}" for k, v in values.items() if v is not None)
        ticket.add_occurrence(f"occurrence {occurrence_id} ({via}): {shown}", by, now=now)
        repo.write_changes(ticket, now)
        ticket_id, opened = existing, False
    uow.session.add(
        OccurrenceRow(
            tenant_id=uow.tenant,
            id=occurrence_id,
            script_item=item_id,
            form=form_id,
            ticket_id=ticket_id,
            contact_id=contact_id,
            customer_id=customer_id,
            channel=channel,
            complement=complement,
            fields=values,
            recorded_by=by,
            recorded_at=now,
        )
    )
    uow.emit(
        "crm.occurrence.recorded",
        occurrence_id,
        OccurrenceRecorded(
            occurrence_id=occurrence_id,
            script_item=item_id,
            form=form_id,
            ticket_id=ticket_id,
            complement=complement,
            channel=channel,
            by=by,
        ),
    )
    log.info("occurrence %s on %s (%s)", occurrence_id, ticket_id, "opened" if opened else "added")
    return Recorded(occurrence_id, ticket_id, opened)
