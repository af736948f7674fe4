"""Loading and saving workflow state through a SQLAlchemy session (one unit of work).

``TicketRepository.save`` is optimistic: it updates the ticket row only if its ``version`` is
still the one loaded, else raises ``Conflict``; it appends the ticket's new stage history and
comments and keeps the deadline timers in step with the stage.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from hub.identity.users import load_directory
from hub.store.batch import flush
from hub.workflow.config import OverdueAction, WorkflowConfig
from hub.workflow.errors import Conflict, NoConfiguration, TicketNotFound, WorkflowError
from hub.workflow.permissions import Holder, Reach
from hub.workflow.tables import (
    AttachmentRow,
    CommentRow,
    ConfigVersionRow,
    StageHistoryRow,
    TicketRow,
    TicketTombstone,
    TimerRow,
)
from hub.workflow.tickets import Ticket


def digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


#: Parsed configurations by the digest of their body: a version never changes once applied,
#: so each is read and parsed once per process, whichever database it came from.
_PARSED: dict[str, WorkflowConfig] = {}
_PARSED_LIMIT = 64
_PARSED_LOCK = threading.Lock()
_CURRENT = "hub.workflow.current_config"


class ConfigVersions:
    """A tenant's applied configurations, numbered 1, 2, ...; each is immutable once applied."""

    def __init__(self, session: Session, tenant: str) -> None:
        self.session = session
        self.tenant = tenant

    def apply(self, config: WorkflowConfig, *, source: str, now: datetime) -> tuple[int, bool]:
        """Store ``config`` as a new version unless it equals the newest one.

        Returns ``(version, created)``.
        """
        body = config.to_json()
        body_digest = digest(body)
        newest = self.session.scalars(
            select(ConfigVersionRow)
            .where(ConfigVersionRow.tenant_id == self.tenant)
            .order_by(ConfigVersionRow.version.desc())
            .limit(1)
        ).first()
        if newest is not None and newest.digest == body_digest:
            return newest.version, False
        version = (newest.version if newest else 0) + 1
        self.session.add(
            ConfigVersionRow(
                tenant_id=self.tenant,
                version=version,
                digest=body_digest,
                source=source[:1000],
                body=body,
                applied_at=now,
            )
        )
        self.session.flush()
        return version, True

    def get(self, version: int) -> WorkflowConfig:
        digest = self.session.scalar(
            select(ConfigVersionRow.digest).where(
                ConfigVersionRow.tenant_id == self.tenant, ConfigVersionRow.version == version
            )
        )
        if digest is None:
            raise NoConfiguration(f"workflow configuration version {version} is not in the store")
        return self._parsed(version, digest)

    def current(self) -> tuple[int, WorkflowConfig]:
        """The newest applied version; raises ``NoConfiguration`` when none was applied. Read
        once per transaction: a configuration applied meanwhile counts from the next one."""
        transaction = self.session.get_transaction()
        cached = self.session.info.get(_CURRENT, {}).get(self.tenant)
        if transaction is not None and cached is not None and cached[0] is transaction:
            return cached[1]  # type: ignore[no-any-return]
        found = self._current()
        if transaction is not None:
            self.session.info.setdefault(_CURRENT, {})[self.tenant] = (transaction, found)
        return found

    def _current(self) -> tuple[int, WorkflowConfig]:
        newest = self.session.execute(
            select(ConfigVersionRow.version, ConfigVersionRow.digest)
            .where(ConfigVersionRow.tenant_id == self.tenant)
            .order_by(ConfigVersionRow.version.desc())
            .limit(1)
        ).first()
        if newest is None:
            raise NoConfiguration(
                f"tenant {self.tenant!r} has no workflow configuration: "
                f"run `hub config apply PATH --tenant {self.tenant}`"
            )
        return newest.version, self._parsed(newest.version, newest.digest)

    def _parsed(self, version: int, digest: str) -> WorkflowConfig:
        config = _PARSED.get(digest)
        if config is None:
            body = self.session.scalar(
                select(ConfigVersionRow.body).where(
                    ConfigVersionRow.tenant_id == self.tenant, ConfigVersionRow.version == version
                )
            )
            config = WorkflowConfig.model_validate(body)
            with _PARSED_LOCK:
                if len(_PARSED) >= _PARSED_LIMIT:
                    _PARSED.pop(next(iter(_PARSED)))
                _PARSED[digest] = config
        return config


#: A ticket's statuses, for filters.
STATUSES = ("open", "completed", "cancelled")


@dataclass(frozen=True)
class TicketFilter:
    """Which tickets to list; raises ``WorkflowError`` for a status that does not exist."""

    ticket_type: str | None = None
    stage: str | None = None
    status: str | None = None
    holder: str | None = None  # "kind:id", "kind" or a bare id
    customer_id: str | None = None
    limit: int = 200
    visible_to: Reach | None = None  # only what this person's data scope reaches
    types: Collection[str] | None = None  # only tickets of these types (None: any)

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise WorkflowError(f"unknown status {self.status!r} (one of: {', '.join(STATUSES)})")


def _reached(reach: Reach) -> Any:
    """The SQL condition of the tickets ``reach`` covers (see ``Reach.covers``)."""
    held = or_(
        and_(TicketRow.holder_kind == "attendant", TicketRow.holder_id.in_(sorted(reach.people))),
        and_(TicketRow.holder_kind == "group", TicketRow.holder_id.in_(sorted(reach.groups))),
    )
    if not reach.scope:
        return held
    whole = sorted(c for c, b in reach.scope if b is None)
    pairs = sorted((c, b) for c, b in reach.scope if b is not None)
    within = or_(
        TicketRow.company.is_(None),
        TicketRow.company.in_(whole),
        *(and_(TicketRow.company == c, TicketRow.branch == b) for c, b in pairs),
    )
    return and_(held, within)


class TicketRepository:
    """A tenant's tickets: every query is scoped to ``tenant``; a ticket of another tenant is
    ``TicketNotFound``."""

    def __init__(self, session: Session, tenant: str) -> None:
        self.session = session
        self.tenant = tenant
        self.configs = ConfigVersions(session, tenant)

    def add(self, ticket: Ticket, now: datetime) -> None:
        """Insert a new ticket (version 0 in memory, 1 once stored)."""
        row = TicketRow(
            id=ticket.id,
            tenant_id=self.tenant,
            version=1,
            opened_at=ticket.opened_at,
            updated_at=now,
        )
        self._copy(ticket, row)
        self.session.add(row)
        ticket.version = 1
        self.write_changes(ticket, now, new=True)

    def get(self, ticket_id: str, *, for_update: bool = False) -> Ticket:
        query = select(TicketRow).where(
            TicketRow.tenant_id == self.tenant, TicketRow.id == ticket_id
        )
        if for_update:
            query = query.with_for_update()
        row = self.session.scalars(query).first()
        if row is None:
            raise TicketNotFound(f"no ticket {ticket_id!r}")
        return self._ticket(row)

    def find_by_origin(self, origin_type: str, origin_id: str) -> list[Ticket]:
        """Tickets opened for ``(origin_type, origin_id)``, oldest first."""
        rows = self.session.scalars(
            select(TicketRow)
            .where(
                TicketRow.tenant_id == self.tenant,
                TicketRow.origin_type == origin_type,
                TicketRow.origin_id == origin_id,
            )
            .order_by(TicketRow.opened_at, TicketRow.id)
        )
        return [self._ticket(r) for r in rows]

    def search(self, where: TicketFilter) -> list[Ticket]:
        query = (
            select(TicketRow)
            .where(TicketRow.tenant_id == self.tenant)
            .order_by(TicketRow.opened_at.desc(), TicketRow.id)
            .limit(where.limit)
        )
        if where.ticket_type:
            query = query.where(TicketRow.ticket_type == where.ticket_type)
        if where.stage:
            query = query.where(TicketRow.stage == where.stage)
        if where.status:
            query = query.where(TicketRow.status == where.status)
        if where.customer_id:
            query = query.where(TicketRow.customer_id == where.customer_id)
        if where.types is not None:
            query = query.where(TicketRow.ticket_type.in_(sorted(where.types)))
        if where.visible_to is not None and not where.visible_to.everything:
            query = query.where(_reached(where.visible_to))
        if where.holder:
            kind, sep, hid = where.holder.partition(":")
            if sep:
                query = query.where(TicketRow.holder_kind == kind, TicketRow.holder_id == hid)
            elif kind in {"attendant", "group", "customer"}:
                query = query.where(TicketRow.holder_kind == kind)
            else:
                query = query.where(TicketRow.holder_id == kind)
        return [self._ticket(r) for r in self.session.scalars(query)]

    def save(self, ticket: Ticket, now: datetime) -> None:
        """Store the ticket's changes; raises ``Conflict`` if someone saved it meanwhile."""
        values: dict[str, Any] = {"version": ticket.version + 1, "updated_at": now}
        values.update(self._columns(ticket))
        result = self.session.execute(
            update(TicketRow)
            .where(
                TicketRow.tenant_id == self.tenant,
                TicketRow.id == ticket.id,
                TicketRow.version == ticket.version,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(f"ticket {ticket.id} was changed by someone else; reload and retry")
        ticket.version += 1
        self.write_changes(ticket, now)

    def delete(self, ticket: Ticket, *, by: str, reason: str, now: datetime) -> TicketTombstone:
        """Remove the ticket with its history, discussion, attachments' records and timers,
        leaving a tombstone (its outbound events stay in the outbox); raises ``Conflict`` if
        someone saved it meanwhile."""
        cancelled = self.session.scalars(
            select(StageHistoryRow)
            .where(
                StageHistoryRow.tenant_id == self.tenant,
                StageHistoryRow.ticket_id == ticket.id,
                StageHistoryRow.kind == "cancel",
            )
            .order_by(StageHistoryRow.id.desc())
        ).first()
        stone = TicketTombstone(
            tenant_id=self.tenant,
            ticket_id=ticket.id,
            ticket_type=ticket.type_id,
            customer_id=ticket.customer_id,
            subject=ticket.subject,
            opened_at=ticket.opened_at,
            cancelled_at=cancelled.at if cancelled else None,
            cancel_reason=cancelled.reason if cancelled else None,
            deleted_by=by,
            deleted_at=now,
            reason=reason,
        )
        for table in (TimerRow, AttachmentRow, CommentRow, StageHistoryRow):
            self.session.execute(
                delete(table)
                .where(table.tenant_id == self.tenant, table.ticket_id == ticket.id)
                .execution_options(synchronize_session=False)
            )
        result = self.session.execute(
            delete(TicketRow)
            .where(
                TicketRow.tenant_id == self.tenant,
                TicketRow.id == ticket.id,
                TicketRow.version == ticket.version,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(f"ticket {ticket.id} was changed by someone else; reload and retry")
        self.session.add(stone)
        self.session.flush()
        return stone

    def tombstones(self, *, limit: int = 200) -> list[TicketTombstone]:
        """The deleted tickets' tombstones, newest first."""
        return list(
            self.session.scalars(
                select(TicketTombstone)
                .where(TicketTombstone.tenant_id == self.tenant)
                .order_by(TicketTombstone.deleted_at.desc(), TicketTombstone.ticket_id)
                .limit(limit)
            )
        )

    def tombstone(self, ticket_id: str) -> TicketTombstone:
        found = self.session.get(TicketTombstone, (self.tenant, ticket_id))
        if found is None:
            raise TicketNotFound(f"no deleted ticket {ticket_id!r}")
        return found

    def history(self, ticket_id: str) -> list[StageHistoryRow]:
        return list(
            self.session.scalars(
                select(StageHistoryRow)
                .where(
                    StageHistoryRow.tenant_id == self.tenant, StageHistoryRow.ticket_id == ticket_id
                )
                .order_by(StageHistoryRow.id)
            )
        )

    def comments(self, ticket_id: str) -> list[CommentRow]:
        return list(
            self.session.scalars(
                select(CommentRow)
                .where(CommentRow.tenant_id == self.tenant, CommentRow.ticket_id == ticket_id)
                .order_by(CommentRow.id)
            )
        )

    def attachments(self, ticket_id: str) -> list[AttachmentRow]:
        return list(
            self.session.scalars(
                select(AttachmentRow)
                .where(AttachmentRow.tenant_id == self.tenant, AttachmentRow.ticket_id == ticket_id)
                .order_by(AttachmentRow.id)
            )
        )

    # --- internals --------------------------------------------------------------------

    @staticmethod
    def _columns(ticket: Ticket) -> dict[str, Any]:
        return {
            "config_version": ticket.config_version,
            "ticket_type": ticket.type_id,
            "stage": ticket.stage,
            "status": ticket.status,
            "holder_kind": ticket.holder.kind,
            "holder_id": ticket.holder.id,
            "subject": ticket.subject,
            "description": ticket.description,
            "parameters": dict(ticket.parameters),
            "customer_id": ticket.customer_id,
            "company": ticket.company,
            "branch": ticket.branch,
            "origin_type": ticket.origin_type,
            "origin_id": ticket.origin_id,
            "classification": ticket.classification,
            "correlation_id": ticket.correlation_id,
            "due_at": ticket.due_at,
        }

    def _copy(self, ticket: Ticket, row: TicketRow) -> None:
        for name, value in self._columns(ticket).items():
            setattr(row, name, value)

    def _ticket(self, row: TicketRow) -> Ticket:
        return Ticket(
            id=row.id,
            config=self.configs.get(row.config_version),
            config_version=row.config_version,
            type_id=row.ticket_type,
            stage=row.stage,
            holder=Holder(row.holder_kind, row.holder_id),  # type: ignore[arg-type]
            subject=row.subject,
            description=row.description,
            parameters=dict(row.parameters),
            opened_at=row.opened_at,
            status=row.status,  # type: ignore[arg-type]
            customer_id=row.customer_id,
            company=row.company,
            branch=row.branch,
            origin_type=row.origin_type,
            origin_id=row.origin_id,
            classification=row.classification,
            correlation_id=row.correlation_id,
            due_at=row.due_at,
            version=row.version,
            read_directory=partial(load_directory, self.session, self.tenant),
        )

    def write_changes(self, ticket: Ticket, now: datetime, *, new: bool = False) -> None:
        """Store the ticket's pending history, comments and deadline timer; ``new``: the ticket
        was just added, so it has no earlier timer to cancel."""
        entered = False
        for change in ticket.changes:
            entered = entered or change.kind in {"open", "move", "cancel"}
            self.session.add(
                StageHistoryRow(
                    tenant_id=self.tenant,
                    ticket_id=ticket.id,
                    kind=change.kind,
                    from_stage=change.from_stage,
                    to_stage=change.to_stage,
                    reason=change.reason,
                    by=change.by,
                    at=change.at,
                    holder_kind=change.holder.kind,
                    holder_id=change.holder.id,
                )
            )
        for comment in ticket.comments:
            self.session.add(
                CommentRow(
                    tenant_id=self.tenant,
                    ticket_id=ticket.id,
                    by=comment.by,
                    at=comment.at,
                    text=comment.text,
                    internal=comment.internal,
                )
            )
        if entered and not new:
            self.session.execute(
                update(TimerRow)
                .where(
                    TimerRow.tenant_id == self.tenant,
                    TimerRow.ticket_id == ticket.id,
                    TimerRow.fired_at.is_(None),
                    TimerRow.cancelled_at.is_(None),
                )
                .values(cancelled_at=now)
                .execution_options(synchronize_session=False)
            )
        if entered and ticket.due_at is not None and ticket.status == "open":
            action = ticket.overdue_action or OverdueAction()
            self.session.add(
                TimerRow(
                    tenant_id=self.tenant,
                    ticket_id=ticket.id,
                    stage=ticket.stage,
                    entry=ticket.version,
                    due_at=ticket.due_at,
                    action=action.model_dump(mode="json"),
                )
            )
        ticket.changes.clear()
        ticket.comments.clear()
        flush(self.session)
