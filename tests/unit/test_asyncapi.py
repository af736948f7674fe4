"""The AsyncAPI 3.0 document: generated from the models, not drifted, valid against the official
AsyncAPI 3.0 JSON Schema (vendored from the ``@asyncapi/specs`` npm package), and true to the
contract's topology."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from schemas import EVENT_DATA, INBOUND, OUTBOUND
from schemas.asyncapi import document
from schemas.examples import example_event
from schemas.generate import ASYNCAPI_FILE, render

OFFICIAL = Path(__file__).resolve().parents[1] / "vendor" / "asyncapi" / "3.0.0.json"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return json.loads(ASYNCAPI_FILE.read_text())


def test_the_checked_in_document_has_not_drifted_from_the_models() -> None:
    assert ASYNCAPI_FILE.read_text() == render(document()), (
        "schemas/asyncapi.json drifted from the models: run `make schemas`"
    )


def test_the_document_is_valid_asyncapi_3(doc: dict[str, Any]) -> None:
    official = json.loads(OFFICIAL.read_text())
    errors = sorted(Draft7Validator(official).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}"[:300] for e in errors[:10])


def test_the_validator_can_fail() -> None:
    official = json.loads(OFFICIAL.read_text())
    broken = json.loads(render(document()))
    broken["operations"]["receive.amqp.finance.agreement.pending"]["action"] = "publish"
    del broken["info"]["version"]
    assert len(list(Draft7Validator(official).iter_errors(broken))) >= 2


def test_each_type_has_a_message_two_channels_and_the_hubs_operation(doc: dict[str, Any]) -> None:
    messages = {m["name"] for m in doc["components"]["messages"].values()}
    assert messages == set(EVENT_DATA)
    for event_type in EVENT_DATA:
        amqp = doc["channels"][f"amqp.{event_type}"]
        assert amqp["address"] == event_type
        assert amqp["bindings"]["amqp"]["exchange"]["name"] == "hub.events"
        assert amqp["bindings"]["amqp"]["exchange"]["type"] == "topic"
        assert doc["channels"][f"kafka.{event_type}"]["bindings"]["kafka"]["topic"] == event_type
        action = "receive" if event_type in INBOUND else "send"
        for broker in ("amqp", "kafka"):
            op = doc["operations"][f"{action}.{broker}.{event_type}"]
            assert op["action"] == action
            assert op["channel"]["$ref"] == f"#/channels/{broker}.{event_type}"
    assert {k.split(".", 2)[2] for k in doc["operations"] if k.startswith("send.")} == OUTBOUND


@pytest.mark.parametrize("event_type", sorted(EVENT_DATA))
def test_each_example_event_matches_its_message_payload(
    doc: dict[str, Any], event_type: str
) -> None:
    message = next(m for m in doc["components"]["messages"].values() if m["name"] == event_type)
    schema = {**message["payload"], "components": doc["components"]}
    validator = Draft202012Validator(schema)
    assert not list(validator.iter_errors(example_event(event_type)))
    broken = example_event(event_type)
    del broken["subject"]
    assert list(validator.iter_errors(broken)), "a payload schema that accepts anything"
