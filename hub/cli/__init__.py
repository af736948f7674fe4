"""The ``hub`` command. Each verb group lives in its own module and registers itself here."""

from __future__ import annotations

import sys

import typer
from sqlalchemy.exc import DBAPIError, OperationalError
from typer.exceptions import TyperException

from hub.cli import (
    bench,
    companies,
    db,
    dlq,
    general,
    operate,
    portal,
    refdata,
    runtime,
    settings_cli,
    tenants,
    users,
)
from hub.cli import config as config_cli
from hub.cli import contact as contact_cli
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
bench.register(app)
operate.register(app)
app.add_typer(db.app, name="db")
app.add_typer(dlq.app, name="dlq")
app.add_typer(config_cli.app, name="config")
app.add_typer(tickets_cli.app, name="tickets")
app.add_typer(refdata.app, name="refdata")
app.add_typer(tenants.app, name="tenants")
app.add_typer(users.users, name="users")
app.add_typer(users.roles, name="roles")
app.add_typer(settings_cli.app, name="settings")
app.add_typer(companies.companies, name="companies")
app.add_typer(companies.branches, name="branches")
app.add_typer(contact_cli.scripts, name="scripts")
app.add_typer(contact_cli.forms, name="forms")
app.add_typer(portal.app, name="portal")


def store_error(error: DBAPIError) -> str:
    """One line about a database error, naming the database (without its password)."""
    from hub.settings import load_settings, redact

    try:
        where = redact(load_settings().effective_database_url)
    except HubError:
        where = "HUB_DATABASE_URL"
    reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
    if isinstance(error, OperationalError):
        return f"the database at {where} cannot be reached: {reason}"
    return f"the database at {where} refused a statement: {reason}"


def main() -> None:
    try:
        result = app(standalone_mode=False, prog_name="hub")
    except TyperException as e:  # a usage error: one line, never a traceback
        ctx = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
            typer.echo(ctx.get_help())
            sys.exit(0)
        message = e.format_message() if hasattr(e, "format_message") else str(e)
        command = ctx.command_path if ctx is not None else "hub"
        fail(f"{message} (see '{command} --help')")
    except typer.Abort:
        sys.exit(130)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except HubError as e:
        fail(str(e), getattr(e, "problems", None))
    except DBAPIError as e:  # the store does not answer, or refused what was asked
        fail(store_error(e))
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)
