"""The names the adapter gives its topics and headers, reading a topic whole, and finding a
partition's next record.

- ``hub.topology`` (compacted, key = queue): a queue's binding patterns;
- ``hub.positions`` (compacted, key = ``group/topic/partition``): the highest offset handed to
  the runtime per partition, the consumer groups' redelivery marks;
- ``hub.members`` (compacted, key = ``group/member``): presence records of running members;
- ``<queue>.view`` and ``<queue>-view-changelog``: a group's streaming view (``view``).

Headers travel as Kafka headers, values JSON-encoded (so ``x-hub-attempt`` stays an integer),
except the CloudEvents binary mode's ``ce_*`` ones, which are plain text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from confluent_kafka import Consumer as RawConsumer
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from hub.errors import TransientError
from hub.runtime.transports.kafka.options import KafkaOptions

TOPOLOGY_TOPIC = "hub.topology"
POSITIONS_TOPIC = "hub.positions"
MEMBERS_TOPIC = "hub.members"
#: Seconds between a running group member's presence records, and after which one is stale.
PRESENCE_EVERY = 5.0
PRESENCE_STALE = 3 * PRESENCE_EVERY
MESSAGE_ID = "message-id"
WILDCARDS = ("*", "#")
#: The faust table of a group's streaming view; its changelog topic is named after it.
VIEW_TABLE = "view"


def wild(pattern: str) -> bool:
    """True when a binding pattern has an AMQP-style wildcard word (``*`` or ``#``)."""
    return any(w in pattern.split(".") for w in WILDCARDS)


def view_topic(queue: str) -> str:
    return f"{queue}.view"


def changelog_topic(queue: str) -> str:
    return f"{queue}-{VIEW_TABLE}-changelog"


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


@contextmanager
def _reader(options: KafkaOptions, **settings: Any) -> Iterator[RawConsumer]:
    """A consumer that reads without committing and reports each partition's end; the
    client's errors come out as ``TransientError``."""
    consumer = RawConsumer(
        options.client(
            **{
                "group.id": "hub.reader",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                **settings,
            }
        )
    )
    try:
        yield consumer
    except KafkaException as e:
        raise TransientError(f"Kafka unavailable: {e}") from None
    finally:
        consumer.close()


def read_topic(
    options: KafkaOptions, topic: str, timeout: float = 10.0
) -> list[tuple[str, bytes | None]]:
    """Every (key, value) of ``topic`` from the beginning up to its current end."""
    out: list[tuple[str, bytes | None]] = []
    with _reader(options) as consumer:
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


def first_record_at(
    options: KafkaOptions, topic: str, partition: int, offset: int, timeout: float = 10.0
) -> int | None:
    """The offset of the first record of ``topic``/``partition`` at or after ``offset``, or None
    when there is none. Offsets between records hold no message (a transaction's marker, a
    record compacted away); the records of aborted transactions count, as consumers that read
    uncommitted data see them."""
    # an offset below the partition's start (retention) reads from the first record kept
    with _reader(
        options, **{"isolation.level": "read_uncommitted", "auto.offset.reset": "earliest"}
    ) as consumer:
        consumer.assign([TopicPartition(topic, partition, offset)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            error = msg.error()
            if error is None:
                found = msg.offset()
                return None if found is None else int(found)
            if error.code() == KafkaError._PARTITION_EOF:
                return None
            raise TransientError(f"Kafka: {error}")
        raise TransientError(f"Kafka: no answer for {topic}/{partition} within {timeout:.0f}s")
