"""``config check``: the demo is sound; every problem is reported, each with its path."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hub.errors import ConfigurationError
from hub.workflow.config import parse
from hub.workflow.loader import load, read_raw
from tests.unit.workflow.conftest import demo_raw

FIN = "finance.agreement-approval"
EXAM = "edu.second-call-exam"


def problems_of(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigurationError) as info:
        parse(raw)
    return info.value.problems


def test_the_demo_configuration_is_sound_and_carries_the_contract_names() -> None:
    config = parse(demo_raw())
    assert {"edu.transcript", EXAM, FIN} <= set(config.ticket_types)
    assert config.delivery_locations["main-office"].company == "1"
    assert config.delivery_locations["main-office"].price == Decimal("35.00")
    assert "1" in config.companies and "1" in config.companies["1"].branches
    template = config.agreement_template("default")
    fin = config.ticket_type(template.ticket_type)
    assert fin.approval and fin.stages[template.first_stage or ""].first
    rejected = [s for s in fin.stages.values() if s.purpose == "rejection"]
    assert rejected and all(s.required_reason() is not None for s in rejected)
    exam = config.ticket_type(EXAM)
    assert exam.parameters["discipline"].required
    assert exam.parameters["discipline"].options_source == "student.disciplines"
    assert exam.check_debts and exam.billing and exam.billing.amount_from == "service_value"
    assert exam.billing.due_date and exam.billing.due_date.contract_fixed_day
    transcript = config.ticket_type("edu.transcript")
    assert transcript.billing and transcript.billing.amount_from == "delivery_location_price"
    assert transcript.billing.due_date and transcript.billing.due_date.days_after_request
    assert transcript.email and transcript.email.on_open


def _flow_to_unknown(raw: dict[str, Any]) -> None:
    raw["ticket_types"][FIN]["flows"].append({"from": "analysis", "to": "aproved"})


def _no_first_stage(raw: dict[str, Any]) -> None:
    raw["ticket_types"][FIN]["stages"]["analysis"]["default"] = False


def _approval_without_rejection(raw: dict[str, Any]) -> None:
    raw["ticket_types"][FIN]["stages"]["rejected"]["purpose"] = "none"


def _rejection_without_reason_action(raw: dict[str, Any]) -> None:
    actions = raw["ticket_types"][FIN]["stages"]["rejected"]["actions"]
    actions[:] = [a for a in actions if a["kind"] != "require_reason"]


def _rejection_action_optional(raw: dict[str, Any]) -> None:
    raw["ticket_types"][FIN]["stages"]["rejected"]["actions"][0]["mandatory"] = False


def _no_assignment(raw: dict[str, Any]) -> None:
    del raw["ticket_types"][EXAM]["stages"]["scheduled"]["assignment"]


def _nothing_concludes(raw: dict[str, Any]) -> None:
    for stage in raw["ticket_types"]["edu.transcript"]["stages"].values():
        stage["concludes"] = False


CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "flow to an unknown stage": (
        _flow_to_unknown,
        f"ticket_types[{FIN}].flows[2].to: unknown stage 'aproved'",
    ),
    "type without a first stage": (_no_first_stage, f"ticket_types[{FIN}].stages: no first stage"),
    "approval type without a rejection stage": (
        _approval_without_rejection,
        f"ticket_types[{FIN}].stages: an approval type needs an approval and a rejection stage",
    ),
    "rejection stage without its mandatory reason": (
        _rejection_without_reason_action,
        f"ticket_types[{FIN}].stages[rejected].actions: a rejection stage needs a mandatory",
    ),
    "rejection stage with an optional action": (
        _rejection_action_optional,
        f"ticket_types[{FIN}].stages[rejected].actions[0].mandatory:",
    ),
    "stage without an assignment rule": (
        _no_assignment,
        f"ticket_types[{EXAM}].stages[scheduled].assignment: missing",
    ),
    "no stage concludes": (
        _nothing_concludes,
        "ticket_types[edu.transcript].stages: no stage concludes the ticket",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_problem_is_reported_with_its_path(case: str) -> None:
    mutate, expected = CASES[case]
    raw = demo_raw()
    mutate(raw)
    problems = problems_of(raw)
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_is_listed_at_once() -> None:
    # every case but the one that removes the rejection stage the others break
    together = [c for n, c in CASES.items() if n != "approval type without a rejection stage"]
    raw = demo_raw()
    for mutate, _ in together:
        mutate(raw)
    problems = problems_of(raw)
    assert len(problems) >= len(together)
    for _, expected in together:
        assert any(p.startswith(expected) for p in problems), (expected, problems)


MORE: dict[str, tuple[str, Any, str]] = {
    "unknown manager": ("attendants.ana.manager", "nobody", "attendants[ana].manager: unknown"),
    "unknown service": (f"ticket_types.{EXAM}.service", "nope", f"ticket_types[{EXAM}].service:"),
    "classification of another service": (
        f"ticket_types.{EXAM}.classification",
        "agreement",
        f"ticket_types[{EXAM}].classification: classification 'agreement' belongs to the service "
        "'finance.agreements', not 'edu.services'",
    ),
    "template classification of another service": (
        "agreement_templates.default.classification",
        "student-request",
        "agreement_templates[default].classification: classification 'student-request' belongs "
        "to the service 'edu.services', not 'finance.agreements'",
    ),
    "classification of an unknown service": (
        "classifications.agreement.service",
        "finance",
        "classifications[agreement].service: unknown service 'finance'",
    ),
    "unknown option source": (
        f"ticket_types.{EXAM}.parameters.discipline.options_source",
        "SELECT * FROM x",
        f"ticket_types[{EXAM}].parameters[discipline].options_source: unknown source",
    ),
    "field rule on unknown parameter": (
        f"ticket_types.{EXAM}.stages.scheduled.fields.room",
        "required",
        f"ticket_types[{EXAM}].stages[scheduled].fields[room]: unknown parameter",
    ),
    "overdue move without a flow": (
        f"ticket_types.{EXAM}.stages.scheduled.on_overdue",
        {"action": "move", "stage": "rejected"},
        f"ticket_types[{EXAM}].stages[scheduled].on_overdue:",
    ),
    "two due-date rules": (
        f"ticket_types.{EXAM}.billing.due_date.days_after_request",
        5,
        f"ticket_types[{EXAM}].billing.due_date: give exactly one",
    ),
    "template placeholder unknown": (
        f"ticket_types.{FIN}.stages.approved.actions.0.data.decided_by",
        "${move.who}",
        f"ticket_types[{FIN}].stages[approved].actions[0].data.decided_by: unknown placeholder",
    ),
    "emit missing a required field": (
        f"ticket_types.{FIN}.stages.approved.actions.0.data",
        {"agreement_id": "${ticket.parameters.agreement_id}"},
        f"ticket_types[{FIN}].stages[approved].actions[0].data.ticket_id: required by",
    ),
    "unknown event type": (
        f"ticket_types.{FIN}.stages.approved.actions.0.event",
        "finance.agreement.aproved",
        f"ticket_types[{FIN}].stages[approved].actions[0].event: unknown event type",
    ),
    "template to a non-approval type": (
        "agreement_templates.default.ticket_type",
        "edu.transcript",
        "agreement_templates[default].ticket_type: 'edu.transcript' is not an approval type",
    ),
    "template first stage not first": (
        "agreement_templates.default.first_stage",
        "approved",
        "agreement_templates[default].first_stage: 'approved' is not flagged `first`",
    ),
    "structural: bad purpose": (
        f"ticket_types.{FIN}.stages.approved.purpose",
        "approve",
        f"ticket_types[{FIN}].stages[approved].purpose:",
    ),
    "structural: unknown key": (
        f"ticket_types.{FIN}.stages.approved.colour",
        "red",
        f"ticket_types[{FIN}].stages[approved].colour:",
    ),
    "structural: bad action kind field": (
        f"ticket_types.{FIN}.stages.rejected.actions.0.reasons",
        "not a list",
        f"ticket_types[{FIN}].stages[rejected].actions[0].reasons:",
    ),
}


@pytest.mark.parametrize("case", sorted(MORE))
def test_more_problems_with_their_paths(case: str) -> None:
    dotted, value, expected = MORE[case]
    raw = demo_raw()
    # ticket type ids contain dots: address them through a placeholder key
    for tid in (FIN, EXAM):
        dotted = dotted.replace(tid, "\0" + str(list(raw["ticket_types"]).index(tid)))
    parts = dotted.split(".")
    node: Any = raw
    for part in parts[:-1]:
        if part.startswith("\0"):
            node = list(node.values())[int(part[1:])]
        elif isinstance(node, list):
            node = node[int(part)]
        else:
            node = node.setdefault(part, {})
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value
    problems = problems_of(raw)
    assert any(p.startswith(expected) for p in problems), problems


def test_structural_errors_still_report_type_level_problems() -> None:
    raw = demo_raw()
    raw["attendants"]["ana"]["roles"] = "admin"  # structure: not a list
    _nothing_concludes(raw)
    problems = problems_of(raw)
    assert any(p.startswith("attendants[ana].roles") for p in problems)
    assert any("no stage concludes" in p for p in problems)


def test_ticket_types_that_are_not_a_mapping_are_refused_not_a_crash() -> None:
    raw = demo_raw()
    raw["ticket_types"] = [None]
    assert problems_of(raw) == ["ticket_types: Input should be a valid dictionary"]


def test_a_folder_of_files_is_merged_and_duplicates_are_refused(tmp_path: Path) -> None:
    import yaml

    raw = demo_raw()
    types = raw.pop("ticket_types")
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(_plain(raw)))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(_plain({"ticket_types": types})))
    assert set(load(tmp_path).ticket_types) == set(types)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"attendants": {"ana": {"name": "Other"}}}))
    with pytest.raises(ConfigurationError) as info:
        read_raw(tmp_path)
    assert info.value.problems == ["c.yaml: attendants[ana] already defined in a.yaml"]


def test_yaml_fractions_are_decimals_not_floats(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("delivery_locations:\n  desk: {name: Desk, company: '1', price: 12.30}\n")
    assert read_raw(path)["delivery_locations"]["desk"]["price"] == Decimal("12.30")


def test_a_missing_path_is_one_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no such file"):
        load(tmp_path / "nope.yaml")


def _plain(value: Any) -> Any:
    """YAML-dumpable copy (decimals and dates as strings)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def test_structural_and_semantic_problems_are_all_reported_in_one_pass() -> None:
    raw = demo_raw()
    # six structural problems: a bad value, an unknown key, a missing field, in several places
    raw["attendants"]["ana"]["roles"] = "admin"
    raw["ticket_types"][FIN]["stages"]["approved"]["purpose"] = "approve"
    raw["ticket_types"][EXAM]["stages"]["scheduled"]["colour"] = "red"
    raw["ticket_types"][FIN]["flows"][0]["reason"] = "maybe"
    raw["ticket_types"]["edu.transcript"]["stages"]["issued"]["actions"][0]["mandatory"] = "no!"
    del raw["service_groups"]["edu-secretariat"]["name"]
    # four semantic ones, beside them and in the same ticket types
    raw["ticket_types"][FIN]["flows"].append({"from": "analysis", "to": "aproved"})
    raw["ticket_types"][EXAM]["stages"]["awaiting-student"]["assignment"]["id"] = "nobody"
    raw["ticket_types"][EXAM]["stages"]["awaiting-student"]["assignment"]["kind"] = "attendant"
    raw["attendants"]["bruno"]["manager"] = "nobody"
    raw["ticket_types"]["edu.transcript"]["flows"].append({"from": "issued", "to": "requested"})
    problems = problems_of(raw)
    assert sorted(problems) == sorted(
        [
            "service_groups[edu-secretariat].name: Field required",
            "attendants[ana].roles: Input should be a valid list",
            f"ticket_types[{FIN}].stages[approved].purpose: Input should be 'approval', "
            "'rejection' or 'none'",
            f"ticket_types[{FIN}].flows[0].reason: Input should be 'required' or 'optional'",
            "ticket_types[edu.transcript].stages[issued].actions[0].mandatory: Input should be "
            "a valid boolean, unable to interpret input",
            f"ticket_types[{EXAM}].stages[scheduled].colour: Extra inputs are not permitted",
            "attendants[bruno].manager: unknown attendant 'nobody'",
            f"ticket_types[{FIN}].flows[2].to: unknown stage 'aproved'",
            "ticket_types[edu.transcript].flows[5].from: stage 'issued' concludes the ticket; "
            "nothing can follow it",
            f"ticket_types[{EXAM}].stages[awaiting-student].assignment.id: unknown attendant "
            "'nobody'",
        ]
    )


def test_a_malformed_entry_is_not_also_reported_as_unknown_where_it_is_named() -> None:
    raw = demo_raw()
    raw["ticket_types"][FIN]["stages"]["rejected"]["order"] = "last"  # a bad value
    del raw["ticket_types"][FIN]["stages"]["analysis"]["assignment"]["kind"]  # a missing one
    problems = problems_of(raw)
    assert sorted(problems) == [
        f"ticket_types[{FIN}].stages[analysis].assignment.kind: Field required",
        f"ticket_types[{FIN}].stages[rejected].order: Input should be a valid integer, unable "
        "to parse string as an integer",
    ]


def test_a_flow_removed_for_its_problem_keeps_the_positions_of_the_others() -> None:
    raw = demo_raw()
    flows = raw["ticket_types"]["edu.transcript"]["flows"]
    flows[1] = {"from": "requested"}  # no `to`
    flows.append({"from": "requested", "to": "nowhere"})
    assert problems_of(raw) == [
        "ticket_types[edu.transcript].flows[1].to: Field required",
        "ticket_types[edu.transcript].flows[5].to: unknown stage 'nowhere'",
    ]


@pytest.mark.parametrize("raw", [{}, {"attendants": {"ana": {"name": "Ana"}}}])
def test_a_configuration_without_ticket_types_is_refused(raw: dict[str, Any]) -> None:
    assert "ticket_types: a configuration needs at least one ticket type; this one has none" in (
        problems_of(raw)
    )


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n")
    with pytest.raises(ConfigurationError, match="needs at least one ticket type"):
        load(path)


def test_a_service_names_a_known_integration() -> None:
    raw = demo_raw()
    raw["services"]["edu.services"]["integration"] = "school"
    assert problems_of(raw) == [
        "services[edu.services].integration: Input should be 'education' or 'finance'"
    ]
