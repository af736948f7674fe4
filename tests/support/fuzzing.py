"""Generated input for the decoder and the configuration loader, and the checks that judge it:
every valid input must be accepted, and every targeted mutation refused with its reason.

Shared by the suite (``tests/unit/test_fuzz.py``, a few hundred inputs) and the fuzz run outside
it (``python -m tests.fuzz``, ``make fuzz``, 100,000 and more). The checks take the function
under test as a parameter, so that the suite can show they fail against a decoder or a loader
that refuses, or accepts, everything.
"""

from __future__ import annotations

import copy
import functools
import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import yaml
from annotated_types import Ge, Gt, Le, MaxLen, MinLen
from hypothesis import strategies as st
from pydantic import AwareDatetime, BaseModel, StringConstraints

from hub.errors import ConfigurationError
from hub.workflow.config import WorkflowConfig
from hub.workflow.loader import _load_yaml
from schemas import EVENT_DATA, CloudEvent, InvalidMessage, decode
from schemas.bounds import Limits, MessageTooLarge

Decoder = Callable[[bytes], CloudEvent]
Loader = Callable[[str], WorkflowConfig]

# --- events ---------------------------------------------------------------------------------

TEXT = st.text(
    st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40
)  # any characters but lone surrogates (not UTF-8)
KEY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=200)
JSON_LEAF = st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.text(max_size=20)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
MONEY = st.decimals(
    min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"), places=2
).map(lambda d: format(d, "f"))
WHEN = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.isoformat())
EXTENSION_NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20).filter(
    lambda n: (
        n
        not in {
            "specversion",
            "id",
            "source",
            "type",
            "time",
            "datacontenttype",
            "subject",
            "data",
            "dataschema",
            "tenantid",
            "idempotencykey",
            "correlationid",
            "causationid",
            "traceparent",
        }
    )
)


def _meta(metadata: list[Any], kind: type) -> Any:
    return next((m for m in metadata if isinstance(m, kind)), None)


def _strategy(annotation: Any, metadata: list[Any]) -> st.SearchStrategy[Any]:
    """Valid JSON values for a field of a ``data`` model (from its annotation)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        return _strategy(base, [*metadata, *extra])
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        inner = st.one_of([_strategy(a, metadata) for a in options])
        return st.none() | inner if len(options) < len(typing.get_args(annotation)) else inner
    if origin is typing.Literal:
        return st.sampled_from(typing.get_args(annotation))
    if origin is list:
        (item,) = typing.get_args(annotation)
        low = _meta(metadata, MinLen)
        return st.lists(_strategy(item, []), min_size=low.min_length if low else 0, max_size=3)
    if origin is dict:
        _, value = typing.get_args(annotation)
        values = JSON_VALUE if value is Any else _strategy(value, [])
        return st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=3)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return data_for(annotation)
    if annotation is Decimal:
        return MONEY
    if annotation is AwareDatetime or annotation is datetime:
        return WHEN
    if annotation is date:
        return st.dates(date(2000, 1, 1), date(2099, 12, 31)).map(date.isoformat)
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        ge, gt, le = _meta(metadata, Ge), _meta(metadata, Gt), _meta(metadata, Le)
        low = ge.ge if ge else (gt.gt + 1 if gt else -(10**9))
        return st.integers(low, le.le if le else 10**9)
    if annotation is str:
        pattern = _meta(metadata, StringConstraints)
        if pattern is not None and pattern.pattern:
            return st.from_regex(pattern.pattern, fullmatch=True).filter(lambda s: len(s) <= 100)
        low, high = _meta(metadata, MinLen), _meta(metadata, MaxLen)
        return st.text(
            st.characters(blacklist_categories=("Cs",)),
            min_size=low.min_length if low else 0,
            max_size=min(high.max_length if high else 40, 40),
        )
    return JSON_VALUE


@functools.cache
def data_for(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """Valid ``data`` of ``model``: every required field, some optional ones, and extra fields
    (the contract welcomes them)."""
    fields = {}
    optional = {}
    for name, field in model.model_fields.items():
        strategy = _strategy(field.annotation, list(field.metadata))
        (fields if field.is_required() else optional)[name] = strategy
    extra = st.dictionaries(
        st.text(min_size=1, max_size=8).filter(lambda k: k not in model.model_fields),
        JSON_VALUE,
        max_size=2,
    )
    return st.tuples(st.fixed_dictionaries(fields, optional=optional), extra).map(
        lambda both: {**both[1], **both[0]}
    )


@st.composite
def valid_events(draw: st.DrawFn, event_type: str | None = None) -> dict[str, Any]:
    """A valid structured-mode CloudEvent of a contract type (or of ``event_type``)."""
    kind = event_type or draw(st.sampled_from(sorted(EVENT_DATA)))
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": draw(TEXT),
        "source": draw(TEXT),
        "type": kind,
        "time": draw(WHEN),
        "datacontenttype": "application/json",
        "subject": draw(TEXT),
        "data": draw(data_for(EVENT_DATA[kind])),
    }
    for attr, values in (
        ("tenantid", TEXT),
        ("idempotencykey", KEY_TEXT),
        ("correlationid", TEXT),
        ("causationid", TEXT),
    ):
        if draw(st.booleans()):
            event[attr] = draw(values)
    for name in draw(st.lists(EXTENSION_NAME, max_size=2, unique=True)):
        event[name] = draw(st.text(max_size=20) | st.integers(0, 1000) | st.booleans())
    return event


def body_of(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


def check_accepted(event: dict[str, Any], decoder: Decoder = decode) -> CloudEvent:
    """``event`` decodes, to what it says, and decodes again to the same from its own JSON."""
    try:
        decoded = decoder(body_of(event))
    except InvalidMessage as e:
        raise AssertionError(f"a valid {event['type']} was refused: {e}") from None
    assert (decoded.type, decoded.id, decoded.subject) == (
        event["type"],
        event["id"],
        event["subject"],
    ), "decoded to something else"
    assert decoded.key == event.get("idempotencykey", decoded.key)
    again = decoder(decoded.to_json())
    assert again.to_dict() == decoded.to_dict(), "its own JSON does not decode to the same"
    return decoded


@dataclass(frozen=True)
class Mutation:
    """A valid event made invalid in one targeted way, and the reason it must be refused for."""

    name: str
    body: bytes
    reason: str
    limits: Limits | None = None
    too_large: bool = False


def _required_data_field(event_type: str) -> list[str]:
    return [n for n, f in EVENT_DATA[event_type].model_fields.items() if f.is_required()]


def _money_fields(event_type: str) -> list[str]:
    return [
        n
        for n, f in EVENT_DATA[event_type].model_fields.items()
        if f.annotation is Decimal and f.is_required()
    ]


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    """One targeted mutation of a valid event."""
    event = draw(valid_events())
    kind = event["type"]
    choices = [
        "drop attribute",
        "specversion",
        "drop data field",
        "extension name",
        "long key",
        "huge integer",
        "too deep",
        "too large",
        "truncated",
        "not utf-8",
        "naive time",
        "data not an object",
    ]
    if _money_fields(kind):
        choices.append("money exponent")
    which = draw(st.sampled_from(choices))
    mutated = copy.deepcopy(event)
    if which == "drop attribute":
        attr = draw(st.sampled_from(["id", "source", "time", "subject", "data"]))
        del mutated[attr]
        return Mutation(which, body_of(mutated), f"{attr}: Field required")
    if which == "specversion":
        mutated["specversion"] = draw(st.sampled_from(["0.3", "1", "2.0", "", "1.0 "]))
        return Mutation(which, body_of(mutated), "specversion: Input should be '1.0'")
    if which == "drop data field":
        field = draw(st.sampled_from(_required_data_field(kind)))
        del mutated["data"][field]
        return Mutation(which, body_of(mutated), f"data.{field}: Field required")
    if which == "money exponent":
        field = draw(st.sampled_from(_money_fields(kind)))
        mutated["data"][field] = draw(st.sampled_from(["1e5", "1E-2", "+1.00", "1.", ".5", "NaN"]))
        return Mutation(which, body_of(mutated), f"data.{field}: ")
    if which == "extension name":
        mutated[draw(st.sampled_from(["Upper", "with-dash", "x" * 21, "ünï"]))] = "v"
        return Mutation(which, body_of(mutated), "must be 1-20 lower-case letters or digits")
    if which == "long key":
        mutated["idempotencykey"] = "k" * draw(st.integers(201, 5000))
        return Mutation(
            which, body_of(mutated), "idempotencykey: String should have at most 200 characters"
        )
    if which == "huge integer":
        digits = draw(st.integers(31, 6000))
        body = body_of(mutated).replace(b'"data": {', b'"data": {"n": ' + b"7" * digits + b", ", 1)
        return Mutation(which, body, f"an integer of {digits} digits")
    if which == "too deep":
        depth = draw(st.integers(33, 5000))
        body = body_of(mutated).replace(
            b'"data": {', b'"data": {"deep": ' + b"[" * depth + b"]" * depth + b", ", 1
        )
        return Mutation(which, body, "nested deeper than 32 levels")
    if which == "too large":
        body = body_of(mutated)
        limit = draw(st.integers(16, max(16, len(body) - 1)))
        return Mutation(which, body, "more than the limit of", Limits(max_bytes=limit), True)
    if which == "truncated":  # cut between two characters (a cut inside one is "not UTF-8")
        text = json.dumps(mutated, ensure_ascii=False)
        cut = text[: draw(st.integers(0, len(text) - 1))]
        return Mutation(which, cut.encode(), "body is not JSON")
    if which == "not utf-8":
        body = body_of(mutated)
        at = draw(st.integers(0, len(body)))
        return Mutation(which, body[:at] + b"\xff" + body[at:], "not UTF-8")
    if which == "naive time":
        mutated["time"] = mutated["time"].replace("+00:00", "")
        return Mutation(which, body_of(mutated), "time: Input should have timezone info")
    mutated["data"] = draw(st.sampled_from([[], "text", 7, None, True]))
    return Mutation(which, body_of(mutated), "data")


def check_refused(m: Mutation, decoder: Callable[..., CloudEvent] = decode) -> str:
    """``m`` is refused with its reason; returns the reason given."""
    try:
        decoded = decoder(m.body, m.limits) if m.limits else decoder(m.body)
    except InvalidMessage as e:
        if m.too_large:
            assert isinstance(e, MessageTooLarge), f"{m.name}: refused, but not as too large: {e}"
        assert m.reason in str(e), f"{m.name}: refused for {e}, expected {m.reason!r}"
        return str(e)
    raise AssertionError(f"{m.name}: accepted {decoded!r}")


# --- configurations -------------------------------------------------------------------------

#: Ids and names that YAML must quote or that look like something else: the loader must keep
#: them as the strings they are.
IDS = [
    "a",
    "b-1",
    "analysis",
    "approved",
    "x9",
    "yes",
    "no",
    "null",
    "on",
    "off",
    "true",
    "1",
    "0o17",
    "1e3",
    "2026-01-01",
    "~",
    "nan",
    "inf",
    "a:b",
    "a#b",
    "x y",
    "é",
    "ü-2",
    "zz",
    "stage",
    "done",
    "k" * 40,
    "-",
    "_",
    ".5",
]
IDENT = st.sampled_from(IDS)
NAME = st.sampled_from(
    [
        "Análise",
        "Aprovado ✓",
        "履歴書",
        "- dash",
        "#hash",
        "&anchor",
        "*alias",
        "!tag",
        "'quoted'",
        '"double"',
        "a: b",
        "{not: a map}",
        "[not, a, list]",
        "yes",
        "null",
        "12.30",
        "multi\nline",
        "tab\there",
        " spaced ",
        "%percent",
        "@at",
        "`tick`",
        "|",
        ">",
    ]
)


@st.composite
def valid_configs(draw: st.DrawFn) -> dict[str, Any]:
    """A sound workflow configuration: people, groups and 1-3 ticket types whose stages form a
    flow from a default stage to a concluding one."""
    people = draw(st.lists(IDENT, min_size=1, max_size=4, unique=True))
    attendants: dict[str, Any] = {}
    for i, aid in enumerate(people):
        attendants[aid] = {"name": draw(NAME)}
        if i and draw(st.booleans()):  # managers only earlier in the list: no loop
            attendants[aid]["manager"] = people[draw(st.integers(0, i - 1))]
    groups = {
        gid: {"name": draw(NAME), "members": draw(st.lists(st.sampled_from(people), max_size=3))}
        for gid in draw(st.lists(IDENT, min_size=1, max_size=2, unique=True))
    }
    services = {
        sid: {"name": draw(NAME)}
        for sid in draw(st.lists(IDENT, min_size=1, max_size=2, unique=True))
    }
    ticket_types: dict[str, Any] = {}
    for tid in draw(st.lists(IDENT, min_size=1, max_size=3, unique=True)):
        names = draw(st.lists(IDENT, min_size=2, max_size=5, unique=True))
        parameters = {
            p: {
                "type": draw(st.sampled_from(["text", "integer", "decimal", "boolean", "date"])),
                "required": draw(st.booleans()),
            }
            for p in draw(st.lists(IDENT, max_size=3, unique=True))
        }
        stages: dict[str, Any] = {}
        for i, sid in enumerate(names):
            kind = draw(st.sampled_from(["attendant", "group", "customer"]))
            assignment: dict[str, Any] = {"kind": kind}
            if kind == "attendant":
                assignment["id"] = draw(st.sampled_from(people))
            elif kind == "group":
                assignment["id"] = draw(st.sampled_from(sorted(groups)))
            stage: dict[str, Any] = {"name": draw(NAME), "order": i, "assignment": assignment}
            if i == 0:
                stage.update(first=True, default=True, activate_task=True)
            if i == len(names) - 1:
                stage["concludes"] = True
            if i < len(names) - 1 and draw(st.booleans()):
                stage["expected_duration"] = (
                    f"{draw(st.integers(1, 99))}{draw(st.sampled_from('smhdw'))}"
                )
            if parameters and draw(st.booleans()):
                stage["fields"] = {
                    draw(st.sampled_from(sorted(parameters))): draw(
                        st.sampled_from(["required", "read_only", "invisible"])
                    )
                }
            stages[sid] = stage
        flows = [
            {"from": a, "to": b, "reason": draw(st.sampled_from(["required", "optional"]))}
            for a, b in zip(names, names[1:], strict=False)
        ]
        ticket_types[tid] = {
            "name": draw(NAME),
            "service": draw(st.sampled_from(sorted(services))),
            "group": draw(st.sampled_from(sorted(groups))),
            "parameters": parameters,
            "stages": stages,
            "flows": flows,
        }
    return {
        "services": services,
        "service_groups": groups,
        "attendants": attendants,
        "ticket_types": ticket_types,
    }


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def yaml_of(raw: dict[str, Any]) -> str:
    return yaml.dump(raw, Dumper=_DUMPER, allow_unicode=True, sort_keys=False)


def load_text(text: str) -> WorkflowConfig:
    """The loader under test: YAML text (within its bounds) to a checked configuration."""
    from hub.workflow.config import parse

    return parse(_load_yaml(text))


def check_config_accepted(raw: dict[str, Any], loader: Loader = load_text) -> WorkflowConfig:
    try:
        config = loader(yaml_of(raw))
    except ConfigurationError as e:
        raise AssertionError(f"a sound configuration was refused: {e.problems}") from None
    assert sorted(config.ticket_types) == sorted(raw["ticket_types"]), "types lost or invented"
    for tid, tt in config.ticket_types.items():
        assert sorted(tt.stages) == sorted(raw["ticket_types"][tid]["stages"])
        assert len(tt.flows) == len(raw["ticket_types"][tid]["flows"])
    return config


@dataclass(frozen=True)
class ConfigMutation:
    name: str
    text: str
    reason: str  # a problem must start with (or, for a file-level one, contain) this


LAUGHS = "\n".join(
    ["laughs:", "  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
)


@st.composite
def config_mutations(draw: st.DrawFn) -> ConfigMutation:
    """A sound configuration made unsound in one targeted way, with the problem it must give."""
    raw = draw(valid_configs())
    tid = draw(st.sampled_from(sorted(raw["ticket_types"])))
    tt = raw["ticket_types"][tid]
    first = next(iter(tt["stages"]))
    which = draw(
        st.sampled_from(
            [
                "flow to unknown stage",
                "no default stage",
                "unknown attendant",
                "unknown group",
                "bad duration",
                "unknown key",
                "no ticket types",
                "billion laughs",
                "manager loop",
                "bad purpose",
                "unknown service",
            ]
        )
    )
    if which == "flow to unknown stage":
        tt["flows"].append({"from": first, "to": "zz-nowhere"})
        n = len(tt["flows"]) - 1
        return ConfigMutation(
            which, yaml_of(raw), f"ticket_types[{tid}].flows[{n}].to: unknown stage 'zz-nowhere'"
        )
    if which == "no default stage":
        tt["stages"][first]["default"] = False
        return ConfigMutation(which, yaml_of(raw), f"ticket_types[{tid}].stages: no first stage")
    if which == "unknown attendant":
        tt["stages"][first]["assignment"] = {"kind": "attendant", "id": "zz-nobody"}
        return ConfigMutation(
            which,
            yaml_of(raw),
            f"ticket_types[{tid}].stages[{first}].assignment.id: unknown attendant 'zz-nobody'",
        )
    if which == "unknown group":
        tt["group"] = "zz-nogroup"
        return ConfigMutation(
            which, yaml_of(raw), f"ticket_types[{tid}].group: unknown service group 'zz-nogroup'"
        )
    if which == "bad duration":
        tt["stages"][first]["expected_duration"] = draw(st.sampled_from(["soon", "12x", "-"]))
        return ConfigMutation(
            which, yaml_of(raw), f"ticket_types[{tid}].stages[{first}].expected_duration:"
        )
    if which == "unknown key":
        tt["stages"][first]["colour"] = "red"
        return ConfigMutation(
            which,
            yaml_of(raw),
            f"ticket_types[{tid}].stages[{first}].colour: Extra inputs are not permitted",
        )
    if which == "no ticket types":
        del raw["ticket_types"]
        return ConfigMutation(which, yaml_of(raw), "ticket_types: a configuration needs at least")
    if which == "billion laughs":
        return ConfigMutation(which, yaml_of(raw) + LAUGHS + "\n", "expands to more than")
    if which == "manager loop":
        aid = next(iter(raw["attendants"]))
        raw["attendants"][aid]["manager"] = aid
        return ConfigMutation(
            which, yaml_of(raw), f"attendants[{aid}].manager: the chain of managers loops back"
        )
    if which == "bad purpose":
        tt["stages"][first]["purpose"] = "approve"
        return ConfigMutation(which, yaml_of(raw), f"ticket_types[{tid}].stages[{first}].purpose:")
    tt["service"] = "zz-noservice"
    return ConfigMutation(
        which, yaml_of(raw), f"ticket_types[{tid}].service: unknown service 'zz-noservice'"
    )


def check_config_refused(m: ConfigMutation, loader: Loader = load_text) -> list[str]:
    try:
        loader(m.text)
    except ConfigurationError as e:
        problems = e.problems
        assert any(p.startswith(m.reason) or m.reason in p for p in problems), (
            f"{m.name}: refused for {problems}, expected {m.reason!r}"
        )
        return problems
    raise AssertionError(f"{m.name}: accepted")
