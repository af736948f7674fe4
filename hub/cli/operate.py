"""``hub tokens`` (API tokens of users) and ``hub trace`` (one chain's timeline)."""

from __future__ import annotations

import typer
from rich.table import Table

from hub.cli.common import (
    BY_OPTION,
    TENANT_OPTION,
    actor_of,
    allow,
    console,
    fail,
    print_json,
    tenant_store,
)
from hub.runtime.trace import timeline
from hub.web.tokens import Tokens

tokens = typer.Typer(help="API tokens for the web console and the HTTP API.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command()(trace)
    app.add_typer(tokens, name="tokens")


@tokens.command("create")
def tokens_create(
    name: str = typer.Argument(..., help="A unique name for the token (who or what uses it)."),
    user: str | None = typer.Option(
        None,
        "--user",
        help="The user the token belongs to and acts as, with their permissions; default: NAME.",
    ),
    role: str | None = typer.Option(None, hidden=True),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Create a token of a user and print it: it is shown this once, only its hash is stored."""
    if role is not None:
        fail(
            "tokens no longer carry a role: a token acts with its user's roles "
            "(give the user a role with `hub users set USER --role R`)"
        )
    actor = actor_of(by)
    owner = user or name
    with tenant_store(tenant) as (factory, chosen):
        if owner != actor:
            allow(factory, chosen, actor, "users", "edit")
        token = Tokens(factory).create(name, tenant=chosen, user=owner)
    typer.echo(token)


@tokens.command("list")
def tokens_list(
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """The tenant's tokens: name, user, the first characters, whether it is revoked."""
    with tenant_store(tenant) as (factory, chosen):
        allow(factory, chosen, actor_of(by), "users", "view")
        items = Tokens(factory).list(chosen)
    if json_out:
        print_json(items)
        return
    table = Table("name", "user", "starts with", "created", "revoked")
    for t in items:
        table.add_row(
            t["name"],
            t["user"],
            t["prefix"] + "…",
            t["created_at"][:19],
            (t["revoked_at"] or "")[:19],
        )
    console.print(table)


@tokens.command("revoke")
def tokens_revoke(
    name: str = typer.Argument(...),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Revoke a token: it stops working at once."""
    with tenant_store(tenant) as (factory, chosen):
        allow(factory, chosen, actor_of(by), "users", "edit")
        Tokens(factory).revoke(name, tenant=chosen)
    typer.echo(f"token {name} revoked")


def trace(
    correlation_id: str = typer.Argument(..., metavar="CORRELATION_ID"),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Every record of one correlation id as a timeline, oldest first: received, emitted,
    retried, replayed, dead-lettered, and the stage history of its tickets."""
    with tenant_store(tenant) as (factory, chosen):
        allow(factory, chosen, actor_of(by), "operations", "view")
        steps = timeline(factory, correlation_id, tenant=chosen)
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
