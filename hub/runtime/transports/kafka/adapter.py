"""``KafkaTransport``: the port's addressing on topics and consumer groups (see the package)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from confluent_kafka import Consumer as RawConsumer
from confluent_kafka import KafkaError, KafkaException, TopicPartition
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
from hub.runtime.transports.kafka.groups import run_groups
from hub.runtime.transports.kafka.options import KafkaOptions
from hub.runtime.transports.kafka.producer import Record, RecordProducer
from hub.runtime.transports.kafka.topology import (
    MEMBERS_TOPIC,
    MESSAGE_ID,
    POSITIONS_TOPIC,
    PRESENCE_STALE,
    TOPOLOGY_TOPIC,
    changelog_topic,
    encode_headers,
    read_topic,
    view_topic,
    wild,
)
from schemas import CONTENT_TYPE, EVENT_DATA

log = logging.getLogger(__name__)


class KafkaTransport(ConsumesInBatches):
    def __init__(self, url: str, *, publish_timeout: float = 30.0) -> None:
        self.url = url
        self.options = KafkaOptions.parse(url)
        self.publish_timeout = publish_timeout
        self._producer = RecordProducer(self.options, publish_timeout)
        self._topology: dict[str, list[str]] = {}

    # --- topology --------------------------------------------------------------------------

    def setup(self, bindings: Mapping[str, Sequence[str]]) -> None:
        topics = {TOPOLOGY_TOPIC: 1, POSITIONS_TOPIC: 1, MEMBERS_TOPIC: 1}
        if self.options.declare:  # the contract's types too: the hub publishes the outbound ones
            topics.update(dict.fromkeys(EVENT_DATA, self.options.partitions))
        for queue, patterns in bindings.items():
            topics[queue] = self.options.partitions
            topics[view_topic(queue)] = self.options.partitions
            topics[changelog_topic(queue)] = self.options.partitions
            for p in patterns:
                if not wild(p):
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
            producer = self._producer.client()
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
        topics = {queue, *(p for p in patterns if not wild(p))}
        wildcards = [p for p in patterns if wild(p)]
        if wildcards:
            try:
                existing = self._producer.client().list_topics(timeout=10).topics
            except KafkaException as e:
                raise TransientError(f"Kafka unavailable: {e}") from None
            topics |= {t for t in existing if any(topic_matches(p, t) for p in wildcards)}
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

    def _produce(self, records: Sequence[Record]) -> None:
        self._producer.produce(records)

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
        self._producer.close()
