"""An in-process broker with the contract's semantics, for unit tests and demos in one process."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from hub.runtime.transport import (
    DIRECT,
    EVENTS_EXCHANGE,
    ConsumesInBatches,
    Delivery,
    Outgoing,
    QueueStats,
    Unroutable,
    topic_matches,
)


@dataclass
class _Stored:
    tag: int
    message: Outgoing
    enqueued_at: float
    delivery_count: int = 0


class MemoryTransport(ConsumesInBatches):
    """Thread-safe queues in memory. ``named`` shares one broker per URL within a process."""

    _brokers: ClassVar[dict[str, MemoryTransport]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queues: dict[str, deque[_Stored]] = {}
        self._bindings: dict[str, set[str]] = {}
        self._unacked: dict[int, tuple[str, _Stored]] = {}
        self._consumers: dict[str, int] = {}
        self._tags = itertools.count(1)
        self.published: list[Outgoing] = []  # every message ever published, for assertions

    @classmethod
    def named(cls, url: str) -> MemoryTransport:
        with cls._registry_lock:
            return cls._brokers.setdefault(url, cls())

    def setup(self, bindings: Mapping[str, Sequence[str]]) -> None:
        with self._cond:
            for queue, types in bindings.items():
                self._queues.setdefault(queue, deque())
                self._bindings.setdefault(queue, set()).update(types)

    def declare_queue(self, queue: str, patterns: Sequence[str]) -> None:
        self.setup({queue: patterns})

    def publish(self, messages: Sequence[Outgoing], *, mandatory: bool = False) -> None:
        with self._cond:
            for m in messages:
                targets = self._route(m)
                if not targets and mandatory:
                    raise Unroutable(f"no queue is bound to {m.routing_key!r}")
                self.published.append(m)
                for q in targets:
                    self._queues[q].append(_Stored(next(self._tags), m, time.monotonic()))
            self._cond.notify_all()

    def _route(self, m: Outgoing) -> list[str]:
        if m.exchange == DIRECT:
            return [m.routing_key] if m.routing_key in self._queues else []
        if m.exchange != EVENTS_EXCHANGE:
            return []
        return [
            q
            for q, pats in self._bindings.items()
            if any(topic_matches(p, m.routing_key) for p in pats)
        ]

    def consume_batches(
        self,
        queues: Sequence[str],
        on_batch: Callable[[list[Delivery]], object],
        *,
        prefetch: int,
        max_batch: int,
        stop: threading.Event,
    ) -> None:
        with self._cond:
            for q in queues:
                self._queues.setdefault(q, deque())
                self._consumers[q] = self._consumers.get(q, 0) + 1
        try:
            while not stop.is_set():
                batch: list[Delivery] = []
                while len(batch) < max(1, min(max_batch, prefetch)):
                    got = self._take(queues)
                    if got is None:
                        break
                    batch.append(self._delivery(*got))
                if not batch:
                    with self._cond:
                        self._cond.wait(0.05)
                    continue
                on_batch(batch)
        finally:
            with self._cond:
                for q in queues:
                    self._consumers[q] -= 1

    def _take(self, queues: Sequence[str]) -> tuple[str, _Stored] | None:
        with self._cond:
            for q in queues:
                if self._queues[q]:
                    stored = self._queues[q].popleft()
                    stored.delivery_count += 1
                    self._unacked[stored.tag] = (q, stored)
                    return q, stored
        return None

    def _delivery(self, queue: str, stored: _Stored) -> Delivery:
        def ack() -> None:
            with self._cond:
                self._unacked.pop(stored.tag, None)

        def requeue() -> None:
            with self._cond:
                if self._unacked.pop(stored.tag, None) is not None:
                    self._queues[queue].appendleft(stored)
                    self._cond.notify_all()

        m = stored.message
        return Delivery(
            queue=queue,
            routing_key=m.routing_key,
            body=m.body,
            headers=dict(m.headers),
            message_id=m.message_id,
            delivery_count=stored.delivery_count,
            ack=ack,
            requeue=requeue,
        )

    def crash(self) -> None:
        """Return every unacknowledged message to its queue, as a broker does when a consumer's
        connection dies."""
        with self._cond:
            for queue, stored in self._unacked.values():
                self._queues[queue].appendleft(stored)
            self._unacked.clear()
            self._cond.notify_all()

    def stats(self, queues: Sequence[str]) -> list[QueueStats]:
        now = time.monotonic()
        with self._cond:
            out = []
            for q in queues:
                items = self._queues.get(q, deque())
                in_flight = sum(1 for name, _ in self._unacked.values() if name == q)
                oldest = now - items[0].enqueued_at if items else None
                out.append(QueueStats(q, len(items), self._consumers.get(q, 0), in_flight, oldest))
            return out

    def messages(self, queue: str) -> list[Any]:
        with self._cond:
            return [s.message for s in self._queues.get(queue, deque())]

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None
