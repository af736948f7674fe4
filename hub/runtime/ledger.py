"""The message ledger: what the runtime records about the messages it settles.

One owner for the rows the processor writes outside a handler's transaction: which keys a
consumer has handled (the inbox, read for a batch), how many times handling of a redelivered
message started (poison counts), delayed retries (outbox rows addressed to a consumer's own
queue) and dead letters; and what the outbox relay reads and marks: the rows due for the
broker (locked while they are published), the rows claimed for other deliverers (e-mail),
sent, postponed, or moved to the dead letters. ``Ledger`` is the contract; ``SqlLedger`` keeps
it in the hub's database, ``MemoryLedger`` in memory (for tests of what sits above it).

The ledger speaks the hub's errors, never the driver's: ``StoreOutage`` when the store cannot
be reached (the runtime waits it out), ``KeyRace`` when a concurrent writer took a unique key
first. ``store_errors`` translates them for code that writes through a session of its own (a
handler's unit of work).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, ParamSpec, Protocol, TypeVar

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

from hub.runtime.transport import DIRECT
from hub.store.db import is_store_outage
from hub.store.models import DeadLetter, HandlingAttempt, InboxEntry, OutboxMessage
from schemas import CloudEvent


class StoreOutage(Exception):
    """The store is unreachable or dropped the connection: nothing could be recorded."""


class KeyRace(Exception):
    """A unique key (an inbox row, or an effect whose id derives from the event) was taken by
    a concurrent writer first: the same work, done elsewhere."""


def classify(error: BaseException) -> type[StoreOutage] | type[KeyRace] | None:
    """Which of the hub's store errors ``error`` is, if any: an outage at the top, a unique
    violation anywhere in what caused it (a handler may wrap it)."""
    if isinstance(error, StoreOutage) or is_store_outage(error):
        return StoreOutage
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            break
        if isinstance(seen, KeyRace | IntegrityError):
            return KeyRace
        seen = seen.__cause__ or seen.__context__
    return None


@contextmanager
def store_errors() -> Iterator[None]:
    """Raise the driver's outage and unique-violation errors of the block as ``StoreOutage``
    and ``KeyRace`` (the driver's error is the cause); others pass through."""
    try:
        yield
    except (StoreOutage, KeyRace):
        raise
    except Exception as error:
        kind = classify(error)
        if kind is None:
            raise
        raise kind(first_line(error)) from error


#: Outbox kinds published to the broker; any other kind needs a deliverer (``hub.runtime.relay``).
BROKER_KINDS = frozenset({"event", "retry", "replay"})

#: A consumer's handling of an event within a tenant: (tenant, consumer, idempotency key).
InboxKey = tuple[str, str, str]


def inbox_row(consumer: str, event: CloudEvent, at: datetime) -> dict[str, Any]:
    """The inbox row that makes ``consumer``'s handling of ``event`` happen once."""
    return {
        "tenant_id": event.tenantid,
        "consumer": consumer,
        "idempotency_key": event.key,
        "event_id": event.id,
        "event_type": event.type,
        "correlation_id": event.chain,
        "handled_at": at,
    }


@dataclass(frozen=True)
class Retry:
    """A delayed copy of a message, addressed to the queue it failed on."""

    tenant_id: str
    queue: str
    event_id: str
    event_type: str
    subject: str | None
    headers: dict[str, Any]
    body: bytes
    correlation_id: str | None
    causation_id: str | None
    created_at: datetime
    available_at: datetime


@dataclass(frozen=True)
class Letter:
    """A message no attempt will handle, for operators to inspect and replay."""

    tenant_id: str
    consumer: str
    queue: str
    event_id: str | None
    event_type: str | None
    correlation_id: str | None
    body: bytes
    headers: dict[str, Any]
    error_type: str
    error_message: str
    traceback: str | None
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime


#: When a dead letter is the same as one awaiting action: never (``None``), same bytes for the
#: same consumer (``"body"``), or also under the same message id (``"body-and-id"``).
Sameness = Literal["body", "body-and-id"] | None


class Sending(Protocol):
    """Outbox rows due for the broker, held (other relays skip them) until the block ends."""

    rows: list[OutboxMessage]

    def sent(self, rows: Sequence[OutboxMessage], at: datetime) -> None:
        """The broker confirmed ``rows``."""
        ...

    def postpone(self, row: OutboxMessage, until: datetime, error: str) -> None:
        """``row`` could not be published (``error``): try again at ``until``."""
        ...


class Ledger(Protocol):
    def handled(self, keys: Iterable[InboxKey]) -> set[InboxKey]:
        """The ``keys`` already in the inbox."""
        ...

    def count_start(self, consumer: str, message_key: str, at: datetime) -> int:
        """Record (durably, at once) that handling of a redelivered message starts; return how
        many times it has."""
        ...

    def forget_starts(self, consumer: str, message_key: str) -> None:
        """The message was settled: its start count is of no more use."""
        ...

    def schedule_retry(self, retry: Retry) -> None:
        """Keep ``retry`` until it is due, then the outbox relay sends it to its queue."""
        ...

    def dead_letter(self, letter: Letter, *, unless: Sameness = None) -> bool:
        """Store ``letter``; ``False`` (storing nothing) when ``unless`` finds it already there,
        awaiting action."""
        ...

    def sending(self, limit: int, at: datetime) -> AbstractContextManager[Sending]:
        """Up to ``limit`` unsent broker rows due at ``at``, oldest first; what the block
        marks is recorded when it ends, nothing when it raises."""
        ...

    def claim(self, limit: int, at: datetime, until: datetime) -> list[OutboxMessage]:
        """Up to ``limit`` unsent rows of other kinds due at ``at``, oldest first, hidden from
        other relays until ``until``; each as it was when it fell due (detached)."""
        ...

    def mark_sent(self, row_id: int, at: datetime) -> None:
        """The claimed row ``row_id`` was delivered."""
        ...

    def postpone(self, row_id: int, until: datetime, error: str | None = None) -> None:
        """Try the row again at ``until``; an ``error`` counts as a failed attempt."""
        ...

    def move_to_dead_letters(self, row_id: int, letter: Letter) -> None:
        """Replace the outbox row ``row_id`` by ``letter``, at once."""
        ...

    def next_due(self) -> datetime | None:
        """When the earliest unsent row falls due (``None``: no row is waiting)."""
        ...

    def backlog(self, at: datetime) -> tuple[int, int]:
        """(rows due at ``at``, rows scheduled later) not yet sent."""
        ...


_P = ParamSpec("_P")
_T = TypeVar("_T")

_outage_retry = retry(
    retry=retry_if_exception_type(OperationalError),
    wait=wait_exponential(multiplier=0.1, max=2),
    stop=stop_after_delay(10),
    reraise=True,
)


def _durable(method: Callable[_P, _T]) -> Callable[_P, _T]:
    """A ledger write that waits a short outage out (10 s), then reports ``StoreOutage``."""
    retried = _outage_retry(method)

    def run(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        with store_errors():
            return retried(*args, **kwargs)

    run.__doc__ = method.__doc__
    return run


class SqlLedger:
    """The ledger in the hub's database (SQLite or PostgreSQL)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def handled(self, keys: Iterable[InboxKey]) -> set[InboxKey]:
        wanted = set(keys)
        if not wanted:
            return set()
        with store_errors(), self.sessions() as session:
            rows = session.execute(
                select(InboxEntry.tenant_id, InboxEntry.consumer, InboxEntry.idempotency_key).where(
                    tuple_(
                        InboxEntry.tenant_id, InboxEntry.consumer, InboxEntry.idempotency_key
                    ).in_(wanted)
                )
            )
            return {(t, c, k) for t, c, k in rows}

    @_durable
    def count_start(self, consumer: str, message_key: str, at: datetime) -> int:
        with self.sessions.begin() as session:
            row = session.get(HandlingAttempt, (consumer, message_key), with_for_update=True)
            if row is None:
                row = HandlingAttempt(
                    consumer=consumer, message_key=message_key, started=0, last_started_at=at
                )
                session.add(row)
            row.started += 1
            row.last_started_at = at
            return row.started

    def forget_starts(self, consumer: str, message_key: str) -> None:
        with store_errors(), self.sessions.begin() as session:
            session.execute(
                delete(HandlingAttempt).where(
                    HandlingAttempt.consumer == consumer,
                    HandlingAttempt.message_key == message_key,
                )
            )

    @_durable
    def schedule_retry(self, retry: Retry) -> None:
        with self.sessions.begin() as session:
            session.add(_outbox_row(retry))

    @_durable
    def dead_letter(self, letter: Letter, *, unless: Sameness = None) -> bool:
        with self.sessions.begin() as session:
            if unless is not None:
                query = select(DeadLetter.id).where(
                    DeadLetter.tenant_id == letter.tenant_id,
                    DeadLetter.status == "dead",
                    DeadLetter.consumer == letter.consumer,
                    DeadLetter.body == letter.body,
                )
                if unless == "body-and-id":
                    query = query.where(DeadLetter.event_id == letter.event_id)
                if session.scalar(query.limit(1)) is not None:
                    return False
            session.add(DeadLetter(**asdict(letter)))
            return True

    @property
    def _skip_locked(self) -> bool:
        bind = self.sessions.kw.get("bind")
        return bind is not None and bind.dialect.name != "sqlite"

    def _due(self, at: datetime, broker: bool, limit: int) -> Any:
        kinds = (
            OutboxMessage.kind.in_(BROKER_KINDS)
            if broker
            else OutboxMessage.kind.not_in(BROKER_KINDS)
        )
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.available_at <= at, kinds)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return query.with_for_update(skip_locked=True) if self._skip_locked else query

    @contextmanager
    def sending(self, limit: int, at: datetime) -> Iterator[Sending]:
        with store_errors(), self.sessions() as session, session.begin():
            yield _SqlSending(session, list(session.scalars(self._due(at, True, limit))))

    def claim(self, limit: int, at: datetime, until: datetime) -> list[OutboxMessage]:
        with store_errors(), self.sessions() as session, session.begin():
            rows = list(session.scalars(self._due(at, False, limit)))
            due = {r.id: r.available_at for r in rows}
            for r in rows:
                r.available_at = until
            session.flush()
            session.expunge_all()
        for r in rows:
            r.available_at = due[r.id]
        return rows

    def mark_sent(self, row_id: int, at: datetime) -> None:
        with store_errors(), self.sessions.begin() as session:
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row_id).values(sent_at=at)
            )

    def postpone(self, row_id: int, until: datetime, error: str | None = None) -> None:
        values: dict[str, object] = {"available_at": until}
        if error is not None:
            values["last_error"] = error
            values["publish_attempts"] = OutboxMessage.publish_attempts + 1
        with store_errors(), self.sessions.begin() as session:
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values)
            )

    def move_to_dead_letters(self, row_id: int, letter: Letter) -> None:
        with store_errors(), self.sessions.begin() as session:
            session.execute(delete(OutboxMessage).where(OutboxMessage.id == row_id))
            session.add(DeadLetter(**asdict(letter)))

    def next_due(self) -> datetime | None:
        with store_errors(), self.sessions() as session:
            at: datetime | None = session.scalar(
                select(func.min(OutboxMessage.available_at)).where(OutboxMessage.sent_at.is_(None))
            )
        if at is not None and at.tzinfo is None:  # an aggregate may lose the column's type
            at = at.replace(tzinfo=UTC)
        return at

    def backlog(self, at: datetime) -> tuple[int, int]:
        unsent = OutboxMessage.sent_at.is_(None)
        with store_errors(), self.sessions() as session:
            due = session.scalar(
                select(func.count()).where(unsent, OutboxMessage.available_at <= at)
            )
            later = session.scalar(
                select(func.count()).where(unsent, OutboxMessage.available_at > at)
            )
        return due or 0, later or 0


class _SqlSending:
    def __init__(self, session: Session, rows: list[OutboxMessage]) -> None:
        self.session = session
        self.rows = rows

    def sent(self, rows: Sequence[OutboxMessage], at: datetime) -> None:
        if rows:
            self.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([r.id for r in rows]))
                .values(sent_at=at)
            )

    def postpone(self, row: OutboxMessage, until: datetime, error: str) -> None:
        row.publish_attempts += 1
        row.last_error = error
        row.available_at = until


def _outbox_row(retry: Retry) -> OutboxMessage:
    return OutboxMessage(
        tenant_id=retry.tenant_id,
        kind="retry",
        event_id=retry.event_id,
        event_type=retry.event_type,
        exchange=DIRECT,
        routing_key=retry.queue,
        subject=retry.subject,
        headers=retry.headers,
        body=retry.body,
        correlation_id=retry.correlation_id,
        causation_id=retry.causation_id,
        created_at=retry.created_at,
        available_at=retry.available_at,
    )


@dataclass
class MemoryLedger:
    """The ledger in memory. ``down`` makes every call raise ``StoreOutage``, as an
    unreachable store does. ``outbox`` holds the rows by id (``add`` puts one there, as a
    handler's transaction does); a claim or a ``sending`` block hands out copies."""

    inbox: set[InboxKey] = field(default_factory=set)
    starts: dict[tuple[str, str], int] = field(default_factory=dict)
    outbox: dict[int, OutboxMessage] = field(default_factory=dict)
    letters: list[Letter] = field(default_factory=list)
    down: bool = False
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def _reachable(self) -> None:
        if self.down:
            raise StoreOutage("the in-memory ledger is down")

    @property
    def retries(self) -> list[OutboxMessage]:
        """The scheduled retries, sent or not."""
        return [r for r in self.outbox.values() if r.kind == "retry"]

    def add(self, row: OutboxMessage) -> OutboxMessage:
        with self._lock:
            row.id = max(self.outbox, default=0) + 1
            row.publish_attempts = row.publish_attempts or 0
            row.headers = row.headers or {}
            self.outbox[row.id] = row
            return row

    def handled(self, keys: Iterable[InboxKey]) -> set[InboxKey]:
        self._reachable()
        return set(keys) & self.inbox

    def count_start(self, consumer: str, message_key: str, at: datetime) -> int:
        self._reachable()
        with self._lock:
            n = self.starts.get((consumer, message_key), 0) + 1
            self.starts[(consumer, message_key)] = n
            return n

    def forget_starts(self, consumer: str, message_key: str) -> None:
        self._reachable()
        self.starts.pop((consumer, message_key), None)

    def schedule_retry(self, retry: Retry) -> None:
        self._reachable()
        self.add(_outbox_row(retry))

    def dead_letter(self, letter: Letter, *, unless: Sameness = None) -> bool:
        self._reachable()
        with self._lock:
            if unless is not None and any(
                _same(kept, letter, with_id=unless == "body-and-id") for kept in self.letters
            ):
                return False
            self.letters.append(letter)
            return True

    def _due(self, at: datetime, broker: bool, limit: int) -> list[OutboxMessage]:
        due = [
            r
            for _, r in sorted(self.outbox.items())
            if r.sent_at is None and r.available_at <= at and (r.kind in BROKER_KINDS) == broker
        ]
        return due[:limit]

    @contextmanager
    def sending(self, limit: int, at: datetime) -> Iterator[Sending]:
        self._reachable()
        with self._lock:
            held = _MemorySending([_copy(r) for r in self._due(at, True, limit)])
            yield held
            self._reachable()  # a store lost during the block commits nothing
            for row in held.rows:
                kept = self.outbox.get(row.id)
                if kept is None:
                    continue
                kept.available_at = row.available_at
                kept.publish_attempts = row.publish_attempts
                kept.last_error = row.last_error
                if row.id in held.done:
                    kept.sent_at = held.done[row.id]

    def claim(self, limit: int, at: datetime, until: datetime) -> list[OutboxMessage]:
        self._reachable()
        with self._lock:
            rows = self._due(at, False, limit)
            claimed = [_copy(r) for r in rows]
            for r in rows:
                r.available_at = until
            return claimed

    def mark_sent(self, row_id: int, at: datetime) -> None:
        self._reachable()
        with self._lock:
            if row_id in self.outbox:
                self.outbox[row_id].sent_at = at

    def postpone(self, row_id: int, until: datetime, error: str | None = None) -> None:
        self._reachable()
        with self._lock:
            row = self.outbox.get(row_id)
            if row is None:
                return
            row.available_at = until
            if error is not None:
                row.last_error = error
                row.publish_attempts += 1

    def move_to_dead_letters(self, row_id: int, letter: Letter) -> None:
        self._reachable()
        with self._lock:
            self.outbox.pop(row_id, None)
            self.letters.append(letter)

    def next_due(self) -> datetime | None:
        self._reachable()
        with self._lock:
            return min(
                (r.available_at for r in self.outbox.values() if r.sent_at is None), default=None
            )

    def backlog(self, at: datetime) -> tuple[int, int]:
        self._reachable()
        with self._lock:
            unsent = [r for r in self.outbox.values() if r.sent_at is None]
        due = sum(1 for r in unsent if r.available_at <= at)
        return due, len(unsent) - due


class _MemorySending:
    def __init__(self, rows: list[OutboxMessage]) -> None:
        self.rows = rows
        self.done: dict[int, datetime] = {}

    def sent(self, rows: Sequence[OutboxMessage], at: datetime) -> None:
        self.done.update((r.id, at) for r in rows)

    def postpone(self, row: OutboxMessage, until: datetime, error: str) -> None:
        row.publish_attempts += 1
        row.last_error = error
        row.available_at = until


def _copy(row: OutboxMessage) -> OutboxMessage:
    """A detached copy of an outbox row, as a relay holds it."""
    columns = OutboxMessage.__table__.columns.keys()
    return OutboxMessage(**{name: getattr(row, name) for name in columns})


def _same(kept: Letter, letter: Letter, *, with_id: bool) -> bool:
    return (
        kept.tenant_id == letter.tenant_id
        and kept.consumer == letter.consumer
        and kept.body == letter.body
        and (not with_id or kept.event_id == letter.event_id)
    )


def first_line(error: BaseException) -> str:
    """A driver error's first line (SQLAlchemy appends the statement and a help link)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
