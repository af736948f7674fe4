"""The permission matrix, the directory of people and the reach of a data scope (no I/O)."""

from __future__ import annotations

import pytest

from hub.identity.directory import Directory, Person
from hub.identity.permissions import (
    ACTIONS,
    DEFAULT_ROLES,
    MODULES,
    Forbidden,
    Permissions,
    RoleDef,
    grants_of,
)
from hub.workflow.config import ServiceGroup, WorkflowConfig
from hub.workflow.permissions import Holder, reach_of

CONFIG = WorkflowConfig(
    service_groups={
        "approvals": ServiceGroup(name="Approvals", members=["ana"], manager="carla"),
        "secretariat": ServiceGroup(name="Secretariat", members=["bruno"], manager="diana"),
    }
)


def people(**extra: Person) -> Directory:
    base = [
        Person("support", roles=frozenset({"admin"})),
        Person("dora", roles=frozenset({"director"})),
        Person("carla", roles=frozenset({"coordinator"})),
        Person("ana", manager="carla", roles=frozenset({"user"})),
        Person("otto", manager="ana", roles=frozenset({"user"})),
        Person("diana", roles=frozenset({"coordinator"})),
        Person("bruno", manager="diana", roles=frozenset({"user"})),
        Person("pat", status="pending", roles=frozenset({"admin"})),
    ]
    return Directory.of([*base, *extra.values()])


def test_the_default_roles_grant_what_the_seed_says() -> None:
    d = people()
    admin, director = d.permissions("support"), d.permissions("dora")
    coordinator, user = d.permissions("carla"), d.permissions("ana")
    for module in MODULES:
        for action in ACTIONS:
            assert admin.allows(module, action)
    for module in ("tickets", "agreements", "student_requests"):
        assert director.allows(module, "delete") and coordinator.allows(module, "export")
        assert not coordinator.allows(module, "delete")
        assert user.allows(module, "edit") and not user.allows(module, "export")
    for module in ("dead_letters", "configuration", "users", "settings", "operations"):
        assert not director.allows(module, "view") and not user.allows(module, "view")
    assert (admin.scope, director.scope, coordinator.scope, user.scope) == (
        "tenant",
        "tenant",
        "subordinates",
        "own",
    )


def test_a_refusal_names_the_missing_permission() -> None:
    with pytest.raises(
        Forbidden,
        match=r"ana may not change dead letters \(needs the permission dead_letters:access and dead_letters:edit\)",
    ):
        people().permissions("ana").check("dead_letters", "edit")
    only_view = RoleDef("v", "Viewer", "own", {"tickets": frozenset({"access", "view"})})
    with pytest.raises(Forbidden, match=r"needs the permission tickets:edit\)"):
        Permissions.of("v", [only_view]).check("tickets", "edit")


def test_access_is_the_door_no_other_action_works_without_it() -> None:
    no_door = RoleDef("x", "X", "own", {"tickets": frozenset({"view", "edit"})})
    granted = Permissions.of("x", [no_door])
    assert not granted.allows("tickets", "view")


def test_several_roles_add_up_and_the_widest_scope_wins() -> None:
    granted = Permissions.of("u", [DEFAULT_ROLES["user"], DEFAULT_ROLES["coordinator"]])
    assert granted.allows("tickets", "export") and granted.scope == "subordinates"


def test_a_pending_or_unknown_user_has_no_permission() -> None:
    d = people()
    assert not d.permissions("pat").roles and not d.permissions("nobody").roles


def test_grants_refuse_unknown_modules_and_actions_listing_each() -> None:
    with pytest.raises(ValueError) as e:
        grants_of({"tikets": ["view"], "tickets": ["view", "fly", "swim"]})
    assert "unknown module 'tikets'" in str(e.value) and "fly, swim" in str(e.value)


def test_managers_and_subordinates_follow_the_whole_chain_and_stop_at_a_loop() -> None:
    d = people()
    assert d.managers_of("otto") == ["ana", "carla"]
    assert d.subordinates_of("carla") == {"ana", "otto"}
    looped = Directory.of([Person("a", manager="b"), Person("b", manager="a")])
    assert looped.managers_of("a") == ["b"]


def test_a_coordinator_reaches_subordinates_tickets_and_not_a_peers() -> None:
    reach = reach_of(CONFIG, people(), "carla")
    assert reach.covers(Holder("attendant", "otto"), "1", "1")  # two levels down
    assert reach.covers(Holder("group", "approvals"), "1", "1")  # ana's group
    assert not reach.covers(Holder("attendant", "bruno"), "1", "1")  # diana's
    assert not reach.covers(Holder("group", "secretariat"), "1", "1")
    assert not reach.covers(Holder("customer", "C-1"), "1", "1")


def test_a_user_reaches_their_own_and_their_groups_tickets_within_their_scope() -> None:
    scoped = Person(
        "ana", manager="carla", roles=frozenset({"user"}), scope=frozenset({("1", "2")})
    )
    reach = reach_of(CONFIG, people(ana=scoped), "ana")
    assert reach.covers(Holder("attendant", "ana"), "1", "2")
    assert reach.covers(Holder("group", "approvals"), "1", "2")
    assert not reach.covers(Holder("attendant", "ana"), "1", "1")  # another branch
    assert not reach.covers(Holder("attendant", "otto"), "1", "2")  # a subordinate
    everything = reach_of(CONFIG, people(), "dora")
    assert everything.covers(Holder("attendant", "bruno"), "9", "9")
