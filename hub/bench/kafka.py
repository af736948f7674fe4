"""The benchmark's Kafka mode: without a ``kafka://`` URL, the hub runs against librdkafka's
mock cluster inside the benchmark process (a real Kafka-protocol broker, but in memory and on
one core: compare with care)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from confluent_kafka import Producer

MOCK_OPTIONS = "declare=0&fetch_max_wait=0.05&session_timeout=6&heartbeat=1&rebalance_timeout=10"


@contextmanager
def kafka_cluster(url: str | None) -> Iterator[str]:
    """``url``, or a mock cluster alive for the duration of the context."""
    if url:
        yield url
        return
    cluster = Producer({"test.mock.num.brokers": 1, "log_level": 3})
    broker = next(iter(cluster.list_topics(timeout=10).brokers.values()))
    try:
        yield f"kafka://{broker.host}:{broker.port}?{MOCK_OPTIONS}"
    finally:
        del cluster
