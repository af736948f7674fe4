"""``hub users`` and ``hub roles``: a tenant's people, their roles and what each role grants."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from hub.cli.common import (
    BY_OPTION,
    TENANT_OPTION,
    actor_of,
    authorize,
    fail,
    print_json,
    tenant_uow,
)
from hub.identity import service
from hub.identity.permissions import ACTIONS, MODULES, SCOPES
from hub.identity.users import ScopeItem, Users, role_def
from hub.records import first_problem, read_line
from schemas.events import UserUpserted

users = typer.Typer(help="A tenant's users, as the platform gives them.", no_args_is_help=True)
roles = typer.Typer(
    help="A tenant's roles: actions per module and a data scope.", no_args_is_help=True
)

MAX_IMPORT_LINE = 64 * 1024


@users.command("list")
def users_list(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Every user of the tenant: status, roles, manager, scope."""
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "users", "view")
        items = [v.to_json() for v in service.list_users(uow)]
    if as_json:
        print_json(items)
        return
    for u in items:
        typer.echo(
            f"{u['id']}  {u['status']:<8} {','.join(u['roles']) or '-':<20} {u['name']}"
            + (f"  (manager {u['manager']})" if u["manager"] else "")
        )


@users.command("show")
def users_show(
    user_id: str = typer.Argument(..., metavar="ID"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """One user."""
    actor = actor_of(by)
    with tenant_uow(tenant) as uow:
        if actor != user_id:
            authorize(uow, actor, "users", "view")
        data = service.view_user(uow, user_id).to_json()
        data["permissions"] = role_grants(uow, user_id)
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        typer.echo(f"{key}: {value}")


def role_grants(uow: Any, user_id: str) -> dict[str, Any]:
    granted = service.directory_of(uow).permissions(user_id)
    return {
        "scope": granted.scope,
        "modules": {
            m: sorted(a, key=ACTIONS.index) for m, a in granted.grants.items() if "access" in a
        },
    }


@users.command("set")
def users_set(
    user_id: str = typer.Argument(..., metavar="ID"),
    role: list[str] = typer.Option(None, "--role", help="A role (repeat for several)."),
    manager: str | None = typer.Option(
        None, "--manager", help="Subordinate of this user ('' for nobody)."
    ),
    department: str | None = typer.Option(None, "--department"),
    function: str | None = typer.Option(None, "--function"),
    scope: list[str] = typer.Option(
        None, "--scope", help="COMPANY or COMPANY/BRANCH in the user's scope (repeatable)."
    ),
    name: str | None = typer.Option(None, "--name"),
    email: str | None = typer.Option(None, "--email"),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Give a user roles, a manager, a department and function, and companies or branches in
    scope. Options not given stay as they are."""
    try:
        items = [ScopeItem.parse(s) for s in scope] if scope else None
    except ValueError as e:
        fail(str(e))
    actor = actor_of(by)
    kwargs: dict[str, Any] = {}
    for key, value in (
        ("manager", manager),
        ("department", department),
        ("function", function),
        ("email", email),
    ):
        if value is not None:
            kwargs[key] = value
    with tenant_uow(tenant) as uow:
        authorize(uow, actor, "users", "edit")
        service.set_user(
            uow, user_id, by=actor, roles=role or None, scope=items, name=name, **kwargs
        )
        data = service.view_user(uow, user_id).to_json()
    typer.echo(
        f"{user_id}: roles {', '.join(data['roles']) or '-'}; manager {data['manager'] or '-'}; "
        f"scope {', '.join(data['scope']) or 'every company'}"
    )


@users.command("activate")
def users_activate(
    user_id: str = typer.Argument(..., metavar="ID"),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Activate a pending user (only a user with the Admin role may); emits crm.user.activated."""
    actor = actor_of(by)
    with tenant_uow(tenant) as uow:
        authorize(uow, actor, "users", "edit")
        changed = service.activate_user(uow, user_id, by=actor)
    typer.echo(f"{user_id} activated" if changed else f"{user_id} was active already")


@users.command("password")
def users_password(
    user_id: str = typer.Argument(..., metavar="ID"),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Set a user's console password, read from standard input (one line)."""
    password = sys.stdin.readline(2048).rstrip("\r\n")
    actor = actor_of(by)
    with tenant_uow(tenant) as uow:
        if actor != user_id:
            authorize(uow, actor, "users", "edit")
        service.set_password(uow, user_id, password, by=actor)
    typer.echo(f"{user_id}: password set")


@users.command("import")
def users_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Import users from a JSON-lines file: each line a platform.user.upserted CloudEvent or a
    record with its data (user_id, name, email, active, version). Applied in version order,
    like the events; nothing is imported when a line is invalid."""
    records: list[UserUpserted] = []
    problems: list[str] = []
    with file.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                records.append(_user_record(line))
            except ValueError as e:
                problems.append(f"line {n}: {e}")
    if problems:
        fail(problems[0], problems)
    outcomes: dict[str, int] = {"created": 0, "updated": 0, "stale": 0}
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "users", "include")
        for record in records:
            outcomes[service.sync_user(uow, record, source="import")] += 1
    typer.echo(
        f"imported {len(records)} user(s): {outcomes['created']} created, "
        f"{outcomes['updated']} updated, {outcomes['stale']} not newer than the stored version"
    )


def _user_record(line: str) -> UserUpserted:
    if len(line) > MAX_IMPORT_LINE:
        raise ValueError(f"longer than {MAX_IMPORT_LINE} characters")
    event_type, obj = read_line(line)
    if event_type not in (None, "platform.user.upserted"):
        raise ValueError(f"event type {event_type!r} is not platform.user.upserted")
    try:
        return UserUpserted.model_validate(obj)
    except ValidationError as e:
        raise ValueError(first_problem(e, "record")) from None


# --- roles ----------------------------------------------------------------------------------

GRANT_HELP = (
    "MODULE:ACTION[,ACTION...] (repeatable). Modules: "
    + ", ".join(MODULES)
    + "; actions: "
    + ", ".join(ACTIONS)
    + "."
)


def _grants(values: list[str] | None) -> dict[str, list[str]] | None:
    if not values:
        return None
    out: dict[str, list[str]] = {}
    for value in values:
        module, sep, actions = value.partition(":")
        if not sep or not actions:
            fail(f"--grant {value!r}: expected MODULE:ACTION[,ACTION...]")
        out.setdefault(module.strip(), []).extend(a.strip() for a in actions.split(","))
    return out


@roles.command("list")
def roles_list(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """The tenant's roles with their scope and permissions."""
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "users", "view")
        items = [role_def(r).to_json() for r in Users(uow.session, uow.tenant).roles()]
    if as_json:
        print_json(items)
        return
    for r in items:
        grants = "; ".join(f"{m}:{','.join(a)}" for m, a in r["permissions"].items())  # type: ignore[attr-defined]
        typer.echo(f"{r['id']}  ({r['name']}, scope {r['scope']})  {grants}")


@roles.command("create")
def roles_create(
    role_id: str = typer.Argument(..., metavar="ID"),
    name: str = typer.Option(..., "--name"),
    scope: str = typer.Option("own", "--scope", help=" | ".join(SCOPES)),
    grant: list[str] = typer.Option(None, "--grant", help=GRANT_HELP),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Create a custom role."""
    _put(role_id, name, scope, grant, tenant, by, create=True)


@roles.command("set")
def roles_set(
    role_id: str = typer.Argument(..., metavar="ID"),
    name: str | None = typer.Option(None, "--name"),
    scope: str | None = typer.Option(None, "--scope", help=" | ".join(SCOPES)),
    grant: list[str] = typer.Option(None, "--grant", help=GRANT_HELP + " Replaces them all."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Change a role's name, scope or permissions (the Admin role is fixed)."""
    _put(role_id, name, scope, grant, tenant, by, create=False)


def _put(
    role_id: str,
    name: str | None,
    scope: str | None,
    grant: list[str] | None,
    tenant: str | None,
    by: str | None,
    *,
    create: bool,
) -> None:
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "users", "include" if create else "edit")
        data = service.put_role(
            uow, role_id, name=name, scope=scope, permissions=_grants(grant), create=create
        )
    grants = "; ".join(f"{m}:{','.join(a)}" for m, a in data["permissions"].items())
    typer.echo(f"role {role_id} ({data['scope']}): {grants or 'no permissions'}")
