"""``hub tenants``: provision, list and show tenants."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy import func, select

from hub.cli.common import BY_OPTION, actor_of, allow, fail, open_store, print_json
from hub.companies.service import Companies
from hub.identity.permissions import Forbidden
from hub.identity.service import list_users
from hub.identity.users import Users, role_def
from hub.provisioning import provision
from hub.runtime.uow import Cause
from hub.store.models import DEFAULT_TENANT
from hub.tenancy import required as required_fields
from hub.tenancy.tenants import PLANS, Tenants
from hub.workflow.errors import NoConfiguration
from hub.workflow.repository import ConfigVersions
from hub.workflow.tables import TicketRow

app = typer.Typer(help="Tenants: isolated customer installations.", no_args_is_help=True)


def _operator(factory: Any, by: str | None, action: str) -> None:
    """Tenants are managed by the hub's own operators: administrators of the default tenant."""
    allow(factory, DEFAULT_TENANT, actor_of(by), "settings", action)


@app.command("create")
def create(
    tenant_id: str = typer.Argument(..., metavar="ID"),
    name: str = typer.Option(..., "--name", help="The tenant's name."),
    plan: str = typer.Option(..., "--plan", help=" | ".join(PLANS)),
    demo: bool = typer.Option(False, "--demo", help="Apply the demo workflow configuration."),
    as_json: bool = typer.Option(False, "--json", help="Print the steps as JSON."),
    by: str | None = BY_OPTION,
) -> None:
    """Provision a tenant in one transaction: the tenant, its default roles (Admin, Director,
    Coordinator, User) and its support user. Again on an existing tenant: completes what is
    missing and changes nothing else."""
    if plan not in PLANS:
        fail(f"--plan must be one of {', '.join(PLANS)}, not {plan!r}")
    with open_store() as factory:
        _operator(factory, by, "include")
        report = provision(factory, tenant_id, name=name, plan=plan, demo=demo)
    if as_json:
        print_json(report.to_json())
        return
    for step in report.steps:
        detail = f"  {step.detail}" if step.detail else ""
        typer.echo(f"{step.status:<9} {step.step}{detail}")
    typer.echo(f"tenant {tenant_id}: " + ("provisioned" if report.changed else "nothing to do"))


@app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    by: str | None = BY_OPTION,
) -> None:
    """Every tenant with its plan."""
    with open_store() as factory:
        _operator(factory, by, "view")
        with factory.sessions() as session:
            items = [
                {"id": t.id, "name": t.name, "plan": t.plan, "created_at": t.created_at.isoformat()}
                for t in Tenants(session).all()
            ]
    if as_json:
        print_json(items)
        return
    for t in items:
        typer.echo(f"{t['id']}  {t['plan']:<9} {t['name']}")


@app.command("show")
def show(
    tenant_id: str = typer.Argument(..., metavar="ID"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    by: str | None = BY_OPTION,
) -> None:
    """A tenant: plan, roles, users, companies, required fields and configuration version."""
    with open_store() as factory:
        try:  # the tenant's own administrators, or the hub's operators
            allow(factory, tenant_id, actor_of(by), "settings", "view")
        except Forbidden:
            _operator(factory, by, "view")
        with factory(Cause.action(tenant=tenant_id)) as uow:
            data = tenant_json(uow, tenant_id)
    if as_json:
        print_json(data)
        return
    typer.echo(f"{data['id']}  {data['name']}  plan={data['plan']}")
    typer.echo(f"  roles: {', '.join(r['id'] for r in data['roles'])}")
    typer.echo(f"  users: {', '.join(u['id'] for u in data['users'])}")
    typer.echo(f"  companies: {', '.join(data['companies']) or '-'}")


def tenant_json(uow: Any, tenant_id: str) -> dict[str, Any]:
    row = Tenants(uow.session).get(tenant_id)
    try:
        version = ConfigVersions(uow.session, tenant_id).current()[0]
    except NoConfiguration:
        version = None
    companies = [c.id for c in Companies(uow).all()]
    tickets = uow.session.scalar(
        select(func.count()).select_from(TicketRow).where(TicketRow.tenant_id == tenant_id)
    )
    return {
        "id": row.id,
        "name": row.name,
        "plan": row.plan,
        "created_at": row.created_at.isoformat(),
        "roles": [role_def(r).to_json() for r in Users(uow.session, tenant_id).roles()],
        "users": [
            {"id": v.row.id, "name": v.row.name, "status": v.row.status, "roles": v.roles}
            for v in list_users(uow)
        ],
        "companies": companies,
        "required_fields": {
            m: required_fields.required(uow.session, tenant_id, m)
            for m in required_fields.REQUIRABLE
        },
        "configuration_version": version,
        "tickets": tickets or 0,
    }
