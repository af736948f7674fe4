"""Bad input, generated: the decoder and the configuration loader accept every valid generated
input and refuse each targeted mutation with its reason; they never crash; a consumer fed
garbage dead-letters it and keeps going. The checks themselves are shown to fail against a
decoder and a loader that refuse, or accept, everything. ``make fuzz`` runs the same checks on
100,000 and more inputs (``tests/fuzz.py``)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.errors import ConfigurationError
from hub.settings import Settings
from hub.workflow.config import WorkflowConfig, parse
from schemas import CloudEvent, InvalidMessage, decode
from tests.support import fuzzing
from tests.support.fuzzing import (
    ConfigMutation,
    Mutation,
    check_accepted,
    check_config_accepted,
    check_config_refused,
    check_refused,
)
from tests.support.harness import item_event, running_hub, wait_until

QUICK = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@QUICK
@given(fuzzing.valid_events())
def test_every_valid_generated_event_is_accepted(event: dict[str, Any]) -> None:
    check_accepted(event)


@settings(QUICK, max_examples=300)
@given(fuzzing.mutations())
def test_each_targeted_mutation_of_an_event_is_refused_with_its_reason(m: Mutation) -> None:
    check_refused(m)


@settings(QUICK, max_examples=80)
@given(fuzzing.valid_configs())
def test_every_valid_generated_configuration_is_accepted(raw: dict[str, Any]) -> None:
    check_config_accepted(raw)


@settings(QUICK, max_examples=120)
@given(fuzzing.config_mutations())
def test_each_targeted_mutation_of_a_configuration_is_refused_with_its_reason(
    m: ConfigMutation,
) -> None:
    check_config_refused(m)


# --- the checks can fail --------------------------------------------------------------------


def _refuses_everything(body: bytes, *_: Any) -> CloudEvent:
    raise InvalidMessage("refused")


def _accepts_everything(body: bytes, *_: Any) -> CloudEvent:
    return CloudEvent.model_construct(type="x", id="x", subject="x", source="x")


def _loader_refusing(text: str) -> WorkflowConfig:
    raise ConfigurationError("refused")


def _loader_accepting(text: str) -> WorkflowConfig:
    return WorkflowConfig()


@settings(QUICK, max_examples=25)
@given(fuzzing.valid_events(), fuzzing.mutations())
def test_the_event_checks_fail_against_a_decoder_that_refuses_or_accepts_everything(
    event: dict[str, Any], m: Mutation
) -> None:
    with pytest.raises(AssertionError, match="was refused"):
        check_accepted(event, _refuses_everything)
    with pytest.raises(AssertionError, match="accepted"):
        check_refused(m, _accepts_everything)
    with pytest.raises(AssertionError, match="refused"):
        check_refused(m, _refuses_everything)  # refused, but not for the reason


@settings(QUICK, max_examples=15)
@given(fuzzing.valid_configs(), fuzzing.config_mutations())
def test_the_configuration_checks_fail_against_a_loader_that_refuses_or_accepts_everything(
    raw: dict[str, Any], m: ConfigMutation
) -> None:
    with pytest.raises(AssertionError, match="was refused"):
        check_config_accepted(raw, _loader_refusing)
    with pytest.raises(AssertionError, match="types lost or invented"):
        check_config_accepted(raw, _loader_accepting)
    with pytest.raises(AssertionError, match="accepted"):
        check_config_refused(m, _loader_accepting)
    with pytest.raises(AssertionError, match="refused for"):
        check_config_refused(m, _loader_refusing)


# --- never a crash ----------------------------------------------------------------------------


def _decodes_or_refuses(body: bytes | str | dict[str, Any]) -> None:
    try:
        decode(body)
    except InvalidMessage as e:
        assert str(e), "a refusal must say what is wrong"


@settings(QUICK, max_examples=300)
@given(st.binary(max_size=300))
def test_any_bytes_decode_or_are_refused_with_a_reason(body: bytes) -> None:
    _decodes_or_refuses(body)


@settings(QUICK, max_examples=300)
@given(fuzzing.JSON_VALUE)
def test_any_json_value_decodes_or_is_refused(value: Any) -> None:
    _decodes_or_refuses(json.dumps(value, allow_nan=True))


@settings(QUICK, max_examples=200)
@given(st.text(max_size=200))
def test_any_yaml_text_is_read_or_refused(text: str) -> None:
    try:
        fuzzing.load_text(text)
    except ConfigurationError as e:
        assert e.problems and all(isinstance(p, str) and p for p in e.problems)
    except Exception as e:  # the YAML parser's own refusal is fine, nothing else is
        import yaml

        assert isinstance(e, yaml.YAMLError), e


@pytest.mark.parametrize("text", ["?", "? \nticket_types: {}\n", "ticket_types:\n  ? \n"])
def test_a_key_that_is_not_a_string_is_a_problem_like_any_other(text: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        fuzzing.load_text(text)
    assert any("None" in p for p in refused.value.problems), refused.value.problems


def test_a_configuration_that_is_not_a_mapping_is_one_problem() -> None:
    with pytest.raises(ConfigurationError) as refused:
        parse(["not", "a", "mapping"])
    assert refused.value.problems == ["(top level): expected a mapping of sections"]


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.binary(max_size=120) | fuzzing.JSON_VALUE.map(json.dumps), min_size=1, max_size=25)
)
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
