"""The one place that decides what happens to a delivered message: handle, skip, retry or
dead-letter, and then acknowledge.

- a duplicate (same consumer and idempotency key in the inbox) is acknowledged and skipped;
- ``InvalidMessage`` and ``PermanentError`` are dead-lettered at once, never retried;
- ``TransientError`` and unexpected exceptions are retried later (a delayed copy is written
  to the outbox, addressed to the consumer's own queue) until the retry policy gives up;
- a redelivered message whose handling was started more than ``delivery_limit`` times without
  being settled (the worker died on it) is dead-lettered as poison instead of handled again;
- when the store itself is unreachable nothing can be recorded, so the message is returned to
  its queue unsettled and the worker pauses.

The retry or dead-letter row is committed before the acknowledgement: a crash between the two
redelivers the message, which is safe because handling is idempotent through the inbox. Those
rows, the poison counts and the batch's inbox reads go through the message ledger
(``hub.runtime.ledger``); ``_settle`` is the one place a delivery is acknowledged or returned.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hub.errors import PermanentError
from hub.logs import log_context
from hub.runtime.ledger import (
    KeyRace,
    Ledger,
    Letter,
    Retry,
    Sameness,
    SqlLedger,
    StoreOutage,
    classify,
    inbox_row,
    store_errors,
)
from hub.runtime.observe import Observer
from hub.runtime.oversize import stored_body
from hub.runtime.policy import RetryPolicy
from hub.runtime.registry import Consumer
from hub.runtime.tenants import KnownTenants
from hub.runtime.tracing import handling_span
from hub.runtime.transport import POISON_QUEUE, Delivery
from hub.runtime.uow import (
    Cause,
    Duplicate,
    UnitOfWork,
    UnitOfWorkFactory,
    append,
    defer_appends,
    write_appends,
)
from hub.store.batch import read_ahead
from hub.store.models import InboxEntry
from schemas import CloudEvent, InvalidMessage, decode
from schemas.binary import attributes as binary_attributes
from schemas.binary import structured
from schemas.bounds import DEFAULT_LIMITS, Limits, load_json

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger("hub.runtime")

ATTEMPT = "x-hub-attempt"
FIRST_FAILURE = "x-hub-first-failure"
LAST_ERROR = "x-hub-last-error"
_BROKER_HEADERS = (
    "x-delivery-count",
    "x-death",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-first-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
    "x-last-death-exchange",
)


class Outcome(enum.Enum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    RETRY = "retried"
    DEAD = "dead-lettered"
    RETURNED = "returned"  # the store was unreachable; the broker keeps the message


class UnknownTenant(PermanentError):
    """The event names a tenant the hub does not have."""


class Processor:
    def __init__(
        self,
        consumers: Mapping[str, Consumer],
        uow: UnitOfWorkFactory,
        *,
        default_retry: RetryPolicy,
        delivery_limit: int,
        observer: Observer | None = None,
        on_commit: Callable[[], None] | None = None,
        outage_pause: float = 1.0,
        tenants: KnownTenants | None = None,
        limits: Limits = DEFAULT_LIMITS,
        ledger: Ledger | None = None,
    ) -> None:
        self.consumers = dict(consumers)
        self.uow = uow
        self.ledger: Ledger = ledger or SqlLedger(uow.sessions)
        self.tenants = tenants or KnownTenants(uow.sessions)
        self.default_retry = default_retry
        self.delivery_limit = delivery_limit
        self.observer = observer or Observer()
        self.on_commit = on_commit or (lambda: None)
        self.outage_pause = outage_pause
        self.limits = limits

    def __call__(self, delivery: Delivery) -> Outcome:
        started = time.perf_counter()
        meta = self._peek(delivery.body, delivery.headers)
        with log_context(
            event_id=delivery.message_id or meta.get("id"),
            correlation_id=meta.get("correlationid") or meta.get("id"),
            consumer=delivery.queue.removeprefix("hub."),
        ):
            outcome, event_type, consumer_name = self._process(delivery)
        self._settle(delivery, outcome, consumer_name, event_type, time.perf_counter() - started)
        if outcome is Outcome.RETURNED:
            time.sleep(self.outage_pause)
        return outcome

    def _settle(
        self, d: Delivery, outcome: Outcome, consumer: str, event_type: str, seconds: float
    ) -> Outcome:
        """Acknowledge ``d``, or return it to its queue when nothing could be recorded; count
        the outcome. The only place a delivery is settled."""
        if outcome is Outcome.RETURNED:
            d.requeue()
        else:
            d.ack()
        self.observer.outcome(consumer, event_type, outcome.value, seconds)
        return outcome

    def handle_batch(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """Settle several deliveries, committing the successful ones in one transaction.

        The batch's first deliveries are handled in one transaction (see ``_handle_together``);
        it commits once, then every message is acknowledged. Redeliveries, undecodable messages and
        messages without a handler take the one-by-one path, which records poison counts and
        dead letters on its own. Same outcomes as calling the processor once per message, with
        one commit instead of many.
        """
        batch: list[tuple[Delivery, Consumer, CloudEvent]] = []
        single: list[Delivery] = []
        for d in deliveries:
            consumer = self.consumers.get(d.queue)
            if d.delivery_count > 1 or consumer is None or d.queue == POISON_QUEUE:
                single.append(d)
                continue
            try:
                event = decode(
                    structured(d.body, d.headers, d.content_type, self.limits), self.limits
                )
            except Exception:
                single.append(d)
                continue
            if event.type not in consumer.handlers or not self._known_tenant(event.tenantid):
                single.append(d)
                continue
            batch.append((d, consumer, event))
        outcomes = [self(d) for d in single]
        if len(batch) == 1:
            return [*outcomes, self(batch[0][0])]
        if batch:
            outcomes.extend(self._handle_together(batch))
        return outcomes

    def _known_tenant(self, tenant: str) -> bool:
        """Whether the hub has ``tenant``; ``False`` when the store cannot tell (the one-by-one
        path then meets the outage and returns the message)."""
        try:
            return tenant in self.tenants
        except Exception:
            return False

    def _handle_together(
        self, batch: list[tuple[Delivery, Consumer, CloudEvent]], *, again: bool = True
    ) -> list[Outcome]:
        """Handle ``batch`` in one transaction: keys already in the inbox (or twice in the batch)
        are duplicates; the others get their inbox row and run their handler.

        When a handler raises, the transaction is rolled back, that message is settled as a
        failure (retry or dead letter, exactly as on its own) and the rest of the batch runs
        again without it. When a concurrent worker commits one of the keys first, the batch
        runs once more and finds it in the inbox. Any other failure at commit rolls back the
        batch and its messages are handled one by one."""
        started = time.perf_counter()
        try:
            with store_errors():
                done = self.ledger.handled(
                    (event.tenantid, consumer.name, event.key) for _d, consumer, event in batch
                )
                outcomes, culprit = self._run_together(batch, done)
        except KeyRace:
            if again:
                # another worker committed one of these keys meanwhile: the second pass finds
                # it in the inbox and treats it as the duplicate it is
                return self._handle_together(batch, again=False)
            return self._one_by_one(batch, "a key was taken twice by concurrent writers")
        except StoreOutage as error:
            log.warning("store unreachable committing a batch of %d: %s", len(batch), error)
            for d, consumer, event in batch:
                self._settle(d, Outcome.RETURNED, consumer.name, event.type, 0.0)
            time.sleep(self.outage_pause)
            return [Outcome.RETURNED] * len(batch)
        except Exception as error:
            return self._one_by_one(batch, f"{type(error).__name__}: {error}")
        if culprit is not None:  # rolled back on closing the session
            index, failure = culprit
            settled = self._settle_culprit(batch[index], failure)
            rest = [*batch[:index], *batch[index + 1 :]]
            outcomes = self._handle_together(rest, again=again) if rest else []
            return [*outcomes[:index], settled, *outcomes[index:]]
        self.on_commit()
        each = (time.perf_counter() - started) / len(batch)
        for (d, consumer, event), outcome in zip(batch, outcomes, strict=True):
            self._settle(d, outcome, consumer.name, event.type, each)
        return outcomes

    def _run_together(
        self, batch: list[tuple[Delivery, Consumer, CloudEvent]], done: set[tuple[str, str, str]]
    ) -> tuple[list[Outcome], tuple[int, Exception] | None]:
        """Run ``batch``'s handlers in one transaction and commit it; stop (rolling back) at
        the first handler that fails, and name it. The store's own errors propagate."""
        outcomes: list[Outcome] = []
        session = self.uow.sessions()
        try:
            session.begin()
            defer_appends(session)  # inbox and outbox rows: one insert each at the end
            read_ahead(session)  # the rows the handlers look up: one query per table
            self._read_ahead(
                session, [(c, e) for _d, c, e in batch if (e.tenantid, c.name, e.key) not in done]
            )
            for _d, consumer, event in batch:
                key = (event.tenantid, consumer.name, event.key)
                if key in done:
                    outcomes.append(Outcome.DUPLICATE)
                    continue
                done.add(key)
                append(session, InboxEntry, inbox_row(consumer.name, event, self.uow.clock.now()))
                try:
                    with (
                        log_context(
                            event_id=event.id, correlation_id=event.chain, consumer=consumer.name
                        ),
                        handling_span(consumer.name, consumer.queue, event),
                    ):
                        consumer.handlers[event.type](
                            event, UnitOfWork(session, Cause.of(event), self.uow.clock)
                        )
                except Exception as error:
                    if classify(error) is not None:
                        raise
                    return outcomes, (len(outcomes), error)
                outcomes.append(Outcome.HANDLED)
            write_appends(session)
            session.commit()
            return outcomes, None
        finally:
            session.close()

    @staticmethod
    def _read_ahead(session: Session, todo: list[tuple[Consumer, CloudEvent]]) -> None:
        """Let each consumer read ahead for its messages of the batch, one call per event type.
        A read-ahead that raises fails the batch's transaction like any store error: its
        messages are then handled one by one, where nothing reads ahead."""
        groups: dict[tuple[str, str], tuple[Consumer, list[CloudEvent]]] = {}
        for consumer, event in todo:
            if event.type in consumer.read_aheads:
                groups.setdefault((consumer.name, event.type), (consumer, []))[1].append(event)
        for (_name, event_type), (consumer, events) in groups.items():
            consumer.read_aheads[event_type](events, session)

    def _one_by_one(
        self, batch: list[tuple[Delivery, Consumer, CloudEvent]], why: str
    ) -> list[Outcome]:
        log.info(
            "a batch of %d was rolled back (%s); handling its messages one by one", len(batch), why
        )
        return [self(d) for d, _, _ in batch]

    def _settle_culprit(
        self, item: tuple[Delivery, Consumer, CloudEvent], error: Exception
    ) -> Outcome:
        """Settle a message whose handler raised inside a batch, as if it had been alone."""
        d, consumer, event = item
        started = time.perf_counter()
        try:
            with log_context(event_id=event.id, correlation_id=event.chain, consumer=consumer.name):
                outcome = self._settle_failure(
                    d, consumer.name, _int(d.headers.get(ATTEMPT), 1), consumer, error
                )
        except StoreOutage:
            outcome = Outcome.RETURNED
        return self._settle(d, outcome, consumer.name, event.type, time.perf_counter() - started)

    def _process(self, d: Delivery) -> tuple[Outcome, str, str]:
        if d.queue == POISON_QUEUE:
            return self._from_poison_queue(d)
        consumer = self.consumers.get(d.queue)
        name = consumer.name if consumer else d.queue.removeprefix("hub.")
        attempt = _int(d.headers.get(ATTEMPT), 1)
        peek_type = self._peek(d.body, d.headers).get("type") or "?"
        redelivered = d.delivery_count > 1
        try:
            if redelivered:
                started = self._count_start(name, d)
                if started > self.delivery_limit:
                    raise PermanentError(
                        f"handling started {started} times after redelivery without being "
                        "settled: the worker died handling it (poison message)"
                    )
            if consumer is None:
                raise PermanentError(f"no consumer reads queue {d.queue!r}")
            event = decode(structured(d.body, d.headers, d.content_type, self.limits), self.limits)
            handler = consumer.handlers.get(event.type)
            if handler is None:
                raise PermanentError(
                    f"consumer {consumer.name!r} has no handler for {event.type!r}"
                )
            if event.tenantid not in self.tenants:
                raise UnknownTenant(
                    f"unknown tenant {event.tenantid!r}: provision it first "
                    f"(hub tenants create {event.tenantid} ...), then replay"
                )
            with (
                handling_span(consumer.name, d.queue, event),
                self.uow.handling(consumer.name, event) as uow,
            ):
                handler(event, uow)
            self.on_commit()
            _log(logging.DEBUG, "handled", name, event)
            if redelivered:
                self._forget_starts(name, d)
            return Outcome.HANDLED, event.type, name
        except Duplicate:
            log.debug("duplicate skipped by %s: %s", name, self._label(d))
            if redelivered:  # handled before: no sign of a poison message
                self._forget_starts(name, d)
            return Outcome.DUPLICATE, peek_type, name
        except Exception as error:
            if classify(error) is StoreOutage:
                log.warning(
                    "store unreachable while %s handled %s: %s", name, self._label(d), error
                )
                return Outcome.RETURNED, peek_type, name
            try:
                outcome = self._settle_failure(d, name, attempt, consumer, error)
                if redelivered:
                    self._forget_starts(name, d)
            except StoreOutage as e:
                log.warning("store unreachable recording the failure of %s: %s", self._label(d), e)
                return Outcome.RETURNED, peek_type, name
            return outcome, peek_type, name

    def _settle_failure(
        self, d: Delivery, name: str, attempt: int, consumer: Consumer | None, error: Exception
    ) -> Outcome:
        policy = (consumer.retry if consumer else None) or self.default_retry
        permanent = isinstance(error, PermanentError)
        if permanent or policy.gives_up_after(attempt):
            self._dead_letter(d, name, attempt, error)
            log.warning(
                "dead-lettered %s for %s after %d attempt(s): %s: %s",
                self._label(d),
                name,
                attempt,
                type(error).__name__,
                error,
            )
            return Outcome.DEAD
        delay = policy.delay(attempt)
        self._schedule_retry(d, attempt, delay, error)
        log.info(
            "retrying %s for %s in %.1fs (attempt %d failed: %s: %s)",
            self._label(d),
            name,
            delay,
            attempt,
            type(error).__name__,
            error,
        )
        return Outcome.RETRY

    def _count_start(self, consumer: str, d: Delivery) -> int:
        """Record that handling of a redelivered message starts; return how many times it has
        (recorded first, so a worker that dies next still leaves the count behind)."""
        return self.ledger.count_start(consumer, _message_key(d), self.uow.clock.now())

    def _forget_starts(self, consumer: str, d: Delivery) -> None:
        try:
            self.ledger.forget_starts(consumer, _message_key(d))
        except StoreOutage:
            pass  # a stale count only matters if the message comes back, and it is settled

    def _owner(self, meta: dict[str, Any]) -> str:
        with store_errors():
            return self.tenants.owner_of(meta)

    def _schedule_retry(self, d: Delivery, attempt: int, delay: float, error: Exception) -> None:
        now = self.uow.clock.now()
        headers = _clean(d.headers)
        headers[ATTEMPT] = attempt + 1
        headers.setdefault(FIRST_FAILURE, now.isoformat())
        headers[LAST_ERROR] = f"{type(error).__name__}: {error}"[:500]
        meta = self._peek(d.body, d.headers)
        self.ledger.schedule_retry(
            Retry(
                tenant_id=self._owner(meta),
                queue=d.queue,
                event_id=d.message_id or meta.get("id") or "?",
                event_type=meta.get("type") or "?",
                subject=meta.get("subject"),
                headers=headers,
                body=d.body,
                correlation_id=meta.get("correlationid") or meta.get("id"),
                causation_id=meta.get("causationid"),
                created_at=now,
                available_at=now + timedelta(seconds=delay),
            )
        )
        self.on_commit()

    def _dead_letter(self, d: Delivery, name: str, attempt: int, error: Exception) -> None:
        now = self.uow.clock.now()
        meta = self._peek(d.body, d.headers)
        body, marks = stored_body(d.body, error)  # a message too large: its first bytes
        unless: Sameness = None
        if d.delivery_count > 1:  # dead-lettered before the worker could settle it (a crash)
            unless = "body"
        elif isinstance(error, InvalidMessage) and d.message_id:
            # a producer that resends what the broker did not confirm (a node lost) sends the
            # same invalid bytes again: they are in the dead-letter store once
            unless = "body-and-id"
        stored = self.ledger.dead_letter(
            Letter(
                tenant_id=self._owner(meta),
                consumer=name,
                queue=d.queue,
                event_id=d.message_id or meta.get("id"),
                event_type=meta.get("type"),
                correlation_id=meta.get("correlationid") or meta.get("id"),
                body=body,
                headers={**_clean(d.headers, keep_attempts=True), **marks},
                error_type=type(error).__name__,
                error_message=str(error) or repr(error),
                traceback="".join(
                    traceback.format_exception(type(error), error, error.__traceback__)
                ),
                attempts=attempt,
                first_failed_at=_parse_time(d.headers.get(FIRST_FAILURE)) or now,
                last_failed_at=now,
            ),
            unless=unless,
        )
        if not stored:
            log.info("%s is in the dead-letter store already", self._label(d))

    def _from_poison_queue(self, d: Delivery) -> tuple[Outcome, str, str]:
        """RabbitMQ dead-lettered a message past the queue's delivery limit."""
        origin = str(d.headers.get("x-first-death-queue") or "hub.unknown")
        name = origin.removeprefix("hub.")
        error = PermanentError(
            f"RabbitMQ's delivery limit on {origin} was exceeded: the worker died handling it"
        )
        original = Delivery(
            origin,
            d.routing_key,
            d.body,
            d.headers,
            d.message_id,
            d.delivery_count,
            d.ack,
            d.requeue,
        )
        try:
            self._dead_letter(original, name, _int(d.headers.get(ATTEMPT), 1), error)
        except StoreOutage:
            return Outcome.RETURNED, "?", name
        return Outcome.DEAD, self._peek(d.body, d.headers).get("type") or "?", name

    def _peek(self, body: bytes, headers: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return _peek(body, headers, self.limits)

    def _label(self, d: Delivery) -> str:
        """How log lines name a message: its id, else its event id, else a hash of its bytes."""
        return (
            d.message_id
            or self._peek(d.body, d.headers).get("id")
            or "sha256:" + hashlib.sha256(d.body).hexdigest()[:16]
        )


def _message_key(d: Delivery) -> str:
    if d.message_id:
        return f"{d.message_id}:{_int(d.headers.get(ATTEMPT), 1)}"
    return "sha256:" + hashlib.sha256(d.body).hexdigest()


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


_PEEKED = ("id", "type", "subject", "correlationid", "causationid", "tenantid")


def _peek(
    body: bytes, headers: Mapping[str, Any] | None = None, limits: Limits = DEFAULT_LIMITS
) -> dict[str, Any]:
    """Best-effort attributes of a message that may not be valid, for operators' views
    (none of a message beyond ``limits``); binary content mode's from its headers."""
    binary = binary_attributes(headers or {})
    if binary is not None:
        return {k: v for k, v in binary.items() if k in _PEEKED and isinstance(v, str)}
    try:
        obj = load_json(body, limits)
    except InvalidMessage:
        return {}
    if not isinstance(obj, dict):
        return {}
    return {k: v for k, v in obj.items() if k in _PEEKED and isinstance(v, str)}


def _clean(headers: Mapping[str, Any], keep_attempts: bool = False) -> dict[str, Any]:
    out = {k: _jsonable(v) for k, v in headers.items() if k not in _BROKER_HEADERS}
    if not keep_attempts:
        out.pop(ATTEMPT, None)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _log(level: int, what: str, consumer: str, event: CloudEvent) -> None:
    log.log(
        level,
        "%s %s by %s",
        what,
        event.type,
        consumer,
        extra={"event_id": event.id, "correlation_id": event.chain, "consumer": consumer},
    )
