"""``hub tokens`` (API tokens and their roles) and ``hub trace`` (one chain's timeline)."""

from __future__ import annotations

import typer
from rich.table import Table

from hub.cli.common import console, print_json
from hub.cli.tickets import open_store
from hub.runtime.trace import timeline
from hub.web.tokens import ROLES, Tokens

tokens = typer.Typer(help="API tokens for the web console and the HTTP API.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command()(trace)
    app.add_typer(tokens, name="tokens")


@tokens.command("create")
def tokens_create(
    name: str = typer.Argument(..., help="A unique name for the token (who or what uses it)."),
    role: str = typer.Option(..., help=f"One of: {', '.join(ROLES)}."),
    user: str | None = typer.Option(
        None,
        "--user",
        help="The workflow user the token acts as (an attendant id); default: NAME.",
    ),
) -> None:
    """Create a token and print it: it is shown this once, only its hash is stored."""
    with open_store() as factory:
        token = Tokens(factory).create(name, role, user)
    typer.echo(token)


@tokens.command("list")
def tokens_list(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every token: name, role, user, the first characters, whether it is revoked."""
    with open_store() as factory:
        items = Tokens(factory).list()
    if json_out:
        print_json(items)
        return
    table = Table("name", "role", "user", "starts with", "created", "revoked")
    for t in items:
        table.add_row(
            t["name"],
            t["role"],
            t["user"],
            t["prefix"] + "…",
            t["created_at"][:19],
            (t["revoked_at"] or "")[:19],
        )
    console.print(table)


@tokens.command("revoke")
def tokens_revoke(name: str = typer.Argument(...)) -> None:
    """Revoke a token: it stops working at once."""
    with open_store() as factory:
        Tokens(factory).revoke(name)
    typer.echo(f"token {name} revoked")


def trace(
    correlation_id: str = typer.Argument(..., metavar="CORRELATION_ID"),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every record of one correlation id as a timeline, oldest first: received, emitted,
    retried, replayed, dead-lettered, and the stage history of its tickets."""
    with open_store() as factory:
        steps = timeline(factory, correlation_id)
    if json_out:
        print_json({"correlation_id": correlation_id, "steps": steps})
        return
    if not steps:
        typer.echo(f"nothing recorded for {correlation_id}")
    for s in steps:
        who = f" [{s['consumer']}]" if s.get("consumer") else ""
        typer.echo(
            f"{s['at'][:23].replace('T', ' ')}  {s['step']:<13}  "
            f"{s.get('event_type') or '-'}{who}  {s.get('detail') or ''}"
        )
