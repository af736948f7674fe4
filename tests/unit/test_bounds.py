"""The edge's bounds, on their own: each broken bound is one ``InvalidMessage`` naming it."""

from __future__ import annotations

import copy
import json

import pytest

from schemas import InvalidMessage, decode
from schemas.bounds import Limits, MessageTooLarge, load_json
from schemas.examples import example_event


def test_a_5000_digit_integer_is_an_invalid_message_not_a_bare_value_error() -> None:
    body = json.dumps(example_event("finance.debt.upserted")).replace(
        '"version": 7', '"version": ' + "1" * 5000
    )
    with pytest.raises(InvalidMessage, match="an integer of 5000 digits, more than 30"):
        decode(body)


def test_a_body_over_the_limit_is_too_large_with_its_length_and_hash() -> None:
    body = json.dumps(example_event("finance.agreement.cancelled")).encode()
    with pytest.raises(MessageTooLarge) as refused:
        decode(body, Limits(max_bytes=100))
    assert (refused.value.size, refused.value.limit) == (len(body), 100)
    assert len(refused.value.sha256) == 64
    assert decode(body, Limits(max_bytes=len(body))).type == "finance.agreement.cancelled"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 33 + "]" * 33, "nested deeper than 32 levels"),
        ("[" * 100_000 + "]" * 100_000, "nested deeper than 32 levels"),
        ('{"a": NaN}', "NaN is not JSON"),
        ('{"a": -Infinity}', "-Infinity is not JSON"),
    ],
)
def test_json_beyond_its_bounds_is_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason):
        load_json(text)


@pytest.mark.parametrize("amount", ["1e999999999", "1E5", "+12.00", "12.", "1" * 31, " 12"])
def test_money_is_a_plain_decimal_string_of_bounded_length(amount: str) -> None:
    event = copy.deepcopy(example_event("finance.debt.upserted"))  # the examples are shared
    event["data"]["open_amount"] = amount
    with pytest.raises(InvalidMessage, match="data.open_amount"):
        decode(event)


@pytest.mark.parametrize(
    ("attribute", "length"),
    [("idempotencykey", 201), ("id", 201), ("type", 201), ("subject", 401), ("tenantid", 101)],
)
def test_envelope_attributes_have_the_lengths_the_store_keeps(attribute: str, length: int) -> None:
    event = example_event("finance.debt.upserted", **{attribute: "x" * length})
    with pytest.raises(InvalidMessage, match=f"{attribute}: String should have at most"):
        decode(event)
