"""``hub config``: check and apply the workflow configuration (YAML file or folder)."""

from __future__ import annotations

from pathlib import Path

import typer

from hub.cli.common import print_json
from hub.cli.tickets import open_store
from hub.runtime.uow import Cause
from hub.workflow import service
from hub.workflow.loader import load

app = typer.Typer(help="Check and apply the workflow configuration.", no_args_is_help=True)


@app.command()
def check(
    path: Path = typer.Argument(..., help="YAML file or folder of YAML files."),
    as_json: bool = typer.Option(False, "--json", help="Print a summary as JSON."),
) -> None:
    """Refuse an invalid configuration, listing every problem with its path in the file."""
    config = load(path)
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
) -> None:
    """Check and store the configuration as a new version (tickets keep their own version)."""
    config = load(path)
    with open_store() as factory, factory(Cause.action()) as uow:
        version, created = service.apply_config(uow, config, source=str(path.resolve()))
    if as_json:
        print_json({"version": version, "created": created})
    else:
        typer.echo(f"configuration version {version}" + ("" if created else " (unchanged)"))
