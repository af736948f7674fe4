"""Application functions of the workflow: each runs inside a ``UnitOfWork`` (one transaction)
and records the outbound events of every state change with ``uow.emit``.

Callers: the CLI, the web console and the consumers (``handle(event, uow)``), and the runtime,
which calls ``fire_due_timers`` periodically.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Mapping
from datetime import date
from functools import partial
from typing import Any, BinaryIO

from sqlalchemy import select

from hub.companies import service as companies
from hub.companies.configuration import dropped_in_use, records_of
from hub.companies.configuration import stored as stored_companies
from hub.errors import ConfigurationError
from hub.identity.service import Seed, seed_users
from hub.identity.users import load_directory
from hub.runtime.uow import UnitOfWork
from hub.store.models import InboxEntry
from hub.tenancy import required as required_fields
from hub.workflow.attachments import CHUNK, AttachmentStore, file_name, media_type
from hub.workflow.config import Deadline, OverdueAction, WorkflowConfig
from hub.workflow.errors import ReasonRequired, WorkflowError
from hub.workflow.parameters import OptionSources
from hub.workflow.permissions import ADMIN_ROLE, SYSTEM, Holder
from hub.workflow.repository import ConfigVersions, TicketRepository
from hub.workflow.tables import AttachmentRow, TicketTombstone
from hub.workflow.tickets import Comment, Ticket

log = logging.getLogger(__name__)
ACTIONS_CONSUMER = "workflow.actions"
_TICKET_NS = uuid.UUID("0b8f3c1e-5a4d-4e8b-9a51-7c2d6e1f3a90")


def tickets_of(uow: UnitOfWork) -> TicketRepository:
    """The tickets of the unit of work's tenant."""
    return TicketRepository(uow.session, uow.tenant)


def apply_config(uow: UnitOfWork, config: WorkflowConfig, *, source: str) -> tuple[int, bool]:
    """Store ``config`` as the newest version (no new version when unchanged).

    Returns ``(version, created)``. Open tickets keep the version they were opened with. The
    configuration's ``attendants`` the tenant does not have yet become users, and its
    ``companies`` and branches the tenant does not have become stored companies. Raises
    ``ConfigurationError`` when it drops a company or branch still in use (``store_problems``).
    """
    problems = store_problems(uow, config)
    if problems:
        raise ConfigurationError(problems)
    result = ConfigVersions(uow.session, uow.tenant).apply(config, source=source, now=uow.now())
    companies.seed(uow, records_of(config))
    seed_users(
        uow,
        [
            Seed(aid, a.name, a.email, a.manager, ADMIN_ROLE in a.roles, a.company)
            for aid, a in config.attendants.items()
        ],
    )
    return result


def store_problems(uow: UnitOfWork, config: WorkflowConfig) -> list[str]:
    """What the tenant's data refuses in ``config``: a company or branch the current
    configuration lists and ``config`` drops, while data is linked to it."""
    from hub.workflow.errors import NoConfiguration

    try:
        previous: WorkflowConfig | None = current_config(uow)[1]
    except NoConfiguration:
        previous = None
    return dropped_in_use(uow, previous, config)


def current_config(uow: UnitOfWork) -> tuple[int, WorkflowConfig]:
    """The newest applied configuration; raises ``NoConfiguration``."""
    return ConfigVersions(uow.session, uow.tenant).current()


def chain_of(ticket: Ticket) -> dict[str, Any]:
    """The extension attributes that keep a ticket's events in the chain that opened it.

    Every event about a ticket carries the ``correlationid`` of the event (or action) that opened
    it, whoever causes it later (a person's move, a timer): ``causationid`` says who acted,
    ``correlationid`` which business chain it belongs to. Empty for a ticket stored without one.
    """
    return {"correlationid": ticket.correlation_id} if ticket.correlation_id else {}


def record_events(uow: UnitOfWork, ticket: Ticket) -> None:
    """Record the ticket's pending outbound events in ``uow`` (in the ticket's chain)."""
    extensions = chain_of(ticket)
    for event in ticket.events:
        uow.emit(event.type, event.subject, event.data, extensions=extensions)
    ticket.events.clear()


def new_ticket_id(cause_id: str, type_id: str, origin_id: str | None) -> str:
    """Deterministic per cause: re-running the same cause yields the same ticket id."""
    return "T-" + uuid.uuid5(_TICKET_NS, f"{cause_id}\x1f{type_id}\x1f{origin_id}").hex[:12]


def open_ticket(
    uow: UnitOfWork,
    type_id: str,
    *,
    by: str = SYSTEM,
    parameters: Mapping[str, Any] | None = None,
    customer_id: str | None = None,
    company: str | None = None,
    branch: str | None = None,
    origin_type: str | None = None,
    origin_id: str | None = None,
    classification: str | None = None,
    stage: str | None = None,
    holder: Holder | None = None,
    deadline: OverdueAction | None = None,
    deadline_after: Any = None,
    valid_on: date | None = None,
    sources: OptionSources | None = None,
    subject: str | None = None,
    description: str | None = None,
) -> Ticket:
    """Open a ticket of ``type_id`` under the newest configuration and emit
    ``crm.ticket.created`` (plus the first stage's actions). The ticket remembers the
    ``correlationid`` of the cause that opened it; its later events carry it (``chain_of``).

    ``stage``/``holder`` override the type's default stage and assignment; ``deadline`` with
    ``deadline_after`` (a timedelta) override the first stage's overdue rule. ``subject``
    defaults to the type's name and the origin's id. Raises ``OutsideValidity``,
    ``InvalidParameters``, ``NoConfiguration``, ``RequiredFieldMissing`` (a field the tenant
    requires for tickets) or ``WorkflowError``.
    """
    version, config = current_config(uow)
    now = uow.now()
    if subject is None and origin_id is not None:
        subject = f"{config.ticket_type(type_id).name} {origin_id}"[:400]
    required_fields.check(
        uow.session,
        uow.tenant,
        "tickets",
        {
            "subject": subject,
            "description": description,
            "customer_id": customer_id,
            "company": company,
            "branch": branch,
            "classification": classification or config.ticket_type(type_id).classification,
        },
    )
    ticket = Ticket.open(
        config,
        version,
        type_id,
        ticket_id=new_ticket_id(uow.cause.seed, type_id, origin_id),
        by=by,
        now=now,
        parameters=parameters,
        customer_id=customer_id,
        company=company,
        branch=branch,
        origin_type=origin_type,
        origin_id=origin_id,
        classification=classification,
        stage=stage,
        holder=holder,
        valid_on=valid_on,
        sources=sources,
        subject=subject,
        description=description,
        read_directory=partial(load_directory, uow.session, uow.tenant),
    )
    if deadline is not None and deadline_after is not None:
        ticket.due_at = now + deadline_after
        ticket.overdue_action = deadline
    ticket.correlation_id = uow.cause.correlation_id
    tickets_of(uow).add(ticket, now)
    record_events(uow, ticket)
    log.info("opened %s (%s) at %s", ticket.id, type_id, ticket.stage)
    return ticket


def open_ticket_from_agreement_template(
    uow: UnitOfWork,
    template: str,
    *,
    parameters: Mapping[str, Any],
    customer_id: str | None,
    company: str | None,
    branch: str | None,
    origin_type: str = "finance.agreement.pending",
    origin_id: str | None = None,
) -> Ticket:
    """Open the approval ticket an agreement template names: its ticket type, classification,
    first stage, attendant and approval deadline (escalate to the attendant's manager, or move to the
    rejection stage with the deadline's reason). Raises ``WorkflowError`` for an unknown
    template."""
    _, config = current_config(uow)
    tpl = config.agreement_template(template)
    tt = config.ticket_type(tpl.ticket_type)
    start = tpl.first_stage or tt.default_stage
    overdue = overdue_for_deadline(config, tpl.ticket_type, start, tpl.approval_deadline)
    return open_ticket(
        uow,
        tpl.ticket_type,
        parameters=parameters,
        customer_id=customer_id,
        company=company,
        branch=branch,
        origin_type=origin_type,
        origin_id=origin_id,
        classification=tpl.classification,
        stage=start,
        holder=Holder("attendant", tpl.attendant) if tpl.attendant else None,
        deadline=overdue,
        deadline_after=tpl.approval_deadline.after if tpl.approval_deadline else None,
    )


def overdue_for_deadline(
    config: WorkflowConfig, type_id: str, start: str, deadline: Deadline | None
) -> OverdueAction | None:
    """The overdue action an agreement template's deadline means at stage ``start``."""
    if deadline is None:
        return None
    if deadline.on_overdue == "escalate":
        return OverdueAction(action="escalate")
    tt = config.ticket_type(type_id)
    target = next(f.to for f in tt.flows_from(start) if tt.stages[f.to].purpose == "rejection")
    return OverdueAction(action="move", stage=target, reason=deadline.reason)


def get_ticket(uow: UnitOfWork, ticket_id: str) -> Ticket:
    """The ticket ``ticket_id``; raises ``TicketNotFound``."""
    return tickets_of(uow).get(ticket_id)


def find_tickets_by_origin(uow: UnitOfWork, origin_type: str, origin_id: str) -> list[Ticket]:
    """Tickets opened for an upstream business key (e.g. an agreement id), oldest first."""
    return tickets_of(uow).find_by_origin(origin_type, origin_id)


def _already_done(uow: UnitOfWork, action_id: str | None) -> bool:
    """Record ``action_id`` as done in this transaction; ``True`` if it was done before."""
    if action_id is None:
        return False
    key = hashlib.sha256(action_id.encode()).hexdigest() if len(action_id) > 300 else action_id
    found = uow.session.scalars(
        select(InboxEntry).where(
            InboxEntry.tenant_id == uow.tenant,
            InboxEntry.consumer == ACTIONS_CONSUMER,
            InboxEntry.idempotency_key == key,
        )
    ).first()
    if found is not None:
        return True
    uow.session.add(
        InboxEntry(
            tenant_id=uow.tenant,
            consumer=ACTIONS_CONSUMER,
            idempotency_key=key,
            event_id=uow.cause.id,
            event_type="workflow.action",
            correlation_id=uow.cause.correlation_id,
            handled_at=uow.now(),
        )
    )
    return False


def move_ticket(
    uow: UnitOfWork,
    ticket_id: str,
    stage: str,
    *,
    reason: str | None,
    by: str,
    fields: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
    action_id: str | None = None,
) -> Ticket:
    """Move a ticket along its flow (``Ticket.move_to``) and emit ``crm.ticket.stage-changed``
    plus the entered stage's actions.

    ``expected_version``: refuse with ``Conflict`` unless the ticket is still at that version.
    ``action_id``: an idempotency key; a repeated action returns the ticket without acting (open
    the unit of work with ``Cause.action(action_id)`` so event ids repeat too). Two concurrent
    moves: one wins, the other raises ``Conflict``.
    """
    repo = tickets_of(uow)
    ticket = repo.get(ticket_id)
    if _already_done(uow, action_id):
        return ticket
    _check_version(ticket, expected_version)
    now = uow.now()
    ticket.move_to(stage, reason, by, now=now, fields=fields)
    repo.save(ticket, now)
    record_events(uow, ticket)
    log.info("moved %s to %s by %s", ticket_id, stage, by)
    return ticket


def update_ticket_fields(
    uow: UnitOfWork,
    ticket_id: str,
    values: Mapping[str, Any],
    *,
    by: str,
    expected_version: int | None = None,
) -> Ticket:
    """Write parameters under the current stage's field rules."""
    repo = tickets_of(uow)
    ticket = repo.get(ticket_id)
    _check_version(ticket, expected_version)
    ticket.update_fields(values, by, now=uow.now())
    repo.save(ticket, uow.now())
    return ticket


def cancel_ticket(
    uow: UnitOfWork,
    ticket_id: str,
    *,
    reason: str | None,
    by: str,
    expected_version: int | None = None,
    action_id: str | None = None,
) -> Ticket:
    """Cancel an open ticket (reason mandatory) and emit ``crm.ticket.cancelled``."""
    repo = tickets_of(uow)
    ticket = repo.get(ticket_id)
    if _already_done(uow, action_id):
        return ticket
    _check_version(ticket, expected_version)
    ticket.cancel(reason, by, now=uow.now())
    repo.save(ticket, uow.now())
    record_events(uow, ticket)
    return ticket


def delete_ticket(
    uow: UnitOfWork,
    ticket_id: str,
    *,
    reason: str | None,
    by: str,
    action_id: str | None = None,
) -> TicketTombstone:
    """Delete a cancelled ticket (an administrator only, reason mandatory): it leaves a
    tombstone (who, when, why) and emits ``crm.ticket.deleted``; the events it emitted before
    stay."""
    repo = tickets_of(uow)
    if _already_done(uow, action_id):
        return repo.tombstone(ticket_id)
    ticket = repo.get(ticket_id)
    ticket.check_may_delete(by)
    why = (reason or "").strip()
    if not why:
        raise ReasonRequired(f"ticket {ticket_id}: deleting needs a reason")
    stone = repo.delete(ticket, by=by, reason=why, now=uow.now())
    uow.emit(
        "crm.ticket.deleted",
        ticket.id,
        {"ticket_id": ticket.id, "ticket_type": ticket.type_id, "reason": why, "by": by},
        extensions=chain_of(ticket),
    )
    return stone


def classify_ticket(
    uow: UnitOfWork,
    ticket_id: str,
    classification: str,
    *,
    by: str,
    expected_version: int | None = None,
    action_id: str | None = None,
) -> Ticket:
    """Give an open ticket another classification (``Ticket.classify``); recorded in its
    history. ``expected_version`` and ``action_id`` as for ``move_ticket``."""
    repo = tickets_of(uow)
    ticket = repo.get(ticket_id)
    if _already_done(uow, action_id):
        return ticket
    _check_version(ticket, expected_version)
    if ticket.classify(classification, by, now=uow.now()) is not None:
        repo.save(ticket, uow.now())
        log.info("classified %s as %s by %s", ticket_id, classification, by)
    return ticket


def comment_ticket(
    uow: UnitOfWork, ticket_id: str, text: str, *, by: str, internal: bool = False
) -> Comment:
    """Add to the ticket's discussion (writable while open; no version check: comments never
    conflict with moves). ``internal``: an attendants' note, never shown to the customer."""
    repo = tickets_of(uow)
    ticket = repo.get(ticket_id)
    entry = ticket.comment(text, by, now=uow.now(), internal=internal)
    repo.write_changes(ticket, uow.now())
    return entry


def attach_file(
    uow: UnitOfWork,
    ticket_id: str,
    filename: str,
    content: BinaryIO,
    *,
    by: str,
    store: AttachmentStore,
    content_type: str = "application/octet-stream",
    location: str | None = None,
) -> AttachmentRow:
    """Store what ``content`` (a seekable file) holds in ``store`` and its metadata on the
    ticket (open tickets only); ``location`` records which store that is (``None``: the
    local one). Raises ``InvalidAttachment`` for a content type that is not a media type or a
    name that is empty once control characters and path separators are dropped.

    The bytes are content-addressed, so a rolled-back attempt leaves at most an unreferenced
    file that a retry reuses.
    """
    ticket = tickets_of(uow).get(ticket_id)
    ticket.check_may_attach(by)
    filename, content_type = file_name(filename), media_type(content_type)
    digest, size = hashlib.sha256(), 0
    while chunk := content.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    content.seek(0)
    sha = digest.hexdigest()
    key = f"{ticket_id}/{sha}"
    store.put(key, content)
    row = AttachmentRow(
        tenant_id=uow.tenant,
        ticket_id=ticket_id,
        filename=filename,
        content_type=content_type,
        size=size,
        sha256=sha,
        storage_key=key,
        location=location,
        by=by,
        at=uow.now(),
    )
    uow.session.add(row)
    uow.session.flush()
    return row


def _check_version(ticket: Ticket, expected: int | None) -> None:
    from hub.workflow.errors import Conflict

    if expected is not None and expected != ticket.version:
        raise Conflict(
            f"ticket {ticket.id} is at version {ticket.version}, not {expected}; reload and retry"
        )


__all__ = [
    "WorkflowError",
    "apply_config",
    "attach_file",
    "cancel_ticket",
    "comment_ticket",
    "current_config",
    "delete_ticket",
    "find_tickets_by_origin",
    "get_ticket",
    "move_ticket",
    "open_ticket",
    "open_ticket_from_agreement_template",
    "update_ticket_fields",
]


def apply_config_file(uow: UnitOfWork, path: Any = None) -> tuple[int, bool]:
    """Load, check and apply the configuration at ``path`` (default: the demo configuration);
    idempotent, so ``hub run`` may call it at every start. Raises ``ConfigurationError``."""
    from pathlib import Path

    from hub.workflow.loader import DEMO_CONFIG, load

    source = Path(path) if path is not None else DEMO_CONFIG
    config = load(source, users=tenant_users(uow), companies=stored_companies(uow))
    return apply_config(uow, config, source=str(source.resolve()))


def tenant_users(uow: UnitOfWork) -> frozenset[str]:
    """The ids of the tenant's users, whom a configuration may name."""
    return frozenset(load_directory(uow.session, uow.tenant).people)


def ensure_config(uow: UnitOfWork, path: Any = None) -> int:
    """The newest configuration version, applying ``path`` (default: the demo) if none is."""
    from hub.workflow.errors import NoConfiguration

    try:
        return current_config(uow)[0]
    except NoConfiguration:
        return apply_config_file(uow, path)[0]
