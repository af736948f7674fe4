"""``hub config``: check and apply the workflow configuration (YAML file or folder)."""

from __future__ import annotations

from pathlib import Path

import typer

from hub.cli.common import BY_OPTION, TENANT_OPTION, actor_of, authorize, print_json, tenant_uow
from hub.companies.configuration import stored as stored_companies
from hub.errors import ConfigurationError
from hub.workflow import service
from hub.workflow.loader import load

app = typer.Typer(help="Check and apply the workflow configuration.", no_args_is_help=True)


@app.command()
def check(
    path: Path = typer.Argument(..., help="YAML file or folder of YAML files."),
    as_json: bool = typer.Option(False, "--json", help="Print a summary as JSON."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Refuse an invalid configuration, listing every problem with its path in the file (a
    person it names must be an attendant it lists or a user of the tenant, a company one it
    lists or one of the tenant's; a company it drops must not be in use)."""
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "configuration", "view")
        config = load(path, users=service.tenant_users(uow), companies=stored_companies(uow))
        problems = service.store_problems(uow, config)
    if problems:
        raise ConfigurationError(problems)
    summary = {
        "ok": True,
        "ticket_types": sorted(config.ticket_types),
        "agreement_templates": sorted(config.agreement_templates),
    }
    if as_json:
        print_json(summary)
    else:
        typer.echo(
            f"ok: {len(config.ticket_types)} ticket types, {len(config.attendants)} attendants"
        )


@app.command()
def apply(
    path: Path = typer.Argument(..., help="YAML file or folder of YAML files."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Check and store the configuration as the tenant's new version (tickets keep their own
    version); the attendants it lists that the tenant does not have become users."""
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "configuration", "edit")
        config = load(path, users=service.tenant_users(uow), companies=stored_companies(uow))
        version, created = service.apply_config(uow, config, source=str(path.resolve()))
    if as_json:
        print_json({"version": version, "created": created})
    else:
        typer.echo(f"configuration version {version}" + ("" if created else " (unchanged)"))
