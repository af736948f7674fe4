"""The ``hub`` command. Each verb group lives in its own module and registers itself here."""

from __future__ import annotations

import sys

import typer

from hub.cli import config as config_cli
from hub.cli import db, general, runtime
from hub.cli import tickets as tickets_cli
from hub.cli.common import fail
from hub.errors import HubError

app = typer.Typer(
    name="hub",
    help="Event-driven integration hub between ERP modules and a CRM workflow.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
general.register(app)
runtime.register(app)
app.add_typer(db.app, name="db")
app.add_typer(config_cli.app, name="config")
app.add_typer(tickets_cli.app, name="tickets")


def main() -> None:
    try:
        app()
    except HubError as e:
        fail(str(e), getattr(e, "problems", None))
    except KeyboardInterrupt:
        sys.exit(130)
