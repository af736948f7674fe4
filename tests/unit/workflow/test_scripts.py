"""Forms and scripts of the contact center: the demo's tree, every problem of a broken one in
one pass, and who sees which items."""

from __future__ import annotations

from typing import Any

import pytest

from hub.errors import ConfigurationError
from hub.identity.permissions import DEFAULT_ROLES
from hub.workflow.config import WorkflowConfig, parse
from hub.workflow.scripts import Scripts, Viewer, groups_of, may_use_form
from tests.unit.workflow.conftest import demo_raw


def problems_of(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigurationError) as info:
        parse(raw)
    return info.value.problems


def names(nodes: list[dict[str, Any]]) -> list[Any]:
    return [[n["id"], names(n["children"])] if n["children"] else n["id"] for n in nodes]


def viewer(config: WorkflowConfig, user: str, admin: bool = False) -> Viewer:
    return Viewer(user, admin, groups_of(config.service_groups, user))


def test_the_demo_has_a_tree_under_start_with_two_forms_one_for_the_omnichannel_desk() -> None:
    config = parse(demo_raw())
    assert {f: form.omnichannel for f, form in config.forms.items()} == {
        "invoice-copy": True,
        "transcript": False,
    }
    tree = Scripts(config.scripts).tree(viewer(config, "admin", admin=True))
    assert names(tree) == [
        ["start", [["financial", ["invoice-copy"]], ["academic", ["transcript"]]]]
    ]
    assert tree[0]["translations"]["pt-BR"]["name"] == "Início"
    leaf = tree[0]["children"][0]["children"][0]
    assert (leaf["form"], leaf["complement"]) == ("invoice-copy", "pending")
    assert leaf["message"]


def test_a_broken_tree_and_forms_list_every_problem_in_one_pass() -> None:
    raw = demo_raw()
    raw["forms"]["invoice-copy"]["ticket_type"] = "cc.nope"
    raw["forms"]["transcript"]["fields"]["grade"] = {"required": True}
    raw["forms"]["transcript"]["omnichannel"] = True
    raw["forms"]["transcript"]["process"] = "cc.transcript"  # not flagged omnichannel
    raw["forms"]["transcript"]["groups"] = ["ghosts"]
    raw["scripts"]["financial"]["parent"] = "invoice-copy"  # financial <-> invoice-copy
    raw["scripts"]["transcript"]["parent"] = "secretariat"
    raw["scripts"]["academic"]["form"] = "missing-form"
    raw["scripts"]["academic"]["authorised"]["users"] = ["zed"]
    problems = problems_of(raw)
    expected = [
        "forms[invoice-copy].ticket_type: unknown ticket type 'cc.nope'",
        "forms[transcript].groups[0]: unknown service group 'ghosts'",
        "forms[transcript].process: the form is shown in the omnichannel desk but its process "
        "'cc.transcript' is not",
        "forms[transcript].fields[grade]: a required field the ticket type 'cc.transcript' "
        "does not have",
        "scripts[financial].parent: the chain of parents loops back to 'financial' (a cycle)",
        "scripts[invoice-copy].parent: the chain of parents loops back to 'invoice-copy'",
        "scripts[transcript].parent: unknown script item 'secretariat'",
        "scripts[academic].form: unknown form 'missing-form'",
        "scripts[academic].authorised.users[0]: unknown attendant 'zed'",
    ]
    for want in expected:
        assert any(p.startswith(want) for p in problems), (want, problems)
    assert len(problems) == len(expected), problems


def test_a_form_must_ask_for_what_its_ticket_type_requires_and_a_tree_has_one_root() -> None:
    raw = demo_raw()
    del raw["forms"]["invoice-copy"]["fields"]["invoice"]
    raw["forms"]["transcript"]["fields"]["copies"]["type"] = "decimal"
    raw["scripts"]["extra"] = {"name": "Another start"}
    raw["scripts"]["academic"]["complement"] = "marketing"  # no form to record it with
    assert sorted(problems_of(raw)) == sorted(
        [
            "forms[invoice-copy].fields: the ticket type 'cc.invoice-copy' requires 'invoice'; "
            "the form must ask for it as required",
            "forms[transcript].fields[copies].type: 'decimal', but the ticket type's "
            "parameter is 'integer'",
            "scripts: 2 root items (start, extra); a script tree has one, Start",
            "scripts[academic].complement: an item without a form records no occurrence",
        ]
    )


def test_an_item_that_does_not_validate_is_reported_and_its_references_are_not_blamed() -> None:
    raw = demo_raw()
    raw["scripts"]["financial"]["complement"] = "survey"
    problems = problems_of(raw)
    assert len(problems) == 1 and problems[0].startswith("scripts[financial].complement:")


def test_operators_and_supervisors_see_only_what_is_authorised_administrators_everything() -> None:
    config = parse(demo_raw())
    scripts = Scripts(config.scripts)
    # bruno is in the secretariat: Academic (and what is under it) is authorised to him
    bruno = viewer(config, "bruno")
    assert names(scripts.tree(bruno)) == [["start", [["academic", ["transcript"]]]]]
    assert scripts.authorised("transcript", bruno)
    assert not scripts.authorised("start", bruno)  # shown to walk down, not usable
    assert not scripts.authorised("invoice-copy", bruno)
    # one user authorised on one leaf, without any group
    items = dict(config.scripts)
    items["invoice-copy"] = items["invoice-copy"].model_copy(
        update={
            "authorised": items["invoice-copy"].authorised.model_copy(update={"users": ["sam"]})
        }
    )
    assert names(Scripts(items).tree(Viewer("sam"))) == [
        ["start", [["financial", ["invoice-copy"]]]]
    ]
    assert Scripts(items).tree(Viewer("nobody")) == []
    assert scripts.visible(Viewer("root", admin=True)) == set(config.scripts)


def test_a_form_restricted_to_groups_admits_only_their_members() -> None:
    config = parse(demo_raw())
    invoice, transcript = config.forms["invoice-copy"], config.forms["transcript"]
    assert may_use_form(invoice, viewer(config, "ana"))
    assert not may_use_form(invoice, viewer(config, "bruno"))
    assert may_use_form(transcript, viewer(config, "bruno"))  # no groups: every profile
    assert may_use_form(invoice, Viewer("root", admin=True))


def test_the_contact_center_profiles_are_default_roles_that_open_tickets() -> None:
    for role in ("desk_operator", "master_operator", "supervisor"):
        grants = DEFAULT_ROLES[role].grants["tickets"]
        assert {"access", "view", "include"} <= grants and "delete" not in grants


def test_an_omnichannel_contact_is_refused_with_the_first_reason_that_applies() -> None:
    from hub.contact.occurrences import refusal
    from schemas.events import ContactReceived

    config = parse(demo_raw())
    ana = viewer(config, "ana")

    def contact(**data: Any) -> ContactReceived:
        body = {
            "contact_id": "WA-1",
            "channel": "chat",
            "customer": {"id": "C-1"},
            "form": "invoice-copy",
            "fields": {"invoice": "NF-1"},
            "agent": "ana",
            "received_at": "2026-11-24T12:00:00Z",
            **data,
        }
        return ContactReceived.model_validate(body)

    assert refusal(config, contact(), ana) is None
    # a configuration stored before its process was checked: the process is not enabled
    tt = config.ticket_types["cc.invoice-copy"].model_copy(update={"omnichannel": False})
    older = config.model_copy(
        update={"ticket_types": {**config.ticket_types, "cc.invoice-copy": tt}}
    )
    cases = [
        (config, contact(form="nope"), ana, "unknown_form"),
        (config, contact(form="transcript"), ana, "form_not_enabled"),
        (config, contact(), viewer(config, "bruno"), "group_not_authorised"),
        (config, contact(), None, "group_not_authorised"),
        (older, contact(), ana, "process_not_enabled"),
        (config, contact(fields={"invoice": "NF-1", "colour": "red"}), ana, "invalid_fields"),
        (config, contact(fields={}), ana, "invalid_fields"),
    ]
    for cfg, received, agent, reason in cases:
        refused = refusal(cfg, received, agent)
        assert refused is not None and refused.reason == reason, (received, refused)
