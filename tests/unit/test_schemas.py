"""The contract's schemas: every type decodes, every malformed input is one InvalidMessage."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from schemas import EVENT_DATA, EVENT_MODELS, CloudEvent, InvalidMessage, decode, json_schemas
from schemas.events import EXTENSIONS
from schemas.examples import EXAMPLE_DATA, example_event
from schemas.generate import JSON_DIR, render

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "CONTRACT.md"


def test_every_contract_type_has_a_model_and_a_schema_file() -> None:
    files = {p.name for p in JSON_DIR.glob("*.json")}
    assert files == {f"{t}.json" for t in EVENT_DATA} | {"cloudevent.json"}


@pytest.mark.skipif(not CONTRACT.exists(), reason="the shared contract is not beside the project")
def test_models_cover_the_contract_and_every_extra_type_is_a_declared_extension() -> None:
    text = CONTRACT.read_text()
    in_contract = set(
        re.findall(r"^\| `([a-z]+\.[a-z.-]+)`(?: / `([a-z]+\.[a-z.-]+)`)? \|", text, re.M)
    )
    types = {t for pair in in_contract for t in pair if t}
    assert types <= set(EVENT_DATA), f"contract types without a model: {types - set(EVENT_DATA)}"
    assert set(EVENT_DATA) - types == EXTENSIONS
    assert not EXTENSIONS & types, "an extension that the contract now lists is no extension"


@pytest.mark.parametrize("name", sorted(json_schemas()))
def test_schema_file_matches_its_model(name: str) -> None:
    on_disk = (JSON_DIR / name).read_text()
    assert on_disk == render(json_schemas()[name]), (
        f"schemas/json/{name} drifted from its model: run `make schemas`"
    )


@pytest.mark.parametrize("event_type", sorted(EVENT_DATA))
def test_each_example_decodes_to_its_typed_model(event_type: str) -> None:
    event = decode(json.dumps(example_event(event_type)).encode())
    assert type(event) is EVENT_MODELS[event_type]
    assert event.type == event_type
    # round trip: what we emit, we accept, unchanged
    assert decode(event.to_json()) == event


def test_money_is_decimal_and_serialised_as_a_string() -> None:
    event = decode(example_event("finance.agreement.pending"))
    assert event.data.amount == Decimal("1500.00")
    assert json.loads(event.to_json())["data"]["amount"] == "1500.00"


def test_extra_data_fields_are_kept() -> None:
    raw = example_event("finance.agreement.cancelled")
    raw["data"] = {**raw["data"], "operator": "joe"}
    assert json.loads(decode(raw).to_json())["data"]["operator"] == "joe"


def test_idempotency_key_defaults_to_source_and_id() -> None:
    event = decode(example_event("finance.agreement.cancelled"))
    assert event.key == "urn:example:erp#finance.agreement.cancelled-example-1"
    keyed = decode(example_event("finance.agreement.cancelled", idempotencykey="k-1"))
    assert keyed.key == "k-1"


def test_unknown_types_are_checked_against_the_envelope_only() -> None:
    raw = example_event("finance.agreement.cancelled", type="erp.something.else")
    raw["data"] = {"anything": 1}
    event = decode(raw)
    assert type(event) is CloudEvent


BAD = {
    "not utf-8": (b"\xff\xfe\x00", "not UTF-8"),
    "not json": (b"{nope", "not JSON"),
    "json array": (b"[1, 2]", "not a CloudEvent object"),
    "not a cloudevent": (b'{"hello": "world"}', "specversion"),
    "wrong specversion": (
        json.dumps(example_event("finance.agreement.cancelled", specversion="0.3")).encode(),
        "specversion",
    ),
    "naive time": (
        json.dumps(
            example_event("finance.agreement.cancelled", time="2026-01-01T00:00:00")
        ).encode(),
        "time",
    ),
    "missing subject": (
        json.dumps(
            {k: v for k, v in example_event("crm.ticket.cancelled").items() if k != "subject"}
        ).encode(),
        "subject",
    ),
    "data breaks schema": (
        json.dumps(example_event("finance.agreement.pending", data={"agreement_id": "A"})).encode(),
        "data.template",
    ),
    "float money": (
        json.dumps(
            example_event(
                "finance.debt.upserted",
                data={**EXAMPLE_DATA["finance.debt.upserted"], "open_amount": 10.5},
            )
        ).encode(),
        "data.open_amount",
    ),
    "bad extension name": (
        json.dumps(example_event("crm.ticket.cancelled", **{"Bad-Name": "x"})).encode(),
        "extension attribute",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_input_is_one_invalid_message_saying_what_is_wrong(case: str) -> None:
    body, expected = BAD[case]
    with pytest.raises(InvalidMessage) as info:
        decode(body)
    assert expected in str(info.value)
    assert info.value.problems


def test_all_schema_problems_are_listed_at_once() -> None:
    raw = example_event("edu.request.created", data={"request_id": "R"})
    with pytest.raises(InvalidMessage) as info:
        decode(raw)
    fields = {p.split(":")[0] for p in info.value.problems}
    assert {"data.ticket_type", "data.student", "data.requested_at"} <= fields
