"""Bad input, generated: the decoder and the configuration loader refuse with a message and never
crash; a consumer fed garbage dead-letters it and keeps going."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.errors import ConfigurationError
from hub.settings import Settings
from hub.workflow.config import parse
from hub.workflow.loader import DEMO_CONFIG, read_raw
from schemas import EVENT_DATA, InvalidMessage, decode
from schemas.examples import example_event
from tests.support.harness import item_event, running_hub, wait_until

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _decodes_or_refuses(body: bytes | str | dict[str, Any]) -> None:
    try:
        decode(body)
    except InvalidMessage as e:
        assert str(e), "a refusal must say what is wrong"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_decode_or_are_refused_with_a_reason(body: bytes) -> None:
    _decodes_or_refuses(body)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value_decodes_or_is_refused(value: Any) -> None:
    _decodes_or_refuses(json.dumps(value, allow_nan=True))


EXAMPLES = {t: example_event(t) for t in EVENT_DATA}


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(EVENT_DATA)), st.data())
def test_mutated_contract_events_decode_or_are_refused(
    event_type: str, data: st.DataObject
) -> None:
    event = copy.deepcopy(EXAMPLES[event_type])
    target = (
        event
        if data.draw(st.booleans()) or not isinstance(event.get("data"), dict)
        else event["data"]
    )
    key = data.draw(st.sampled_from(sorted(target)) | st.text(max_size=10))
    if data.draw(st.booleans()):
        target.pop(key, None)
    else:
        target[key] = data.draw(json_values)
    _decodes_or_refuses(json.dumps(event, allow_nan=True).encode())


def test_deeply_nested_json_is_refused_not_a_crash() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    _decodes_or_refuses(deep)
    _decodes_or_refuses('{"specversion": "1.0", "data": ' + deep + "}")


DEMO = read_raw(DEMO_CONFIG)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*prefix, i)))
    return out


DEMO_PATHS = _paths(DEMO)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(DEMO_PATHS), st.booleans(), json_values), max_size=4))
def test_a_mutated_configuration_loads_or_is_refused_with_every_problem(
    mutations: list[tuple[tuple[Any, ...], bool, Any]],
) -> None:
    raw = copy.deepcopy(DEMO)
    for path, delete, value in mutations:
        parent: Any = raw
        try:
            for step in path[:-1]:
                parent = parent[step]
            if delete:
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    try:
        parse(raw)
    except ConfigurationError as e:
        assert e.problems and all(isinstance(p, str) and p for p in e.problems)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=200))
def test_any_yaml_text_is_read_or_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / f"{uuid.uuid4().hex}.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        parse(read_raw(path))
    except ConfigurationError as e:
        assert e.problems


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.binary(max_size=120) | json_values.map(json.dumps), min_size=1, max_size=25))
def test_a_consumer_fed_garbage_dead_letters_it_and_keeps_going(
    tmp_path: Path, bodies: list[bytes | str]
) -> None:
    raw = [b if isinstance(b, bytes) else b.encode() for b in bodies]
    invalid = 0
    for body in raw:
        try:
            decode(body)
        except InvalidMessage:
            invalid += 1
    settings_ = Settings(
        broker_url=f"memory://{uuid.uuid4().hex}",
        database_url=f"sqlite:///{tmp_path / uuid.uuid4().hex}.sqlite",
    )
    with running_hub(settings_) as hub:
        hub.publish(*raw)
        wait_until(lambda: len(hub.dead_letters()) >= invalid, what="garbage dead-lettered")
        item = f"after-{uuid.uuid4().hex[:6]}"
        hub.publish(item_event(item))
        wait_until(lambda: hub.effects(item) == 1, what="the next valid event handled")
        letters = hub.dead_letters()
    assert len(letters) == invalid
    assert all(letter.error_message for letter in letters)
