"""``deploy/kafka`` stays in step with the contract and the code: every event type and every
consumer's retry topic is created, with replication, and the example settings load."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from consumers import ALL
from hub.runtime.transports.kafka.options import KafkaOptions
from hub.runtime.transports.kafka.topology import (
    MEMBERS_TOPIC,
    POSITIONS_TOPIC,
    TOPOLOGY_TOPIC,
    changelog_topic,
    view_topic,
)
from hub.settings import load_settings
from schemas import EVENT_DATA

KAFKA = Path(__file__).resolve().parents[2] / "deploy" / "kafka"


def created_topics(tmp_path: Path, **env: str) -> dict[str, list[str]]:
    """Run create-topics.sh with a stand-in kafka-topics.sh; return topic -> its arguments."""
    calls = tmp_path / "calls"
    fake = tmp_path / "kafka-topics.sh"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {shlex.quote(str(calls))}\n')
    fake.chmod(0o755)
    subprocess.run(
        ["sh", str(KAFKA / "create-topics.sh")],
        env={**os.environ, "BOOTSTRAP": "k1:9092", "KAFKA_TOPICS": str(fake), **env},
        check=True,
        capture_output=True,
        timeout=30,
    )
    out: dict[str, list[str]] = {}
    for line in calls.read_text().splitlines():
        args = line.split()
        out[args[args.index("--topic") + 1]] = args
    return out


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_every_contract_event_type_and_every_consumer_topic_is_created(tmp_path: Path) -> None:
    topics = created_topics(tmp_path)
    assert set(EVENT_DATA) <= set(topics)
    for consumer in ALL:
        for name in (consumer.queue, view_topic(consumer.queue), changelog_topic(consumer.queue)):
            assert name in topics, name
    for name in (TOPOLOGY_TOPIC, POSITIONS_TOPIC, MEMBERS_TOPIC):
        assert "cleanup.policy=compact" in topics[name]
    for args in topics.values():
        assert "--create" in args and "--if-not-exists" in args
        assert option(args, "--bootstrap-server") == "k1:9092"
        assert option(args, "--replication-factor") == "3"
        assert "min.insync.replicas=2" in args
    # a view table's changelog is partitioned like the topic it is built from
    for consumer in ALL:
        view = topics[view_topic(consumer.queue)]
        assert option(topics[changelog_topic(consumer.queue)], "--partitions") == option(
            view, "--partitions"
        )


def test_partitions_and_replication_can_be_chosen(tmp_path: Path) -> None:
    topics = created_topics(tmp_path, PARTITIONS="12", REPLICATION="5")
    assert option(topics["finance.agreement.pending"], "--partitions") == "12"
    assert option(topics[TOPOLOGY_TOPIC], "--partitions") == "1"
    assert {option(a, "--replication-factor") for a in topics.values()} == {"5"}


def test_the_script_refuses_to_run_without_bootstrap_servers() -> None:
    env = {k: v for k, v in os.environ.items() if k != "BOOTSTRAP"}
    done = subprocess.run(
        ["sh", str(KAFKA / "create-topics.sh")], env=env, capture_output=True, timeout=30
    )
    assert done.returncode != 0
    assert b"BOOTSTRAP" in done.stderr


def test_the_kafka_settings_example_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SETTINGS_FILE", str(KAFKA / "hub.toml.example"))
    s = load_settings()
    assert s.broker_url and s.broker_url.startswith("kafka://")
    options = KafkaOptions.parse(s.broker_url)
    assert len(options.brokers) == 3
    assert options.declare is False
    assert options.extra == {}  # every option in the example is one the transport knows
    assert s.effective_database_url.startswith("postgresql+psycopg://")


def test_the_client_settings_keep_acks_all_and_idempotence() -> None:
    props = dict(
        line.split("=", 1)
        for line in (KAFKA / "client.properties").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert props["acks"] == "all"
    assert props["enable.idempotence"] == "true"
    assert props["enable.auto.commit"] == "false"
