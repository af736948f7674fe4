"""CloudEvents binary content mode, read with the SDK's own binary converters (AMQP, Kafka)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cloudevents.core.bindings import amqp, kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as SdkEvent

from schemas import EVENT_DATA, InvalidMessage, decode
from schemas.binary import is_binary, structured
from schemas.examples import EXAMPLE_DATA


def sdk_event(event_type: str, **extra: Any) -> SdkEvent:
    return SdkEvent(
        attributes={
            "id": "bin-1",
            "source": "urn:erp:finance",
            "type": event_type,
            "time": datetime(2026, 11, 20, 14, 0, tzinfo=UTC),
            "subject": "S-1",
            "datacontenttype": "application/json",
            "tenantid": "default",
            "idempotencykey": "key-1",
            "correlationid": "corr-1",
            **extra,
        },
        data=EXAMPLE_DATA[event_type],
    )


def amqp_headers(message: amqp.AMQPMessage) -> tuple[dict[str, Any], str | None]:
    """What a RabbitMQ consumer sees of an AMQP binary message: the application properties as
    AMQP 0-9-1 headers and the content-type property."""
    return dict(message.application_properties), message.properties.get("content-type")


@pytest.mark.parametrize("event_type", sorted(EVENT_DATA))
def test_every_contract_type_in_amqp_binary_mode_decodes_as_in_structured_mode(
    event_type: str,
) -> None:
    message = amqp.to_binary(sdk_event(event_type), JSONFormat())
    headers, content_type = amqp_headers(message)
    assert is_binary(headers)
    event = decode(structured(message.application_data, headers, content_type))
    assert (event.type, event.id, event.subject) == (event_type, "bin-1", "S-1")
    assert event.time == datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    assert (event.key, event.chain) == ("key-1", "corr-1")
    assert event.to_dict()["data"] == decode(
        {**json.loads(amqp.to_structured(sdk_event(event_type), JSONFormat()).application_data)}
    ).to_dict()["data"]


@pytest.mark.parametrize("event_type", sorted(EVENT_DATA))
def test_every_contract_type_in_kafka_binary_mode_decodes(event_type: str) -> None:
    message = kafka.to_binary(sdk_event(event_type), JSONFormat())
    headers = {k: v for k, v in message.headers.items() if k != "content-type"}
    content_type = message.headers["content-type"].decode()
    event = decode(structured(message.value, headers, content_type))
    assert (event.type, event.id, event.key) == (event_type, "bin-1", "key-1")
    assert event.time == datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def test_the_colon_prefix_of_the_amqp_binding_is_read_too() -> None:
    message = amqp.to_binary(sdk_event("finance.agreement.cancelled"), JSONFormat())
    headers = {
        k.replace("cloudEvents_", "cloudEvents:"): v
        for k, v in message.application_properties.items()
    }
    event = decode(structured(message.application_data, headers, "application/json"))
    assert event.type == "finance.agreement.cancelled"


def test_a_structured_message_is_left_as_it_is() -> None:
    body = amqp.to_structured(sdk_event("finance.agreement.cancelled"), JSONFormat())
    assert structured(body.application_data, {}, body.properties["content-type"]) is (
        body.application_data
    )
    assert not is_binary({"x-hub-attempt": 2, "cloudEvents_type": "no.specversion"})


def test_a_retried_copy_republished_as_cloudevents_json_still_reads_its_data_as_json() -> None:
    message = amqp.to_binary(sdk_event("finance.agreement.cancelled"), JSONFormat())
    headers, _ = amqp_headers(message)
    event = decode(structured(message.application_data, headers, "application/cloudevents+json"))
    assert event.id == "bin-1"


@pytest.mark.parametrize(
    ("body", "content_type", "headers", "reason"),
    [
        (b"{not json", "application/json", {}, "body is not JSON"),
        (b"hello", "text/plain", {}, "is not JSON"),
        (b"{}", "application/json", {"cloudEvents_time": 10**20}, "out of range"),
        (b"{}", "application/json", {"ce_id": b"\xff\xfe"}, "not UTF-8"),
        (b"{}", "application/json", {"cloudEvents_subject": {"a": 1}}, "is a dict"),
    ],
)
def test_a_binary_message_that_cannot_be_read_is_invalid_with_its_reason(
    body: bytes, content_type: str, headers: dict[str, Any], reason: str
) -> None:
    base = {"cloudEvents_specversion": "1.0", "cloudEvents_type": "finance.agreement.cancelled"}
    with pytest.raises(InvalidMessage, match=reason):
        structured(body, {**base, **headers}, content_type)


def test_a_binary_event_missing_a_required_attribute_is_refused_by_the_envelope() -> None:
    message = amqp.to_binary(sdk_event("finance.agreement.cancelled"), JSONFormat())
    headers, content_type = amqp_headers(message)
    del headers["cloudEvents_subject"]
    with pytest.raises(InvalidMessage, match="subject"):
        decode(structured(message.application_data, headers, content_type))
