"""A Kafka-protocol broker inside the test process: librdkafka's mock cluster."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

#: The mock cluster has no CreateTopics (``declare=0``: topics are auto-created) and answers a
#: fetch only when its wait is over (``fetch_max_wait``); consumer group
#: timings short enough for tests (a killed worker's partitions move on after
#: ``session_timeout`` seconds).
TEST_OPTIONS = "declare=0&fetch_max_wait=0.05&session_timeout=6&heartbeat=1&rebalance_timeout=10&commit_interval=0.5"


@contextmanager
def mock_kafka_cluster() -> Iterator[str]:
    """A one-broker cluster alive while the context is; yields its ``kafka://`` URL. It is a
    real TCP listener, so ``hub`` processes started meanwhile can use it too."""
    from confluent_kafka import Producer

    cluster = Producer({"test.mock.num.brokers": 1, "log_level": 3})
    broker = next(iter(cluster.list_topics(timeout=10).brokers.values()))
    try:
        yield f"kafka://{broker.host}:{broker.port}?{TEST_OPTIONS}"
    finally:
        cluster.flush(1)
        del cluster
