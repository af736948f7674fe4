"""Tenants in the store, on SQLite and PostgreSQL: the upgrade of a site that had token roles,
required fields on every path, and provisioning that completes without changing anything."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from hub.identity.access import permissions_of
from hub.identity.permissions import DEFAULT_ROLES
from hub.identity.service import UserError, set_user
from hub.provisioning import provision
from hub.runtime.uow import Cause, UnitOfWorkFactory
from hub.store.db import make_engine, upgrade
from hub.store.models import Tenant
from hub.tenancy.required import RequiredFieldMissing
from hub.web.tokens import Tokens, digest
from hub.workflow import service
from hub.workflow.loader import load_demo
from tests.support.people import person


def test_an_upgrade_turns_token_roles_into_roles_of_the_tokens_users(database_url: str) -> None:
    # Given a site at the last revision before tenants, with tokens of each former role
    upgrade(database_url, "0007")
    engine = make_engine(database_url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for name, role, user in (
            ("ops", "operator", "admin"),
            ("grafana", "reader", "grafana"),
            ("desk", "attendant", "ana"),
            ("desk2", "attendant", "ana"),
        ):
            conn.execute(
                text(
                    'INSERT INTO api_tokens (name, role, "user", token_hash, prefix, created_at) '
                    "VALUES (:n, :r, :u, :h, :p, :c)"
                ),
                {
                    "n": name,
                    "r": role,
                    "u": user,
                    "h": digest(f"hub_{name}"),
                    "p": "hub_x",
                    "c": now,
                },
            )
    # When it is upgraded
    upgrade(database_url)
    factory = UnitOfWorkFactory(engine)
    # Then each token still works, as its user, with its former role
    tokens = Tokens(factory)
    ops, grafana = tokens.verify("hub_ops"), tokens.verify("hub_grafana")
    assert ops is not None and (ops.tenant, ops.user) == ("default", "admin")
    assert grafana is not None and grafana.user == "grafana"
    with factory.sessions() as s:
        assert permissions_of(s, "default", "admin").allows("dead_letters", "delete")
        reader = permissions_of(s, "default", "grafana")
        assert reader.allows("dead_letters", "view") and not reader.allows("dead_letters", "edit")
        assert permissions_of(s, "default", "ana").allows("tickets", "edit")
        assert permissions_of(s, "default", "support").is_admin
    # and the default tenant is complete: provisioning finds nothing to do
    assert provision(factory, "default").changed is False
    engine.dispose()


@pytest.fixture
def factory(database_url: str) -> UnitOfWorkFactory:
    upgrade(database_url)
    f = UnitOfWorkFactory(make_engine(database_url))
    with f(Cause.action(tenant="default")) as uow:
        service.apply_config(uow, load_demo(), source="demo")
    return f


def require(factory: UnitOfWorkFactory, module: str, *fields: str) -> None:
    with factory.sessions.begin() as s:
        row = s.get(Tenant, "default")
        assert row is not None
        row.required_fields = {**row.required_fields, module: list(fields)}


def test_required_fields_hold_on_every_path(factory: UnitOfWorkFactory) -> None:
    require(factory, "tickets", "description")
    with (
        pytest.raises(RequiredFieldMissing, match="requires description for tickets"),
        factory(Cause.action(tenant="default")) as uow,
    ):
        service.open_ticket(uow, "edu.transcript", customer_id="RA-1", parameters={})
    with factory(Cause.action(tenant="default")) as uow:
        opened = service.open_ticket(
            uow, "edu.transcript", customer_id="RA-1", parameters={}, description="two copies"
        )
        assert opened.subject is None and opened.description == "two copies"
    # an integration's ticket gets a subject of its own; the tenant may require it
    require(factory, "tickets", "subject")
    with factory(Cause.action(tenant="default")) as uow:
        ticket = service.open_ticket(
            uow, "edu.transcript", customer_id="RA-1", parameters={}, origin_id="RQ-7"
        )
        assert ticket.subject == "Academic transcript RQ-7"
    require(factory, "users", "department")
    with (
        pytest.raises(RequiredFieldMissing, match="requires department for users"),
        factory(Cause.action(tenant="default")) as uow,
    ):
        set_user(uow, "ana", by="support", function="analyst")
    with factory(Cause.action(tenant="default")) as uow:
        set_user(uow, "ana", by="support", department="finance")


def test_a_manager_is_a_user_of_the_tenant_and_never_closes_a_loop(
    factory: UnitOfWorkFactory,
) -> None:
    provision(factory, "acme", name="Acme", plan="advanced", demo=True)
    with factory(Cause.action(tenant="default")) as uow:
        set_user(uow, "ana", by="support", manager="carla")
    with (
        pytest.raises(UserError, match="the chain would loop"),
        factory(Cause.action(tenant="default")) as uow,
    ):
        set_user(uow, "carla", by="support", manager="ana")
    with (
        pytest.raises(UserError, match="is not a user of tenant 'default'"),
        factory(Cause.action(tenant="default")) as uow,
    ):
        set_user(uow, "ana", by="support", manager="zoe")
    with (
        pytest.raises(UserError, match="has no role 'wizard'"),
        factory(Cause.action(tenant="default")) as uow,
    ):
        set_user(uow, "ana", by="support", roles=["wizard"])


def test_provisioning_again_completes_what_is_missing_and_changes_nothing_else(
    factory: UnitOfWorkFactory,
) -> None:
    first = provision(factory, "acme", name="Acme", plan="starter")
    # the tenant, each default role, the support user and their Admin role
    created = 3 + len(DEFAULT_ROLES)
    assert first.changed and [s.status for s in first.steps].count("created") == created
    with factory.sessions.begin() as s:  # someone removed a role's holder and a role
        s.execute(text("DELETE FROM user_roles WHERE tenant_id = 'acme'"))
        s.execute(text("DELETE FROM roles WHERE tenant_id = 'acme' AND id = 'director'"))
    again = provision(factory, "acme", name="Renamed", plan="advanced", demo=True)
    created = {s.step for s in again.steps if s.status == "created"}
    assert created == {"role Director", "support user's Admin role"}
    assert {s.step: s.status for s in again.steps}["demo configuration"] == "applied"
    with factory.sessions() as s:
        row = s.get(Tenant, "acme")
        assert row is not None and (row.name, row.plan) == ("Acme", "starter")


def test_a_configuration_may_name_only_attendants_it_lists_or_users_of_the_tenant(
    factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    from hub.errors import ConfigurationError
    from hub.workflow.loader import DEMO_CONFIG, read_raw

    raw = read_raw(DEMO_CONFIG)
    raw["service_groups"]["finance-approvals"]["members"].append("zoe")
    path = tmp_path / "workflow.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with (
        pytest.raises(ConfigurationError, match=r"members\[2\]: unknown attendant 'zoe'"),
        factory(Cause.action(tenant="default")) as uow,
    ):
        service.apply_config_file(uow, path)
    person(factory, "zoe", "user")  # once she is a user of the tenant, she may be named
    with factory(Cause.action(tenant="default")) as uow:
        version, created = service.apply_config_file(uow, path)
    assert created
