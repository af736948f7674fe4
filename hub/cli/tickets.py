"""``hub tickets``: list, show, open, move, classify, comment on and cancel tickets.

The same rules as every other path (flow, reasons, field rules, permissions) apply: the verbs
call ``hub.workflow.service``. A refused action exits with code 2 and one line saying why.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import typer

from hub.cli import desk
from hub.cli.common import fail, print_json, settings
from hub.runtime.uow import Cause, UnitOfWork, UnitOfWorkFactory
from hub.store import db as store_db
from hub.workflow import service
from hub.workflow.errors import WorkflowError
from hub.workflow.ownership import owner_of
from hub.workflow.repository import TicketFilter, TicketRepository
from hub.workflow.tickets import Ticket

app = typer.Typer(
    help="Work tickets: list, show, open, move, classify, comment, cancel.",
    no_args_is_help=True,
)


@contextmanager
def open_store() -> Iterator[UnitOfWorkFactory]:
    """A unit-of-work factory on the configured database, migrated to the newest schema."""
    url = settings().effective_database_url
    store_db.upgrade(url)
    engine = store_db.make_engine(url)
    try:
        yield UnitOfWorkFactory(engine)
    finally:
        engine.dispose()


def ticket_json(ticket: Ticket, uow: UnitOfWork | None = None) -> dict[str, Any]:
    """A ticket as the CLI and the web console print it (history etc. when ``uow`` is given)."""
    out: dict[str, Any] = {
        "id": ticket.id,
        "type": ticket.type_id,
        "stage": ticket.stage,
        "status": ticket.status,
        "holder": {"kind": ticket.holder.kind, "id": ticket.holder.id},
        "customer_id": ticket.customer_id,
        "company": ticket.company,
        "branch": ticket.branch,
        "origin_type": ticket.origin_type,
        "origin_id": ticket.origin_id,
        "group": ticket.group,
        "classification": ticket.classification,
        "parameters": ticket.visible_parameters(),
        "opened_at": ticket.opened_at.isoformat(),
        "due_at": ticket.due_at.isoformat() if ticket.due_at else None,
        "version": ticket.version,
        "config_version": ticket.config_version,
    }
    if uow is not None:
        repo = TicketRepository(uow.session)
        out["allowed_moves"] = ticket.allowed_moves()
        out["classifications_allowed"] = ticket.classifications_allowed()
        out["history"] = [
            {
                "kind": h.kind,
                "from": h.from_stage,
                "to": h.to_stage,
                "reason": h.reason,
                "by": h.by,
                "at": h.at.isoformat(),
                "holder": {"kind": h.holder_kind, "id": h.holder_id},
            }
            for h in repo.history(ticket.id)
        ]
        out["comments"] = [
            {"by": c.by, "at": c.at.isoformat(), "text": c.text} for c in repo.comments(ticket.id)
        ]
        out["attachments"] = [
            {
                "id": a.id,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
                "by": a.by,
                "at": a.at.isoformat(),
            }
            for a in repo.attachments(ticket.id)
        ]
    return out


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
) -> None:
    """List tickets, newest first."""
    where = TicketFilter(ticket_type, stage, status, holder, limit=limit)
    with open_store() as factory, factory(Cause.action()) as uow:
        tickets = [ticket_json(t) for t in TicketRepository(uow.session).search(where)]
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
) -> None:
    """Show a ticket with its stage history, discussion and allowed next stages."""
    with open_store() as factory, factory(Cause.action()) as uow:
        data = ticket_json(service.get_ticket(uow, ticket_id), uow)
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
    by: str = typer.Option("system", help="Who opens it."),
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
) -> None:
    """Open a ticket of TYPE (applies the configured or demo workflow if none is applied yet).

    A type an integration owns goes through that integration's rules: an educational type
    becomes an edu.request.created event handled as any other (eligibility, options, charge,
    e-mail; the outcome is printed), a finance approval type is refused (only the financial
    module's finance.agreement.pending opens one: use `hub publish`)."""
    parameters = _pairs(param)
    with open_store() as factory:
        with factory(Cause.action()) as uow:
            service.ensure_config(uow, settings().workflow_config)
            _, config = service.current_config(uow)
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
                factory, config, ticket_type, parameters=parameters, options=options
            )
            _print_decision(decision, as_json)
            return
        with factory(Cause.action()) as uow:
            ticket = service.open_ticket(
                uow, ticket_type, by=by, parameters=parameters, customer_id=customer
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
) -> None:
    """Move a ticket along its flow to STAGE."""
    with open_store() as factory, factory(Cause.action(action_id)) as uow:
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
) -> None:
    """Give an open ticket another classification (one that is active; a classification
    configured as not changeable stays)."""
    with open_store() as factory, factory(Cause.action(action_id)) as uow:
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
) -> None:
    """Add to a ticket's discussion (always writable while the ticket is open)."""
    with open_store() as factory, factory(Cause.action()) as uow:
        service.comment_ticket(uow, ticket_id, text, by=by)
    typer.echo(f"{ticket_id}: comment added")


@app.command()
def cancel(
    ticket_id: str = typer.Argument(..., metavar="ID"),
    reason: str = typer.Option(..., help="Why (mandatory)."),
    by: str = typer.Option(..., help="Who cancels."),
) -> None:
    """Cancel an open ticket."""
    with open_store() as factory, factory(Cause.action()) as uow:
        service.cancel_ticket(uow, ticket_id, reason=reason, by=by)
    typer.echo(f"{ticket_id} cancelled")
