"""``hub tickets``: list, show, open, move, classify, comment on, cancel and delete tickets.

The same rules as every other path (flow, reasons, field rules, permissions) apply: the verbs
call ``hub.workflow.service``. A refused action exits with code 2 and one line saying why.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import typer

from hub.cli import desk
from hub.cli.common import (
    BY_OPTION,
    TENANT_OPTION,
    actor_of,
    fail,
    open_store,
    print_json,
    settings,
    tenant_store,
    tenant_uow,
)
from hub.identity.access import permissions_of, ticket_modules
from hub.runtime.uow import Cause
from hub.workflow import access, service
from hub.workflow.access import visible_ticket
from hub.workflow.errors import WorkflowError
from hub.workflow.ownership import owner_of
from hub.workflow.repository import TicketFilter, TicketRepository
from hub.workflow.views import ticket_json, tombstone_json

__all__ = ["app", "open_store"]

app = typer.Typer(
    help="Work tickets: list, show, open, move, classify, comment, cancel, delete.",
    no_args_is_help=True,
)


@app.command("list")
def list_(
    ticket_type: str | None = typer.Option(None, "--type", help="Ticket type id."),
    stage: str | None = typer.Option(None, help="Stage id."),
    holder: str | None = typer.Option(
        None, help="KIND:ID (attendant:ana, group:finance-approvals), a kind, or an id."
    ),
    status: str | None = typer.Option(None, help="open, completed or cancelled."),
    limit: int = typer.Option(200, min=1, max=10_000),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """List tickets, newest first (those the acting user's data scope reaches)."""
    where = TicketFilter(ticket_type, stage, status, holder, limit=limit)
    filtered = any(v is not None for v in (ticket_type, stage, status, holder))
    with tenant_uow(tenant) as uow:
        where = access.listing(uow, actor_of(by), where, filtered=filtered)
        repo = TicketRepository(uow.session, uow.tenant)
        tickets = [ticket_json(t) for t in repo.search(where)]
    if as_json:
        print_json(tickets)
        return
    for t in tickets:
        holder_text = f"{t['holder']['kind']}:{t['holder']['id'] or '-'}"
        typer.echo(f"{t['id']}  {t['type']}  {t['stage']}  {t['status']}  {holder_text}")


@app.command()
def show(
    ticket_id: str = typer.Argument(..., metavar="ID"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Show a ticket with its stage history, discussion and allowed next stages."""
    with tenant_uow(tenant) as uow:
        data = ticket_json(visible_ticket(uow, actor_of(by), ticket_id), uow)
    if as_json:
        print_json(data)
        return
    typer.echo(f"{data['id']}  {data['type']}  stage={data['stage']}  status={data['status']}")
    for h in data["history"]:
        typer.echo(f"  {h['at']}  {h['kind']}  {h['from'] or '-'} -> {h['to']}  by {h['by']}")
    for m in data["allowed_moves"]:
        need = " (reason required)" if m["reason_required"] else ""
        typer.echo(f"  may move to {m['stage']} [{m['purpose']}]{need}")
    if data["classifications_allowed"]:
        current = data["classification"] or "none"
        others = ", ".join(data["classifications_allowed"])
        typer.echo(f"  classification {current}; may become {others}")


def _pairs(values: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise WorkflowError(f"expected NAME=VALUE, got {item!r}")
        try:
            out[name] = json.loads(raw) if raw[:1] in '[{"' else raw
        except json.JSONDecodeError:
            out[name] = raw
    return out


@app.command("open")
def open_(
    ticket_type: str = typer.Argument(..., metavar="TYPE"),
    param: list[str] = typer.Option([], "--param", "-p", help="NAME=VALUE (repeatable)."),
    customer: str | None = typer.Option(None, help="The customer (or student RA) it is for."),
    subject: str | None = typer.Option(None, help="What it is about (one line)."),
    description: str | None = typer.Option(None, help="The request, in full."),
    by: str | None = BY_OPTION,
    name: str | None = typer.Option(None, help="Educational types: the student's name."),
    email: str | None = typer.Option(None, help="Educational types: the student's e-mail."),
    period: str | None = typer.Option(None, help="Educational types: the academic period."),
    company: str | None = typer.Option(
        None, help="Educational types: the company (default: the delivery location's)."
    ),
    branch: str | None = typer.Option(
        None, help="Educational types: the branch (default: the delivery location's)."
    ),
    delivery_location: str | None = typer.Option(
        None, "--delivery-location", help="Educational types: default the type's."
    ),
    request_id: str | None = typer.Option(
        None, "--request-id", help="Educational types: the request's id (default: a new one)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    tenant: str | None = TENANT_OPTION,
) -> None:
    """Open a ticket of TYPE (applies the configured or demo workflow if none is applied yet).

    A type an integration owns goes through that integration's rules: an educational type
    becomes an edu.request.created event handled as any other (eligibility, options, charge,
    e-mail; the outcome is printed), a finance approval type is refused (only the financial
    module's finance.agreement.pending opens one: use `hub publish`)."""
    parameters = _pairs(param)
    actor = actor_of(by)
    with tenant_store(tenant) as (factory, chosen):
        with factory(Cause.action(tenant=chosen)) as uow:
            service.ensure_config(uow, settings().workflow_config)
            _, config = service.current_config(uow)
            granted = permissions_of(uow.session, uow.tenant, actor)
            granted.check("tickets", "include")
            if ticket_type in config.ticket_types:
                for module in ticket_modules(config.ticket_types[ticket_type].service):
                    granted.check(module, "include")
        owner = owner_of(config, ticket_type)
        if owner == "finance":
            raise desk.refuse_finance(ticket_type)
        if owner == "education":
            options = {
                "customer": customer,
                "name": name,
                "email": email,
                "period": period,
                "company": company,
                "branch": branch,
                "delivery_location": delivery_location,
                "request_id": request_id,
            }
            decision = desk.open_educational(
                factory, config, ticket_type, parameters=parameters, options=options, tenant=chosen
            )
            _print_decision(decision, as_json)
            return
        with factory(Cause.action(tenant=chosen)) as uow:
            ticket = service.open_ticket(
                uow,
                ticket_type,
                by=actor,
                parameters=parameters,
                customer_id=customer,
                subject=subject,
                description=description,
            )
            data = ticket_json(ticket)
    print_json(data) if as_json else typer.echo(data["id"])


def _print_decision(decision: desk.Decision, as_json: bool) -> None:
    if as_json:
        print_json(asdict(decision))
        if decision.status != "opened":
            raise typer.Exit(2)
        return
    if decision.status == "opened":
        typer.echo(decision.ticket_id)
        return
    fail(
        f"request {decision.request_id} rejected: {decision.reason}"
        + (f": {decision.detail}" if decision.detail else "")
    )


@app.command()
def move(
    ticket_id: str = typer.Argument(..., metavar="ID"),
    stage: str = typer.Argument(..., metavar="STAGE"),
    reason: str | None = typer.Option(None, help="Why (required by some flows and stages)."),
    by: str = typer.Option(..., help="Who moves it."),
    field: list[str] = typer.Option([], "--field", "-f", help="NAME=VALUE to write first."),
    expected_version: int | None = typer.Option(None, help="Refuse unless still at this version."),
    action_id: str | None = typer.Option(None, help="Idempotency key: repeats do not act twice."),
    tenant: str | None = TENANT_OPTION,
) -> None:
    """Move a ticket along its flow to STAGE."""
    with tenant_uow(tenant, action_id) as uow:
        visible_ticket(uow, by, ticket_id, "edit")
        ticket = service.move_ticket(
            uow,
            ticket_id,
            stage,
            reason=reason,
            by=by,
            fields=_pairs(field),
            expected_version=expected_version,
            action_id=action_id,
        )
    typer.echo(f"{ticket.id} at {ticket.stage} ({ticket.status})")


@app.command()
def classify(
    ticket_id: str = typer.Argument(..., metavar="ID"),
    classification: str = typer.Argument(..., metavar="CLASSIFICATION"),
    by: str = typer.Option(..., help="Who classifies it."),
    expected_version: int | None = typer.Option(None, help="Refuse unless still at this version."),
    action_id: str | None = typer.Option(None, help="Idempotency key: repeats do not act twice."),
    tenant: str | None = TENANT_OPTION,
) -> None:
    """Give an open ticket another classification (one that is active; a classification
    configured as not changeable stays)."""
    with tenant_uow(tenant, action_id) as uow:
        visible_ticket(uow, by, ticket_id, "edit")
        ticket = service.classify_ticket(
            uow,
            ticket_id,
            classification,
            by=by,
            expected_version=expected_version,
            action_id=action_id,
        )
    typer.echo(f"{ticket.id} classified {ticket.classification}")


@app.command()
def comment(
    ticket_id: str = typer.Argument(..., metavar="ID"),
    text: str = typer.Argument(..., metavar="TEXT"),
    by: str = typer.Option(..., help="Who writes."),
    internal: bool = typer.Option(
        False, "--internal", help="An attendants' note: the customer never sees it."
    ),
    tenant: str | None = TENANT_OPTION,
) -> None:
    """Add to a ticket's discussion (always writable while the ticket is open)."""
    with tenant_uow(tenant) as uow:
        visible_ticket(uow, by, ticket_id, "edit")
        service.comment_ticket(uow, ticket_id, text, by=by, internal=internal)
    typer.echo(f"{ticket_id}: {'internal note' if internal else 'comment'} added")


@app.command()
def cancel(
    ticket_id: str = typer.Argument(..., metavar="ID"),
    reason: str = typer.Option(..., help="Why (mandatory)."),
    by: str = typer.Option(..., help="Who cancels."),
    tenant: str | None = TENANT_OPTION,
) -> None:
    """Cancel an open ticket: an administrator, and only a ticket the customer holds."""
    with tenant_uow(tenant) as uow:
        visible_ticket(uow, by, ticket_id, "edit")
        service.cancel_ticket(uow, ticket_id, reason=reason, by=by)
    typer.echo(f"{ticket_id} cancelled")


@app.command()
def delete(
    ticket_id: str = typer.Argument(..., metavar="ID"),
    reason: str = typer.Option(..., help="Why (mandatory); kept in the tombstone."),
    by: str = typer.Option(..., help="Who deletes (an administrator)."),
    tenant: str | None = TENANT_OPTION,
) -> None:
    """Delete a cancelled ticket. A tombstone keeps who, when and why; the events the ticket
    emitted stay."""
    with tenant_uow(tenant) as uow:
        visible_ticket(uow, by, ticket_id, "delete")
        service.delete_ticket(uow, ticket_id, reason=reason, by=by)
    typer.echo(f"{ticket_id} deleted")


@app.command()
def deleted(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    limit: int = typer.Option(200, min=1, max=10_000, help="At most this many, newest first."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """The deleted tickets' tombstones: who deleted each, when and why."""
    with tenant_uow(tenant) as uow:
        permissions_of(uow.session, uow.tenant, actor_of(by)).check("tickets", "delete")
        found = [
            tombstone_json(s)
            for s in TicketRepository(uow.session, uow.tenant).tombstones(limit=limit)
        ]
    if as_json:
        print_json(found)
        return
    if not found:
        typer.echo("no deleted tickets")
    for s in found:
        typer.echo(
            f"{s['ticket_id']}\t{s['type']}\t{s['deleted_at']}\t{s['deleted_by']}\t{s['reason']}"
        )
