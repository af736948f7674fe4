"""``hub settings``: a tenant's own settings (required fields per module, file servers, ...)."""

from __future__ import annotations

import typer

from hub.cli import portal, settings_ftp, settings_smtp
from hub.cli.common import (
    BY_OPTION,
    TENANT_OPTION,
    actor_of,
    authorize,
    fail,
    print_json,
    tenant_uow,
)
from hub.store.models import Tenant
from hub.tenancy import required as required_fields

app = typer.Typer(help="A tenant's settings.", no_args_is_help=True)
required = typer.Typer(help="Fields the tenant makes mandatory, per module.", no_args_is_help=True)
app.add_typer(required, name="required")
app.add_typer(settings_ftp.app, name="ftp")
app.add_typer(settings_smtp.smtp, name="smtp")
app.add_typer(portal.settings_app, name="portal")


@required.command("set")
def required_set(
    module: str = typer.Argument(..., help=" | ".join(required_fields.REQUIRABLE)),
    fields: list[str] = typer.Argument(None, help="The fields (none: nothing required)."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Make FIELDS mandatory in MODULE (they replace the earlier list), on every path: the API,
    the console, the CLI and events."""
    try:
        chosen = required_fields.validate(module, fields or [])
    except ValueError as e:
        fail(str(e))
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "settings", "edit")
        row = uow.session.get(Tenant, uow.tenant)
        assert row is not None
        row.required_fields = {**(row.required_fields or {}), module: chosen}
    typer.echo(f"{module}: required {', '.join(chosen) or 'nothing'}")


@required.command("show")
def required_show(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """The fields the tenant requires, per module."""
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "settings", "view")
        data = {
            m: required_fields.required(uow.session, uow.tenant, m)
            for m in required_fields.REQUIRABLE
        }
    if as_json:
        print_json(data)
        return
    for module, names in data.items():
        typer.echo(f"{module}: {', '.join(names) or '-'}")
