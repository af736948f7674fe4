"""The outbox relay: publishes committed outbox rows whose time has come, then marks them sent.

A row is marked sent only after the broker confirmed it; a crash in between publishes it again
with the same event id, which consumers recognise. The relay wakes at once when this process
commits new rows (``wake``), when a delayed row falls due, and otherwise polls every
``poll`` seconds for rows written by other processes.

Rows of a kind that is not a broker message (e.g. ``mail``) go to the ``Deliverer`` registered
for that kind; a failed delivery leaves the row pending and tries it again later, unless the
deliverer says no attempt will succeed (``PermanentError``, e.g. a mailbox that does not exist):
then the row moves to the dead-letter store, under the kind's name as consumer, and a replay
puts it back in the outbox as it was.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from hub.errors import PermanentError, TransientError
from hub.runtime import tracing
from hub.runtime.ledger import (
    BROKER_KINDS,
    Ledger,
    Letter,
    Sending,
    SqlLedger,
    StoreOutage,
    classify,
    first_line,
)
from hub.runtime.observe import Observer
from hub.runtime.transport import DIRECT, Outgoing, Transport, Unroutable
from hub.runtime.uow import UnitOfWorkFactory
from hub.store.models import OutboxMessage

__all__ = ["BROKER_KINDS", "OUTBOX_ORIGIN", "Deliverer", "OutboxRelay"]

log = logging.getLogger("hub.relay")

#: Seconds before looking again at a row whose kind has no deliverer in this process.
UNDELIVERABLE_DELAY = 300.0
#: Rows for other deliverers claimed at once, and how long a claim hides them from other
#: relays (long enough for every claimed row to time out: 10 rows x 3 tries x 10 s).
CLAIM_BATCH = 10
CLAIM_SECONDS = 300.0
#: Header of a dead letter that was an outbox row: where the row was going, for a replay.
OUTBOX_ORIGIN = "x-hub-outbox"


class Deliverer(Protocol):
    """Delivers outbox rows of one kind somewhere other than the broker (e.g. SMTP)."""

    def deliver(self, row: OutboxMessage) -> None:
        """Return once the row's message was accepted; raise ``PermanentError`` when no
        attempt will succeed, any other exception when a later one may."""
        ...

    def retry_delay(self, attempts: int) -> float:
        """Seconds to wait before trying again after ``attempts`` failed deliveries."""
        ...

    def route(self, row: OutboxMessage) -> str:
        """Where ``row`` goes (e.g. a tenant's branch's mail server): once a delivery failed,
        the rows of the same route wait; the others are still tried."""
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
        ledger: Ledger | None = None,
    ) -> None:
        self.uow = uow
        self.ledger: Ledger = ledger or SqlLedger(uow.sessions)
        self.transport = transport
        self.deliverers = dict(deliverers or {})
        self.batch = batch
        self.poll = poll
        self.observer = observer or Observer()
        self.wake = threading.Event()

    def run(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set. An outage of the broker or the store (at any of the
        relay's statements, including the one that decides how long to sleep) pauses it with
        a growing back-off; it never ends the relay."""
        backoff = 0.2
        while not stop.is_set():
            try:
                if self.run_once():
                    backoff = 0.2
                    continue  # more rows may have been committed meanwhile
                wait = self._idle_wait()
                backoff = 0.2
            except Exception as e:
                if not (isinstance(e, TransientError) or classify(e) is StoreOutage):
                    raise  # a defect: `hub run` stops so that its supervisor restarts it
                log.warning("outbox relay paused %.1fs: %s", backoff, first_line(e))
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            self.wake.wait(wait)
            self.wake.clear()

    def run_once(self) -> int:
        """Publish one batch of due rows; return how many were published or delivered."""
        return self._publish_due() + self._deliver_due()

    def _publish_due(self) -> int:
        """Broker rows: held, published with confirms and marked sent in one transaction
        (publishing takes milliseconds)."""
        now = self.uow.clock.now()
        with self.ledger.sending(self.batch, now) as sending:
            if not sending.rows:
                return 0
            published = self._publish(sending)
            sending.sent(published, self.uow.clock.now())
        self._observe(published, now)
        return len(published)

    def _publish(self, sending: Sending) -> list[OutboxMessage]:
        events = [r for r in sending.rows if r.exchange != DIRECT]
        direct = [r for r in sending.rows if r.exchange == DIRECT]
        done: list[OutboxMessage] = []
        if events:
            self._send(events[0].exchange, events, mandatory=False)
            done.extend(events)
        for r in direct:  # retries and replays must reach their queue
            try:
                self._send(r.routing_key, [r], mandatory=True)
                done.append(r)
            except Unroutable as e:
                sending.postpone(r, self.uow.clock.now() + timedelta(seconds=30), str(e))
                log.error("outbox row %s: %s; will try again", r.id, e)
        return done

    def _send(self, destination: str, rows: Sequence[OutboxMessage], *, mandatory: bool) -> None:
        """Publish ``rows`` in one ``send`` span; each message carries the span's context in
        its ``traceparent`` header (the event keeps its own ``traceparent`` extension)."""
        messages = [_outgoing(r) for r in rows]
        causes = [_traceparent(r.body) for r in rows] if tracing.active() else []
        with tracing.sending_span(destination, [m.message_id for m in messages], causes) as tp:
            if tp:
                messages = [replace(m, headers={**m.headers, "traceparent": tp}) for m in messages]
            self.transport.publish(messages, mandatory=mandatory)

    def _deliver_due(self) -> int:
        """Rows for other deliverers (e-mail): claimed in a short transaction, delivered
        outside any transaction (a slow or absent server blocks no other writer), then marked.
        A claim hides a row from other relays for ``CLAIM_SECONDS``; a crash between delivery
        and marking delivers it again after that, with the same id."""
        now = self.uow.clock.now()
        rows = self.ledger.claim(CLAIM_BATCH, now, now + timedelta(seconds=CLAIM_SECONDS))
        if not rows:
            return 0
        done: list[OutboxMessage] = []
        failed: dict[tuple[str, str], float] = {}  # (kind, route) -> delay, once it failed
        for r in rows:
            deliverer = self.deliverers.get(r.kind)
            if deliverer is None:
                error = f"no deliverer for outbox kind {r.kind!r} in this process"
                log.warning("outbox row %s: %s", r.id, error)
                self._postpone(r.id, UNDELIVERABLE_DELAY, error=error)
                continue
            route = (r.kind, deliverer.route(r))
            if route in failed:  # its server just failed: do not hammer it, try later
                self._postpone(r.id, failed[route])
                continue
            try:
                deliverer.deliver(r)
            except PermanentError as e:
                log.error("outbox %s row %s refused for good (%s); dead-lettered", r.kind, r.id, e)
                self._dead_letter(r, e)
                continue
            except Exception as e:
                delay = deliverer.retry_delay(r.publish_attempts + 1)
                failed[route] = delay
                log.warning(
                    "outbox %s row %s not delivered (%s); again in %.1fs", r.kind, r.id, e, delay
                )
                self._postpone(r.id, delay, error=f"{type(e).__name__}: {e}"[:2000])
                continue
            self.ledger.mark_sent(r.id, self.uow.clock.now())
            done.append(r)
        self._observe(done, now)
        return len(done)

    def _dead_letter(self, row: OutboxMessage, error: PermanentError) -> None:
        """Move ``row`` from the outbox to the dead-letter store, in one transaction."""
        now = self.uow.clock.now()
        origin = {
            "kind": row.kind,
            "exchange": row.exchange,
            "routing_key": row.routing_key,
            "subject": row.subject,
            "causation_id": row.causation_id,
        }
        self.ledger.move_to_dead_letters(
            row.id,
            Letter(
                tenant_id=row.tenant_id,
                consumer=row.kind,
                queue=f"outbox.{row.kind}",
                event_id=row.event_id,
                event_type=row.event_type,
                correlation_id=row.correlation_id,
                body=row.body,
                headers={**(row.headers or {}), OUTBOX_ORIGIN: origin},
                error_type=type(error).__name__,
                error_message=str(error) or repr(error),
                traceback=None,
                attempts=row.publish_attempts + 1,
                first_failed_at=row.created_at,
                last_failed_at=now,
            ),
        )
        self.observer.outcome(row.kind, row.event_type, "dead-lettered", 0.0)

    def _postpone(self, row_id: int, delay: float, *, error: str | None = None) -> None:
        self.ledger.postpone(row_id, self.uow.clock.now() + timedelta(seconds=delay), error)

    def _observe(self, rows: Sequence[OutboxMessage], now: datetime) -> None:
        for kind in {r.kind for r in rows}:
            mine = [r for r in rows if r.kind == kind]
            lag = max((now - r.available_at).total_seconds() for r in mine)
            self.observer.relayed(kind, len(mine), lag)

    def _idle_wait(self) -> float:
        next_due = self.ledger.next_due()
        if next_due is None:
            return self.poll
        until = (next_due - self.uow.clock.now()).total_seconds()
        return max(0.0, min(self.poll, until))

    def backlog(self) -> tuple[int, int]:
        """(rows due now, rows scheduled later) not yet published."""
        return self.ledger.backlog(self.uow.clock.now())


def _traceparent(body: bytes) -> str | None:
    try:
        value = json.loads(body).get("traceparent")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None
    return value if isinstance(value, str) else None


def _outgoing(row: OutboxMessage) -> Outgoing:
    return Outgoing(
        exchange=row.exchange,
        routing_key=row.routing_key,
        body=row.body,
        message_id=row.event_id,
        headers=row.headers or {},
        key=row.subject,
    )
