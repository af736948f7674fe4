"""``hub queues`` on Kafka: lag per partition and the streaming view, from another process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.runtime.transports import transport_for
from hub.runtime.transports.kafka import KafkaTransport
from tests.integration.test_kafka_transport import consuming, message
from tests.support.harness import wait_until
from tests.support.kafka import mock_kafka_cluster
from tests.support.ledger import ITEM
from tests.support.process import hub_env, run_cli

pytestmark = pytest.mark.timeout(120)


def test_hub_queues_shows_lag_per_partition_and_the_streaming_view(tmp_path: Path) -> None:
    with mock_kafka_cluster() as url:
        kafka = transport_for(url)
        assert isinstance(kafka, KafkaTransport)
        kafka.setup({"hub.ledger": [ITEM]})
        kafka.publish([message(f"L-{i}") for i in range(5)])
        env = hub_env(
            {"broker_url": url, "database_url": f"sqlite:///{tmp_path / 'hub.sqlite'}"},
            HUB_CONSUMERS="tests.support.ledger:consumer",
        )

        before = json.loads(run_cli(env, "queues", "--json").stdout)
        [queue] = before["queues"]
        assert queue["depth"] == 5
        assert sum(p["lag"] for p in queue["partitions"]) == 5
        assert before["stream"] == []

        with consuming(kafka, "hub.ledger") as seen:
            wait_until(lambda: len(seen) == 5, timeout=30, what="5 deliveries")

            def view_counts() -> int:
                out = json.loads(run_cli(env, "queues", "--json").stdout)
                return sum(w["settled"] for w in out["stream"] if w["event_type"] == ITEM)

            wait_until(lambda: view_counts() == 5, timeout=30, what="the view to count 5")
        kafka.close()

        after = json.loads(run_cli(env, "queues", "--json").stdout)
        assert after["queues"][0]["depth"] == 0
        windows = after["stream"]  # one, or two if the minute turned meanwhile
        assert {w["consumer"] for w in windows} == {"hub.ledger"}
        assert sum(w["settled"] for w in windows) == 5
        assert sum(w["returned"] for w in windows) == 0
        text = run_cli(env, "queues")
        assert text.returncode == 0, text.stderr
        for heading in ("lag", "streaming view", "hub.ledger", ITEM):
            assert heading in text.stdout
