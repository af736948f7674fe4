"""Interoperability with the CloudEvents SDK from PyPI, both ways, in structured JSON mode."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cloudevents.core.bindings import amqp
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as SdkEvent

from schemas import CONTENT_TYPE, EVENT_DATA, decode
from schemas.examples import EXAMPLE_DATA, example_event


@pytest.mark.parametrize("event_type", sorted(EVENT_DATA))
def test_the_sdk_parses_what_we_emit(event_type: str) -> None:
    ours = decode(example_event(event_type, correlationid="corr-1", causationid="cause-1"))
    message = amqp.AMQPMessage(
        properties={"content-type": CONTENT_TYPE},
        application_properties={},
        application_data=ours.to_json(),
    )
    theirs = amqp.from_structured(message, JSONFormat())
    assert theirs.get_type() == event_type
    assert theirs.get_id() == ours.id
    assert theirs.get_subject() == ours.subject
    assert theirs.get_time() == ours.time
    assert theirs.get_extension("correlationid") == "corr-1"
    assert theirs.get_extension("causationid") == "cause-1"
    assert theirs.get_data() == ours.to_dict()["data"]


@pytest.mark.parametrize("event_type", sorted(EVENT_DATA))
def test_we_accept_what_the_sdk_emits(event_type: str) -> None:
    sdk_event = SdkEvent(
        attributes={
            "id": "sdk-1",
            "source": "urn:sdk",
            "type": event_type,
            "time": datetime(2026, 11, 20, 14, 0, tzinfo=UTC),
            "subject": "S-1",
            "datacontenttype": "application/json",
            "tenantid": "acme",
            "idempotencykey": "key-1",
        },
        data=EXAMPLE_DATA[event_type],
    )
    message = amqp.to_structured(sdk_event, JSONFormat())
    assert message.properties["content-type"] == CONTENT_TYPE
    ours = decode(message.application_data)
    assert ours.type == event_type
    assert ours.id == "sdk-1"
    assert ours.tenantid == "acme"
    assert ours.key == "key-1"
    assert ours.time == datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
