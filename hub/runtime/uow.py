"""The unit of work: the inbox row, the handler's effects and its outbound events, one transaction.

A handler receives a ``UnitOfWork``; it loads and saves through ``uow.session`` and records
outbound events with ``uow.emit``. Nothing is published here: the outbox relay publishes the
rows after the transaction commits.

A session given ``defer_appends`` keeps its outbox rows (and whatever else is appended with
``append``) aside, and ``write_appends`` inserts them just before the commit, one statement per
table for the whole batch. Only rows nothing in the transaction reads back qualify: the inbox
and the outbox.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session, sessionmaker

from hub.clock import Clock, SystemClock
from hub.runtime.ledger import KeyRace, inbox_row, store_errors
from hub.runtime.tracing import current_traceparent
from hub.store.db import session_factory
from hub.store.models import DEFAULT_TENANT, Base, InboxEntry, OutboxMessage
from schemas import CloudEvent, model_for

EVENTS_EXCHANGE = "hub.events"
HUB_SOURCE = "urn:hub"
_ID_NAMESPACE = uuid.UUID("6f1c7a52-3f0e-4c55-9a53-2d1f0b7e9c41")


@dataclass(frozen=True)
class Cause:
    """What a unit of work acts on behalf of: an inbound event or a person's action.

    ``id`` seeds the ids of the outbound events, so the same cause always yields the same ids.
    """

    id: str
    correlation_id: str
    tenant_id: str
    traceparent: str | None = None

    @classmethod
    def of(cls, event: CloudEvent) -> Cause:
        return cls(event.id, event.chain, event.tenantid, event.traceparent)

    @classmethod
    def action(
        cls,
        action_id: str | None = None,
        correlation_id: str | None = None,
        *,
        tenant: str,
    ) -> Cause:
        """A person's action (CLI, HTTP) in ``tenant``. Give ``action_id`` (an idempotency key)
        to make retries of the same action produce the same event ids."""
        aid = action_id or str(uuid.uuid4())
        if len(aid) > 200:  # ids travel in events and columns of at most 200 characters
            aid = "sha256:" + hashlib.sha256(aid.encode()).hexdigest()
        return cls(aid, correlation_id or aid, tenant)

    @property
    def seed(self) -> str:
        """What derived ids start from: the cause, within its tenant (the same event id in two
        tenants is two causes). The default tenant's ids are those it always had."""
        return self.id if self.tenant_id == DEFAULT_TENANT else f"{self.tenant_id}\x1e{self.id}"


def derived_event_id(cause_id: str, event_type: str, subject: str, n: int = 0) -> str:
    """A deterministic id for the ``n``-th event of ``event_type`` about ``subject`` caused by
    ``cause_id`` (a ``Cause.seed``): a re-publish after a crash carries the same id."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{cause_id}\x1f{event_type}\x1f{subject}\x1f{n}"))


#: ``session.info`` key of the rows kept aside until ``write_appends``.
APPENDS = "hub.appends"


def defer_appends(session: Session) -> None:
    """From now on, ``append`` keeps rows aside in ``session`` until ``write_appends``."""
    session.info[APPENDS] = {}


def append(session: Session, model: type[Base], row: dict[str, Any]) -> bool:
    """Keep ``row`` (a ``model`` row) aside when ``session`` defers appends; False otherwise."""
    kept: dict[type[Base], list[dict[str, Any]]] | None = session.info.get(APPENDS)
    if kept is None:
        return False
    kept.setdefault(model, []).append(row)
    return True


def write_appends(session: Session) -> None:
    """Insert the rows kept aside, one statement per table, and stop deferring."""
    kept: dict[type[Base], list[dict[str, Any]]] = session.info.pop(APPENDS, None) or {}
    for model, rows in kept.items():
        session.execute(insert(model), rows)


class Duplicate(Exception):
    """The (consumer, idempotency key) is already in the inbox."""


@dataclass
class UnitOfWork:
    session: Session
    cause: Cause
    clock: Clock = field(default_factory=SystemClock)
    emitted: list[CloudEvent] = field(default_factory=list)
    _counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def tenant(self) -> str:
        """The tenant every read and write of this unit of work is scoped to."""
        return self.cause.tenant_id

    def emit(
        self,
        event_type: str,
        subject: str,
        data: BaseModel | dict[str, Any],
        *,
        extensions: dict[str, Any] | None = None,
    ) -> CloudEvent:
        """Record an outbound event; it is published after the transaction commits.

        ``data`` is validated against the event type's schema (raises ``pydantic.ValidationError``
        when the hub itself would break the contract).
        """
        payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
        n = self._counts[(event_type, subject)]
        self._counts[(event_type, subject)] += 1
        event_id = derived_event_id(self.cause.seed, event_type, subject, n)
        attrs: dict[str, Any] = {
            "id": event_id,
            "source": HUB_SOURCE,
            "type": event_type,
            "time": self.now(),
            "subject": subject,
            "data": payload,
            "tenantid": self.cause.tenant_id,
            "correlationid": self.cause.correlation_id,
            "causationid": self.cause.id,
            "idempotencykey": event_id,
            **(extensions or {}),
        }
        traceparent = current_traceparent() or self.cause.traceparent
        if traceparent:
            attrs.setdefault("traceparent", traceparent)
        event = model_for(event_type).model_validate(attrs)
        now = self.now()
        row: dict[str, Any] = {
            "tenant_id": self.cause.tenant_id,
            "kind": "event",
            "event_id": event.id,
            "event_type": event_type,
            "exchange": EVENTS_EXCHANGE,
            "routing_key": event_type,
            "subject": subject,
            "headers": {},
            "body": event.to_json(),
            "correlation_id": event.correlationid,
            "causation_id": event.causationid,
            "created_at": now,
            "available_at": now,
        }
        if not append(self.session, OutboxMessage, row):
            self.session.add(OutboxMessage(**row))
        self.emitted.append(event)
        return event


class UnitOfWorkFactory:
    """Opens units of work on one database; ``claim`` makes one the single handling of an event."""

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.sessions: sessionmaker[Session] = session_factory(engine)
        self.clock: Clock = clock or SystemClock()
        self.on_commit: Callable[[], None] = lambda: None  # e.g. wake the outbox relay

    @contextmanager
    def __call__(self, cause: Cause) -> Iterator[UnitOfWork]:
        """A unit of work that commits when the block ends and rolls back if it raises."""
        with self.sessions() as session, session.begin():
            yield UnitOfWork(session, cause, self.clock)
        self.on_commit()

    @contextmanager
    def handling(self, consumer: str, event: CloudEvent) -> Iterator[UnitOfWork]:
        """A unit of work for ``consumer`` handling ``event``: the inbox row is written first.

        Raises ``Duplicate`` (and writes nothing) when the consumer already handled an event with
        the same idempotency key in the event's tenant.
        """
        session = self.sessions()
        try:
            session.begin()
            session.add(InboxEntry(**inbox_row(consumer, event, self.clock.now())))
            try:
                with store_errors():
                    session.flush()
            except KeyRace:
                raise Duplicate(f"{consumer} already handled {event.key}") from None
            yield UnitOfWork(session, Cause.of(event), self.clock)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
