"""The transport port: what the runtime needs from a broker, and nothing more.

Adapters: ``transports.amqp`` (RabbitMQ through kombu), ``transports.sql`` (the embedded broker
on SQLite or PostgreSQL), ``transports.kafka`` (Kafka through faust agents),
``transports.memory`` (in-process, for unit tests).

Topology (the contract's): one durable topic exchange ``hub.events``, routing key = event type;
each hub consumer owns a durable queue ``hub.<consumer>`` bound to the types it handles. A
message published to the default exchange ``""`` goes straight to the queue named by its routing
key (retries and replays reach only the consumer that failed).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

EVENTS_EXCHANGE = "hub.events"
DIRECT = ""
POISON_QUEUE = "hub.poison"


def queue_name(consumer: str) -> str:
    return f"hub.{consumer}"


@dataclass(frozen=True)
class Outgoing:
    """A message to publish. ``exchange`` is ``hub.events`` or ``""`` (direct to a queue)."""

    exchange: str
    routing_key: str
    body: bytes
    message_id: str
    headers: Mapping[str, Any] = field(default_factory=dict)
    key: str | None = None  # partition key (the event subject) where the transport has one


@dataclass
class Delivery:
    """A message handed to the runtime. Exactly one of ``ack``/``requeue`` must be called."""

    queue: str
    routing_key: str
    body: bytes
    headers: dict[str, Any]
    message_id: str | None
    delivery_count: int  # 1 on the first delivery; more after a crash or a requeue
    ack: Callable[[], None]
    requeue: Callable[[], None]
    #: The message's content type where the broker carries one (binary content mode: the
    #: type of ``data``); ``None`` otherwise.
    content_type: str | None = None


@dataclass(frozen=True)
class PartitionLag:
    """A consumer group's lag on one partition (Kafka): messages after its committed offset."""

    topic: str
    partition: int
    lag: int
    end_offset: int


@dataclass(frozen=True)
class QueueStats:
    name: str
    depth: int
    consumers: int | None = None
    in_flight: int | None = None
    oldest_age: float | None = None  # seconds, where the broker can tell
    partitions: tuple[PartitionLag, ...] = ()  # per-partition lag, where the broker has them


class Unroutable(Exception):
    """A mandatory publish found no queue bound to its routing key."""


class Transport(Protocol):
    """A broker connection factory. Implementations reconnect by themselves; methods raise
    ``hub.errors.TransientError`` when the broker cannot be reached after retries."""

    def setup(self, bindings: Mapping[str, Sequence[str]]) -> None:
        """Declare the exchange, each queue of ``bindings`` (queue -> event types) and its
        bindings, idempotently."""
        ...

    def publish(self, messages: Sequence[Outgoing], *, mandatory: bool = False) -> None:
        """Publish and wait until the broker has taken responsibility for every message
        (publisher confirms). Raises ``Unroutable`` for a mandatory message no queue takes."""
        ...

    def consume(
        self,
        queues: Sequence[str],
        on_message: Callable[[Delivery], object],
        *,
        prefetch: int,
        stop: threading.Event,
    ) -> None:
        """Deliver messages from ``queues`` to ``on_message`` (in this thread) until ``stop`` is
        set, then return unprocessed prefetched messages to their queues."""
        ...

    def consume_batches(
        self,
        queues: Sequence[str],
        on_batch: Callable[[list[Delivery]], object],
        *,
        prefetch: int,
        max_batch: int,
        stop: threading.Event,
    ) -> None:
        """Like ``consume``, but hand over what is already waiting (up to ``max_batch``
        messages) at once, so the caller can settle them in one transaction."""
        ...

    def stats(self, queues: Sequence[str]) -> list[QueueStats]: ...

    def ping(self) -> None:
        """Raise ``TransientError`` when the broker does not answer."""
        ...

    def close(self) -> None: ...


class ConsumesInBatches:
    """Gives ``consume`` to an adapter that implements ``consume_batches``."""

    def consume_batches(
        self,
        queues: Sequence[str],
        on_batch: Callable[[list[Delivery]], object],
        *,
        prefetch: int,
        max_batch: int,
        stop: threading.Event,
    ) -> None:
        raise NotImplementedError

    def consume(
        self,
        queues: Sequence[str],
        on_message: Callable[[Delivery], object],
        *,
        prefetch: int,
        stop: threading.Event,
    ) -> None:
        self.consume_batches(
            queues,
            lambda batch: [on_message(d) for d in batch],
            prefetch=prefetch,
            max_batch=1,
            stop=stop,
        )


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: ``*`` is one word, ``#`` zero or more words."""
    return _match(pattern.split("."), routing_key.split("."))


def _match(p: list[str], k: list[str]) -> bool:
    if not p:
        return not k
    head, rest = p[0], p[1:]
    if head == "#":
        return any(_match(rest, k[i:]) for i in range(len(k) + 1))
    if not k:
        return False
    return (head == "*" or head == k[0]) and _match(rest, k[1:])
