"""Kafka: one topic per event type, a retry topic per hub consumer, consumer groups as queues.

Mapping of the port's addressing (see ``docs/kafka.md``):

- publish to ``hub.events`` with routing key = event type -> topic named as the type; the
  message key is the event ``subject`` (``Outgoing.key``), so one business object's events
  stay in order on one partition; the value is the structured CloudEvent, unchanged;
- publish to the direct exchange ``""`` with routing key = a queue ``hub.<consumer>`` -> the
  topic of that name, the consumer's **retry topic**: delayed retries and dead-letter replays
  reach only the consumer that failed;
- a queue is a consumer group named as the queue, subscribed to the topics of its bindings
  (AMQP-style ``*``/``#`` patterns are matched against the existing topics when the group
  starts) and to its retry topic. Like a new RabbitMQ queue, a new group gets what is published
  after ``setup``: the end offsets of its partitions are committed for it then. Bindings are
  kept in the compacted topic ``hub.topology`` (key = queue), so that every process
  (``hub publish``, ``hub queues``, a second worker) sees the same topology, as RabbitMQ keeps
  bindings in the broker.

Headers travel as Kafka headers (values JSON-encoded, so ``x-hub-attempt`` stays an integer),
plus ``content-type`` and ``message-id`` (the event id). The producer waits for every delivery
report with ``acks=all`` and idempotence on. Consumption runs faust agents
(``kafka_agents``).

URL: ``kafka://host:port[,host:port][?option=value...]``; options: ``partitions`` and
``replication`` (for topics ``setup`` creates), ``declare=0`` (do not create topics with the
admin API but let the broker auto-create them on first use, as librdkafka's mock cluster,
which has no CreateTopics, needs), ``session_timeout`` / ``rebalance_timeout`` /
``heartbeat`` (seconds, consumer group tuning), ``commit_interval`` (seconds),
``fetch_max_wait`` (seconds a fetch may wait for data; the mock cluster always waits it out).
Any other option is a librdkafka setting for the producer and admin clients; the security
ones (``security.protocol``, ``sasl.*``, ``ssl.*``) are given to the faust consumers too.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from confluent_kafka import Consumer as RawConsumer
from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from hub.errors import TransientError
from hub.runtime.transport import (
    DIRECT,
    EVENTS_EXCHANGE,
    ConsumesInBatches,
    Delivery,
    Outgoing,
    PartitionLag,
    QueueStats,
    Unroutable,
    topic_matches,
)
from schemas import CONTENT_TYPE, EVENT_DATA

log = logging.getLogger(__name__)

TOPOLOGY_TOPIC = "hub.topology"
POSITIONS_TOPIC = "hub.positions"
MEMBERS_TOPIC = "hub.members"
#: Seconds between a running group member's presence records, and after which one is stale.
PRESENCE_EVERY = 5.0
PRESENCE_STALE = 3 * PRESENCE_EVERY
MESSAGE_ID = "message-id"
WILDCARDS = ("*", "#")
PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class KafkaOptions:
    brokers: tuple[str, ...]
    partitions: int = 3
    replication: int | None = None  # default: min(3, brokers in the cluster)
    session_timeout: float = 30.0
    rebalance_timeout: float = 60.0
    heartbeat: float = 3.0
    commit_interval: float = 1.0
    fetch_max_wait: float | None = None  # seconds; default faust's 1.5
    declare: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def protocol(self) -> str:
        return self.extra.get("security.protocol", "PLAINTEXT").upper()

    @property
    def mechanism(self) -> str:
        return (
            self.extra.get("sasl.mechanism") or self.extra.get("sasl.mechanisms") or "PLAIN"
        ).upper()

    @property
    def bootstrap(self) -> str:
        return ",".join(self.brokers)

    def client(self, **config: Any) -> dict[str, Any]:
        """librdkafka settings: the bootstrap servers, the URL's other options (e.g.
        ``security.protocol``), then ``config``."""
        return {"bootstrap.servers": self.bootstrap, **self.extra, **config}

    @classmethod
    def parse(cls, url: str) -> KafkaOptions:
        rest = url.split("://", 1)[1]
        hosts, _, query = rest.partition("?")
        brokers = tuple(h.strip().rstrip("/") for h in hosts.split(",") if h.strip())
        if not brokers:
            raise ValueError(f"no broker in {url!r}")
        opts = dict(parse_qsl(query))
        known = {
            "partitions": int,
            "replication": int,
            "session_timeout": float,
            "rebalance_timeout": float,
            "heartbeat": float,
            "commit_interval": float,
            "fetch_max_wait": float,
            "declare": lambda v: v.lower() not in {"0", "false", "no"},
        }
        values: dict[str, Any] = {
            k: conv(opts.pop(k))  # type: ignore[operator]
            for k, conv in known.items()
            if k in opts
        }
        options = cls(brokers, **values, extra=opts)
        if options.protocol not in PROTOCOLS:
            raise ValueError(
                f"security.protocol {options.protocol!r} is not one of {', '.join(PROTOCOLS)}"
            )
        if options.protocol.startswith("SASL_"):
            if options.mechanism not in MECHANISMS:
                raise ValueError(
                    f"sasl.mechanism {options.mechanism!r} is not one of {', '.join(MECHANISMS)}"
                )
            if not opts.get("sasl.username") or "sasl.password" not in opts:
                raise ValueError(f"{options.protocol} needs sasl.username and sasl.password")
        return options


#: The Kafka binding's header prefix for CloudEvents attributes (binary content mode).
BINARY_PREFIX = "ce_"


def encode_headers(headers: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    return [(k, json.dumps(v).encode()) for k, v in headers.items()]


def decode_headers(
    raw: Sequence[tuple[str, bytes | None]] | Mapping[str, bytes | None] | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pairs = raw.items() if isinstance(raw, Mapping) else raw or ()
    for k, v in pairs:
        if v is None:
            out[k] = None
            continue
        if k.startswith(BINARY_PREFIX):
            # CloudEvents binary mode: the binding's headers are plain UTF-8 text, not JSON
            out[k] = v.decode("utf-8", "replace")
            continue
        try:
            out[k] = json.loads(v)
        except (ValueError, UnicodeDecodeError):
            out[k] = v.decode("utf-8", "replace")
    return out


class KafkaTransport(ConsumesInBatches):
    def __init__(self, url: str, *, publish_timeout: float = 30.0) -> None:
        self.url = url
        self.options = KafkaOptions.parse(url)
        self.publish_timeout = publish_timeout
        self._lock = threading.Lock()
        self._producer: Producer | None = None
        self._topology: dict[str, list[str]] = {}

    # --- topology --------------------------------------------------------------------------

    def setup(self, bindings: Mapping[str, Sequence[str]]) -> None:
        from hub.runtime.transports.kafka_view import changelog_topic, view_topic

        topics = {TOPOLOGY_TOPIC: 1, POSITIONS_TOPIC: 1, MEMBERS_TOPIC: 1}
        if self.options.declare:  # the contract's types too: the hub publishes the outbound ones
            topics.update(dict.fromkeys(EVENT_DATA, self.options.partitions))
        for queue, patterns in bindings.items():
            topics[queue] = self.options.partitions
            topics[view_topic(queue)] = self.options.partitions
            topics[changelog_topic(queue)] = self.options.partitions
            for p in patterns:
                if not any(w in p.split(".") for w in WILDCARDS):
                    topics[p] = self.options.partitions
        self.create_topics(topics)
        changed = {q: sorted(set(p)) for q, p in bindings.items()}
        known = self.topology()
        merged = {q: sorted(set(known.get(q, [])) | set(p)) for q, p in changed.items()}
        self._produce(
            [
                (TOPOLOGY_TOPIC, q, json.dumps({"patterns": p}).encode(), [])
                for q, p in merged.items()
                if known.get(q) != p
            ]
        )
        self._topology.update(merged)
        for queue in bindings:
            self._start_at_end(queue)

    def _start_at_end(self, queue: str) -> None:
        """Make a new group start at the current end of its topics, as a new RabbitMQ queue gets
        only what is published after it is bound: commit the end offset of every partition the
        group has no offset for. A running group has its own offsets and refuses the commit."""
        try:
            with self._group_partitions(queue) as (consumer, tps):
                missing = [tp for tp in consumer.committed(tps, timeout=10) if tp.offset < 0]
                if missing:
                    ends = [
                        TopicPartition(
                            tp.topic,
                            tp.partition,
                            consumer.get_watermark_offsets(tp, timeout=10, cached=False)[1],
                        )
                        for tp in missing
                    ]
                    consumer.commit(offsets=ends, asynchronous=False)
        except KafkaException as e:
            log.info("group %s keeps its start offsets: %s", queue, e)

    @contextmanager
    def _group_partitions(self, queue: str) -> Iterator[tuple[RawConsumer, list[TopicPartition]]]:
        """A client of the consumer group ``queue`` (it commits nothing by itself) and the
        partitions of the queue's topics that exist."""
        consumer = RawConsumer(
            self.options.client(**{"group.id": queue, "enable.auto.commit": False})
        )
        try:
            metadata = consumer.list_topics(timeout=10)
            yield (
                consumer,
                [
                    TopicPartition(t, p)
                    for t in self.topics_of(queue)
                    if t in metadata.topics
                    for p in sorted(metadata.topics[t].partitions)
                ],
            )
        finally:
            consumer.close()

    def declare_queue(self, queue: str, patterns: Sequence[str]) -> None:
        self.setup({queue: patterns})

    def create_topics(self, topics: Mapping[str, int]) -> None:
        """Create missing topics (name -> partitions); compacted for the hub's own metadata.
        With ``declare=0``, ask for their metadata instead, which auto-creates them."""
        if not self.options.declare:
            producer = self._get_producer()
            try:
                for name in topics:
                    producer.list_topics(name, timeout=10)
            except KafkaException as e:
                raise TransientError(f"Kafka unavailable: {e}") from None
            return
        admin = AdminClient(self.options.client())
        try:
            metadata = admin.list_topics(timeout=10)
        except KafkaException as e:
            raise TransientError(f"Kafka unavailable: {e}") from None
        existing = set(metadata.topics)
        replication = self.options.replication or min(3, len(metadata.brokers))
        new = [
            NewTopic(
                name,
                num_partitions=n,
                replication_factor=replication,
                config=(
                    {"cleanup.policy": "compact"}
                    if name in (TOPOLOGY_TOPIC, POSITIONS_TOPIC, MEMBERS_TOPIC)
                    or name.endswith("-changelog")
                    else {}
                ),
            )
            for name, n in topics.items()
            if name not in existing
        ]
        if not new:
            return
        for name, future in admin.create_topics(new, operation_timeout=10).items():
            try:
                future.result(15)
            except KafkaException as e:
                if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise TransientError(f"Kafka refused topic {name}: {e}") from None

    def topology(self) -> dict[str, list[str]]:
        """Queue -> binding patterns, read from ``hub.topology`` (last value per queue wins)."""
        found: dict[str, list[str]] = {}
        for key, value in read_topic(self.options, TOPOLOGY_TOPIC):
            if value is None:
                found.pop(key, None)
            else:
                found[key] = list(json.loads(value)["patterns"])
        return found

    def bindings_of(self, queue: str) -> list[str]:
        if queue not in self._topology:
            self._topology.update(self.topology())
        return self._topology.get(queue, [])

    def topics_of(self, queue: str) -> list[str]:
        """The topics a queue reads: its retry topic, its bound types, and the existing topics
        its wildcard bindings match (resolved now: faust cannot subscribe by pattern, so a
        group picks up a new matching topic when it starts again)."""
        patterns = self.bindings_of(queue)
        topics = {queue, *(p for p in patterns if not _wild(p))}
        wild = [p for p in patterns if _wild(p)]
        if wild:
            try:
                existing = self._get_producer().list_topics(timeout=10).topics
            except KafkaException as e:
                raise TransientError(f"Kafka unavailable: {e}") from None
            topics |= {t for t in existing if any(topic_matches(p, t) for p in wild)}
        return sorted(topics)

    # --- publish ---------------------------------------------------------------------------

    def publish(self, messages: Sequence[Outgoing], *, mandatory: bool = False) -> None:
        records = []
        for m in messages:
            topic = self._topic_for(m, mandatory)
            headers = [
                ("content-type", json.dumps(CONTENT_TYPE).encode()),
                (MESSAGE_ID, json.dumps(m.message_id).encode()),
                *encode_headers(m.headers),
            ]
            records.append((topic, m.key, m.body, headers))
        self._produce(records)

    def _topic_for(self, m: Outgoing, mandatory: bool) -> str:
        if m.exchange == DIRECT:
            if mandatory and not self.bindings_of(m.routing_key):
                self._topology.update(self.topology())
                if m.routing_key not in self._topology:
                    raise Unroutable(f"no queue named {m.routing_key!r}")
            return m.routing_key
        if m.exchange != EVENTS_EXCHANGE:
            raise Unroutable(f"unknown exchange {m.exchange!r}")
        if mandatory and not self._routed(m.routing_key):
            raise Unroutable(f"no queue is bound to {m.routing_key!r}")
        return m.routing_key

    def _routed(self, routing_key: str) -> bool:
        def any_bound() -> bool:
            return any(
                topic_matches(p, routing_key) for pats in self._topology.values() for p in pats
            )

        if any_bound():
            return True
        self._topology.update(self.topology())
        return any_bound()

    def _produce(self, records: Sequence[tuple[str, str | None, bytes | None, list[Any]]]) -> None:
        if not records:
            return
        errors: list[str] = []

        def report(err: KafkaError | None, _msg: Any) -> None:
            if err is not None:
                errors.append(str(err))

        with self._lock:
            producer = self._get_producer()
            try:
                for topic, key, value, headers in records:
                    while True:
                        try:
                            producer.produce(
                                topic,
                                value=value,
                                key=key.encode() if key is not None else None,
                                headers=headers,
                                on_delivery=report,
                            )
                            break
                        except BufferError:  # the local queue is full: let it drain
                            producer.poll(0.1)
                left = producer.flush(self.publish_timeout)
            except KafkaException as e:
                raise TransientError(f"Kafka publish failed: {e}") from None
        if left:
            raise TransientError(f"Kafka did not confirm {left} message(s) in time")
        if errors:
            raise TransientError(f"Kafka refused {len(errors)} message(s): {errors[0]}")

    def _get_producer(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(
                self.options.client(
                    **{
                        "acks": "all",
                        "enable.idempotence": True,
                        "linger.ms": 2,
                        "message.timeout.ms": int(self.publish_timeout * 1000),
                    }
                )
            )
        return self._producer

    def mark_positions(self, group: str, positions: Mapping[tuple[str, int], int]) -> None:
        """Record the highest offset handed to the runtime per partition (redelivery marks)."""
        self._produce(
            [
                (POSITIONS_TOPIC, f"{group}/{t}/{p}", str(offset).encode(), [])
                for (t, p), offset in positions.items()
            ]
        )

    def announce(self, group: str, member: str, *, alive: bool) -> None:
        """Record that ``member`` of ``group`` is running (``alive``) or has left."""
        value = json.dumps({"at": time.time()}).encode() if alive else None
        self._produce([(MEMBERS_TOPIC, f"{group}/{member}", value, [])])

    # --- consume ---------------------------------------------------------------------------

    def consume_batches(
        self,
        queues: Sequence[str],
        on_batch: Callable[[list[Delivery]], object],
        *,
        prefetch: int,
        max_batch: int,
        stop: threading.Event,
    ) -> None:
        from hub.runtime.transports.kafka_agents import run_groups

        run_groups(self, list(queues), on_batch, max(1, max_batch), prefetch, stop)

    # --- operator views --------------------------------------------------------------------

    def partition_lag(self, queue: str) -> list[PartitionLag]:
        try:
            with self._group_partitions(queue) as (consumer, tps):
                committed = consumer.committed(tps, timeout=10) if tps else []
                out = []
                for tp in committed:
                    low, high = consumer.get_watermark_offsets(tp, timeout=10, cached=False)
                    start = tp.offset if tp.offset >= 0 else low
                    out.append(PartitionLag(tp.topic, tp.partition, max(0, high - start), high))
                return out
        except KafkaException as e:
            raise TransientError(f"Kafka unavailable: {e}") from None

    def stats(self, queues: Sequence[str]) -> list[QueueStats]:
        members = self._group_members(queues)
        out = []
        for q in queues:
            lags = self.partition_lag(q)
            out.append(
                QueueStats(q, sum(p.lag for p in lags), members.get(q), partitions=tuple(lags))
            )
        return out

    def _group_members(self, groups: Sequence[str]) -> dict[str, int]:
        """Members per consumer group: from the broker (DescribeGroups), or, where the broker
        lacks it (the mock cluster), from the members' recent presence records."""
        if not groups:
            return {}
        admin = AdminClient(self.options.client())
        try:
            return {
                group: len(future.result(10).members)
                for group, future in admin.describe_consumer_groups(list(groups)).items()
            }
        except KafkaException as e:
            log.debug("DescribeGroups failed (%s); counting presence records", e)
        latest: dict[str, float | None] = {}
        for key, value in read_topic(self.options, MEMBERS_TOPIC):
            latest[key] = json.loads(value)["at"] if value else None
        fresh = time.time() - PRESENCE_STALE
        counts = dict.fromkeys(groups, 0)
        for key, at in latest.items():
            group = key.rsplit("/", 1)[0]
            if group in counts and at is not None and at >= fresh:
                counts[group] += 1
        return counts

    def ping(self) -> None:
        admin = AdminClient(self.options.client())
        try:
            admin.list_topics(timeout=5)
        except KafkaException as e:
            raise TransientError(f"Kafka unavailable: {e}") from None

    def close(self) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.flush(5)


def _wild(pattern: str) -> bool:
    return any(w in pattern.split(".") for w in WILDCARDS)


def read_topic(
    options: KafkaOptions, topic: str, timeout: float = 10.0
) -> list[tuple[str, bytes | None]]:
    """Every (key, value) of ``topic`` from the beginning up to its current end."""
    consumer = RawConsumer(
        options.client(
            **{"group.id": "hub.reader", "enable.auto.commit": False, "enable.partition.eof": True}
        )
    )
    out: list[tuple[str, bytes | None]] = []
    try:
        metadata = consumer.list_topics(topic, timeout=timeout)
        info = metadata.topics.get(topic)
        if info is None or info.error is not None:
            return out
        tps, remaining = [], set()
        for p in info.partitions:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, p), timeout=timeout, cached=False
            )
            if high > low:
                tps.append(TopicPartition(topic, p, low))
                remaining.add(p)
        if not tps:
            return out
        consumer.assign(tps)
        deadline = time.monotonic() + timeout
        while remaining and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            error = msg.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    remaining.discard(msg.partition())
                continue
            key = msg.key()
            out.append((key.decode() if key else "", msg.value()))
        return out
    except KafkaException as e:
        raise TransientError(f"Kafka unavailable: {e}") from None
    finally:
        consumer.close()
