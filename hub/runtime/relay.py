"""The outbox relay: publishes committed outbox rows whose time has come, then marks them sent.

A row is marked sent only after the broker confirmed it; a crash in between publishes it again
with the same event id, which consumers recognise. The relay wakes at once when this process
commits new rows (``wake``), when a delayed row falls due, and otherwise polls every
``poll`` seconds for rows written by other processes.

Rows of a kind that is not a broker message (e.g. ``mail``) go to the ``Deliverer`` registered
for that kind; a failed delivery leaves the row pending and tries it again later.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hub.errors import TransientError
from hub.runtime.observe import Observer
from hub.runtime.transport import DIRECT, Outgoing, Transport, Unroutable
from hub.runtime.uow import UnitOfWorkFactory
from hub.store.models import OutboxMessage

log = logging.getLogger("hub.relay")

#: Outbox kinds published to the broker; any other kind needs a ``Deliverer``.
BROKER_KINDS = frozenset({"event", "retry", "replay"})
#: Seconds before looking again at a row whose kind has no deliverer in this process.
UNDELIVERABLE_DELAY = 300.0


class Deliverer(Protocol):
    """Delivers outbox rows of one kind somewhere other than the broker (e.g. SMTP)."""

    def deliver(self, row: OutboxMessage) -> None:
        """Return once the row's message was accepted; raise any exception otherwise."""
        ...

    def retry_delay(self, attempts: int) -> float:
        """Seconds to wait before trying again after ``attempts`` failed deliveries."""
        ...


class OutboxRelay:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        transport: Transport,
        *,
        batch: int = 200,
        poll: float = 0.25,
        observer: Observer | None = None,
        deliverers: Mapping[str, Deliverer] | None = None,
    ) -> None:
        self.uow = uow
        self.transport = transport
        self.deliverers = dict(deliverers or {})
        self.batch = batch
        self.poll = poll
        self.observer = observer or Observer()
        self.wake = threading.Event()
        self._skip_locked = uow.engine.dialect.name != "sqlite"

    def run(self, stop: threading.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                sent = self.run_once()
                backoff = 0.2
            except (TransientError, OperationalError) as e:
                log.warning("outbox relay paused %.1fs: %s", backoff, e)
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if sent:
                continue  # more rows may have been committed meanwhile
            self.wake.wait(self._idle_wait())
            self.wake.clear()

    def run_once(self) -> int:
        """Publish one batch of due rows; return how many were published."""
        now = self.uow.clock.now()
        with self.uow.sessions() as session, session.begin():
            query = (
                select(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None), OutboxMessage.available_at <= now)
                .order_by(OutboxMessage.id)
                .limit(self.batch)
            )
            if self._skip_locked:
                query = query.with_for_update(skip_locked=True)
            rows = list(session.scalars(query))
            if not rows:
                return 0
            published = self._publish(session, rows)
            if published:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_([r.id for r in published]))
                    .values(sent_at=self.uow.clock.now())
                )
        for kind in {r.kind for r in published}:
            mine = [r for r in published if r.kind == kind]
            lag = max((now - r.available_at).total_seconds() for r in mine)
            self.observer.relayed(kind, len(mine), lag)
        return len(published)

    def _publish(self, session: Session, rows: Sequence[OutboxMessage]) -> list[OutboxMessage]:
        others = [r for r in rows if r.kind not in BROKER_KINDS]
        rows = [r for r in rows if r.kind in BROKER_KINDS]
        events = [r for r in rows if r.exchange != DIRECT]
        direct = [r for r in rows if r.exchange == DIRECT]
        done: list[OutboxMessage] = []
        if events:
            self.transport.publish([_outgoing(r) for r in events])
            done.extend(events)
        for r in direct:  # retries and replays must reach their queue
            try:
                self.transport.publish([_outgoing(r)], mandatory=True)
                done.append(r)
            except Unroutable as e:
                r.publish_attempts += 1
                r.last_error = str(e)
                r.available_at = self.uow.clock.now() + timedelta(seconds=30)
                log.error("outbox row %s: %s; will try again", r.id, e)
        done.extend(self._deliver(others))  # after the broker: a failed publish sends no mail
        return done

    def _deliver(self, rows: Sequence[OutboxMessage]) -> list[OutboxMessage]:
        """Hand rows to their kind's deliverer; a failure leaves the row pending for later."""
        done: list[OutboxMessage] = []
        for r in rows:
            deliverer = self.deliverers.get(r.kind)
            if deliverer is None:
                r.last_error = f"no deliverer for outbox kind {r.kind!r} in this process"
                r.available_at = self.uow.clock.now() + timedelta(seconds=UNDELIVERABLE_DELAY)
                log.warning("outbox row %s: %s", r.id, r.last_error)
                continue
            try:
                deliverer.deliver(r)
                done.append(r)
            except Exception as e:
                r.publish_attempts += 1
                r.last_error = f"{type(e).__name__}: {e}"[:2000]
                delay = deliverer.retry_delay(r.publish_attempts)
                r.available_at = self.uow.clock.now() + timedelta(seconds=delay)
                log.warning(
                    "outbox %s row %s not delivered (%s); again in %.1fs", r.kind, r.id, e, delay
                )
        return done

    def _idle_wait(self) -> float:
        with self.uow.sessions() as session:
            next_due: datetime | None = session.scalar(
                select(func.min(OutboxMessage.available_at)).where(OutboxMessage.sent_at.is_(None))
            )
        if next_due is None:
            return self.poll
        if next_due.tzinfo is None:  # an aggregate may come back without the column's type
            next_due = next_due.replace(tzinfo=UTC)
        until = (next_due - self.uow.clock.now()).total_seconds()
        return max(0.0, min(self.poll, until))

    def backlog(self) -> tuple[int, int]:
        """(rows due now, rows scheduled later) not yet published."""
        now = self.uow.clock.now()
        with self.uow.sessions() as session:
            due = (
                session.scalar(
                    select(func.count()).where(
                        OutboxMessage.sent_at.is_(None), OutboxMessage.available_at <= now
                    )
                )
                or 0
            )
            later = (
                session.scalar(
                    select(func.count()).where(
                        OutboxMessage.sent_at.is_(None), OutboxMessage.available_at > now
                    )
                )
                or 0
            )
        return due, later


def _outgoing(row: OutboxMessage) -> Outgoing:
    return Outgoing(
        exchange=row.exchange,
        routing_key=row.routing_key,
        body=row.body,
        message_id=row.event_id,
        headers=row.headers or {},
        key=row.subject,
    )
