"""An event sent in CloudEvents binary mode by the SDK, on RabbitMQ and on Kafka, opens a
ticket; a binary message that cannot be read is dead-lettered as it came (body and headers)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cloudevents.core.bindings import amqp, kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as SdkEvent

from producers.finance_simulator import pending_event
from tests.conftest import _tier
from tests.integration.test_finance_agreements import finance_hub
from tests.support.harness import wait_until


@pytest.fixture(params=["production", "kafka"])
def binary_tier(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    with _tier(request.param, tmp_path) as urls:
        yield urls


def _sdk(event: dict[str, Any]) -> SdkEvent:
    attributes = {k: v for k, v in event.items() if k != "data"}
    attributes["time"] = datetime.fromisoformat(attributes["time"])
    return SdkEvent(attributes=attributes, data=event["data"])


def send_binary(broker_url: str, event: dict[str, Any], *, body: bytes | None = None) -> bytes:
    """Publish ``event`` in binary mode as the SDK's binding lays it out; ``body`` replaces the
    data (to send one that cannot be read). Returns the body sent."""
    if broker_url.startswith("amqp"):
        import pika

        from producers.publisher import connection_parameters

        message = amqp.to_binary(_sdk(event), JSONFormat())
        sent = message.application_data if body is None else body
        conn = pika.BlockingConnection(connection_parameters(broker_url))
        channel = conn.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            "hub.events",
            event["type"],
            sent,
            pika.BasicProperties(
                content_type=message.properties["content-type"],
                headers=message.application_properties,
                delivery_mode=2,
            ),
        )
        conn.close()
        return sent
    from confluent_kafka import Producer

    record = kafka.to_binary(_sdk(event), JSONFormat())
    sent = record.value if body is None else body
    producer = Producer({"bootstrap.servers": urlsplit(broker_url).netloc})
    producer.produce(event["type"], value=sent, key=record.key, headers=list(record.headers.items()))
    assert producer.flush(10) == 0
    return sent


@pytest.mark.timeout(90)
def test_an_event_sent_in_binary_mode_by_the_sdk_opens_a_ticket(
    binary_tier: dict[str, str], tmp_path: Path
) -> None:
    with finance_hub(binary_tier, tmp_path) as f:
        event = pending_event("AG-BIN-1", key="binary-1")
        send_binary(binary_tier["broker_url"], event)
        ticket = f.ticket("AG-BIN-1")
        assert ticket.origin_id == "AG-BIN-1"
        # the same event again, now in structured mode: the inbox knows its key
        f.sim.publish(event)
        f.handled(2)
        assert len(f.tickets("AG-BIN-1")) == 1


@pytest.mark.timeout(90)
def test_an_unreadable_binary_message_is_dead_lettered_with_its_own_body_and_headers(
    binary_tier: dict[str, str], tmp_path: Path
) -> None:
    with finance_hub(binary_tier, tmp_path) as f:
        event = pending_event("AG-BIN-2")
        sent = send_binary(binary_tier["broker_url"], event, body=b"{half a json")
        wait_until(lambda: len(f.dead_letters()) == 1, what="the dead letter")
        (letter,) = f.dead_letters()
        assert bytes(letter.body) == sent
        assert letter.error_type == "InvalidMessage"
        assert "binary mode: body is not JSON" in letter.error_message
        assert letter.event_type == "finance.agreement.pending"
        assert letter.event_id == event["id"]
        prefix = "cloudEvents_" if binary_tier["broker_url"].startswith("amqp") else "ce_"
        assert letter.headers[f"{prefix}type"] == "finance.agreement.pending"
        assert letter.headers[f"{prefix}subject"] == event["subject"]
