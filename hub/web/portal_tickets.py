"""The customer portal's tickets: the list under the seed's five filters, a ticket's page
(history, discussion, attachments, approve or reject) and opening a request.

Everything goes through ``hub.portal``: a customer sees only their own tickets of their own
tenant, writes only the discussion and attachments of an open ticket, and moves a ticket
only by approving or rejecting it while they hold it. The workflow checks the same again.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.errors import HubError
from hub.portal import opening
from hub.portal import tickets as portal
from hub.portal.i18n import N_
from hub.runtime.uow import Cause
from hub.web.api_tickets import MAX_ID, store_attachment, stream_attachment
from hub.web.attachments import read_upload
from hub.web.context import WebContext
from hub.web.portal import PATH, Customer, customer, render, translate
from hub.web.security import context
from hub.workflow import service
from hub.workflow.config import WorkflowConfig
from hub.workflow.errors import NoConfiguration, TicketNotFound

router = APIRouter(include_in_schema=False)
TicketId = Path(max_length=40)
#: what a finished action says on the page it leads to
DONE = {
    "opened": N_("Your request was opened."),
    "commented": N_("Your message was added."),
    "attached": N_("The file was attached."),
    "decided": N_("Thank you: your answer was recorded."),
}


def _config(ctx: WebContext, tenant: str) -> WorkflowConfig | None:
    with ctx.uow(Cause.action(tenant=tenant)) as uow:
        try:
            return service.current_config(uow)[1]
        except NoConfiguration:
            return None


def _done(request: Request, who: Customer) -> str | None:
    key = request.query_params.get("done")
    return translate(request, who, DONE[key]) if key in DONE else None


# --- the list -----------------------------------------------------------------------------


@router.get(PATH + "/tickets")
def list_page(
    request: Request,
    filter: str = "all",
    ctx: WebContext = Depends(context),
    who: Customer = Depends(customer),
) -> HTMLResponse:
    chosen = portal.filter_of(filter)
    config = _config(ctx, who.tenant)
    with ctx.uow.sessions() as s:
        counts = portal.counts(s, who.tenant, who.customer_id)
        lines = (
            portal.listing(s, who.tenant, who.customer_id, chosen, config)
            if config is not None
            else []
        )
    return render(
        request,
        "list.html",
        who,
        filter=chosen,
        counts=counts,
        lines=lines,
        welcome=request.query_params.get("welcome") == "1",
        may_open=bool(config and portal.portal_types(config)),
    )


# --- a ticket's page ----------------------------------------------------------------------


def _page(ctx: WebContext, who: Customer, ticket_id: str) -> portal.Page:
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        ticket = portal.own_ticket(uow, who.customer_id, ticket_id)
    labels: dict[str, dict[str, str]] = {}
    if any(p.options_source for p in ticket.ticket_type.parameters.values()):
        # a choice from the customer's own data shows by its label (a discipline: its name)
        choices = opening.choices_for(
            ctx.uow, ticket.config, who.tenant, who.customer_id, ticket.type_id
        )
        labels = {name: dict(options) for name, options in choices.items()}
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        return portal.page_of(uow, who.customer_id, ticket_id, labels)


def _ticket(
    request: Request,
    ctx: WebContext,
    who: Customer,
    ticket_id: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    try:
        view = _page(ctx, who, ticket_id)
    except TicketNotFound:
        return render(request, "not_found.html", who, status_code=404)
    return render(
        request,
        "ticket.html",
        who,
        status_code=status_code,
        page=view,
        t=view.ticket,
        error=error,
        done=_done(request, who),
        max_mb=max(1, ctx.settings.max_attachment_bytes // 1_000_000),
    )


@router.get(PATH + "/tickets/{ticket_id}")
def ticket_page(
    request: Request,
    ticket_id: str = TicketId,
    ctx: WebContext = Depends(context),
    who: Customer = Depends(customer),
) -> HTMLResponse:
    return _ticket(request, ctx, who, ticket_id)


def _refused(
    request: Request,
    ctx: WebContext,
    who: Customer,
    ticket_id: str,
    problem: Exception,
    status: int = 409,
) -> HTMLResponse:
    return _ticket(
        request, ctx, who, ticket_id, error=translate(request, who, problem), status_code=status
    )


def _back(ticket_id: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{PATH}/tickets/{ticket_id}?done={done}", status_code=303)


@router.post(PATH + "/tickets/{ticket_id}/comment")
def comment(
    request: Request,
    ticket_id: str = TicketId,
    text: str = Form("", max_length=10_000),
    ctx: WebContext = Depends(context),
    who: Customer = Depends(customer),
) -> Response:
    """Add to the discussion (while the ticket is open, whoever holds it)."""
    if not text.strip():
        return _refused(request, ctx, who, ticket_id, HubError(N_("Write a message first.")), 400)
    try:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            t = portal.own_ticket(uow, who.customer_id, ticket_id)
            if t.status != "open":
                raise HubError(N_("This ticket is closed: it can no longer be changed."))
            service.comment_ticket(uow, ticket_id, text.strip(), by=who.customer_id)
    except TicketNotFound:
        return render(request, "not_found.html", who, status_code=404)
    except HubError as e:
        return _refused(request, ctx, who, ticket_id, e)
    return _back(ticket_id, "commented")


@router.post(PATH + "/tickets/{ticket_id}/attach")
async def attach(
    request: Request,
    file: UploadFile,
    ticket_id: str = TicketId,
    ctx: WebContext = Depends(context),
    who: Customer = Depends(customer),
) -> Response:
    """Attach a file (at most ``HUB_MAX_ATTACHMENT_BYTES``) to the open ticket."""
    try:
        content = await read_upload(file, ctx.settings.max_attachment_bytes)
    except HTTPException as e:
        return await run_in_threadpool(
            _refused, request, ctx, who, ticket_id, HubError(str(e.detail)), e.status_code
        )
    name = file.filename or "attachment"
    ctype = file.content_type or "application/octet-stream"

    def run() -> Response:
        try:
            with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
                t = portal.own_ticket(uow, who.customer_id, ticket_id)
                if t.status != "open":
                    raise HubError(N_("This ticket is closed: it can no longer be changed."))
                store_attachment(ctx, uow, t, name, content, ctype, by=who.customer_id)
        except TicketNotFound:
            return render(request, "not_found.html", who, status_code=404)
        except HubError as e:
            return _refused(request, ctx, who, ticket_id, e)
        return _back(ticket_id, "attached")

    return await run_in_threadpool(run)


@router.get(PATH + "/tickets/{ticket_id}/attachments/{attachment_id}")
def download(
    request: Request,
    ticket_id: str = TicketId,
    attachment_id: int = Path(ge=1, le=MAX_ID),
    ctx: WebContext = Depends(context),
    who: Customer = Depends(customer),
) -> Response:
    try:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            portal.own_ticket(uow, who.customer_id, ticket_id)
    except TicketNotFound:
        return render(request, "not_found.html", who, status_code=404)
    try:
        return stream_attachment(ctx, who.tenant, ticket_id, attachment_id)
    except HTTPException as e:
        return render(request, "not_found.html", who, status_code=e.status_code)


@router.post(PATH + "/tickets/{ticket_id}/decide")
def decide(
    request: Request,
    ticket_id: str = TicketId,
    stage: str = Form("", max_length=200),
    reason: str = Form("", max_length=2000),
    ctx: WebContext = Depends(context),
    who: Customer = Depends(customer),
) -> Response:
    """Approve or reject: a move to an approval or rejection stage, while the customer holds
    the ticket."""
    try:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            portal.decide(uow, who.customer_id, ticket_id, stage, reason.strip() or None)
    except TicketNotFound:
        return render(request, "not_found.html", who, status_code=404)
    except HubError as e:
        return _refused(request, ctx, who, ticket_id, e)
    return _back(ticket_id, "decided")


# --- opening a request --------------------------------------------------------------------


def _groups(config: WorkflowConfig) -> list[dict[str, Any]]:
    out = []
    for group_id, types in portal.portal_types(config).items():
        group = config.service_groups.get(group_id)
        out.append(
            {
                "id": group_id,
                "name": group.name if group is not None else group_id,
                "description": group.description if group is not None else "",
                "types": [
                    {"id": tid, "name": tt.name, "description": tt.description} for tid, tt in types
                ],
            }
        )
    return out


def _new(
    request: Request,
    ctx: WebContext,
    who: Customer,
    group: str | None,
    type_id: str | None,
    *,
    given: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    config = _config(ctx, who.tenant)
    groups = _groups(config) if config is not None else []
    chosen_group = next((g for g in groups if g["id"] == group), None)
    fields: list[portal.FieldView] = []
    chosen_type = None
    if config is not None and type_id:
        try:
            tt = portal.portal_type(config, type_id)
        except HubError:
            tt = None
        if tt is not None:
            chosen_type = {"id": type_id, "name": tt.name, "description": tt.description}
            chosen_group = next((g for g in groups if g["id"] == tt.group), chosen_group)
            fields = portal.opening_fields(
                tt, opening.choices_for(ctx.uow, config, who.tenant, who.customer_id, type_id)
            )
    return render(
        request,
        "new.html",
        who,
        status_code=status_code,
        groups=groups,
        group=chosen_group,
        type=chosen_type,
        fields=fields,
        given=given or {},
        error=error,
        nonce=(given or {}).get("nonce") or secrets.token_urlsafe(16),
    )


@router.get(PATH + "/new")
def new_page(
    request: Request,
    group: str | None = None,
    type: str | None = None,
    ctx: WebContext = Depends(context),
    who: Customer = Depends(customer),
) -> HTMLResponse:
    """Open a request: choose a service group, then one of its types, then fill it in."""
    return _new(request, ctx, who, (group or "")[:200] or None, (type or "")[:200] or None)


@router.post(PATH + "/new")
async def open_request(
    request: Request,
    ctx: WebContext = Depends(context),
    who: Customer = Depends(customer),
) -> Response:
    form = await request.form()
    given = {str(k): str(v)[:10_000] for k, v in list(form.items())[:200] if isinstance(v, str)}
    type_id = given.get("type", "")[:200]
    values = {k.removeprefix("field."): v for k, v in given.items() if k.startswith("field.")}
    nonce = given.get("nonce", "")[:40] or secrets.token_urlsafe(16)
    config = await run_in_threadpool(_config, ctx, who.tenant)

    def run() -> Response:
        if config is None:
            return _new(
                request,
                ctx,
                who,
                None,
                None,
                status_code=409,
                error=translate(request, who, N_("Nothing can be opened yet.")),
            )
        try:
            asked = opening.PortalRequest(
                tenant=who.tenant,
                customer_id=who.customer_id,
                type_id=type_id,
                subject=given.get("subject", ""),
                description=given.get("description", ""),
                values=values,
                nonce=nonce,
                email=who.email,
            )
            opened = opening.open_from_portal(ctx.uow, config, asked)
        except opening.Refused as e:
            problem = translate(request, who, _REFUSALS.get(e.reason, str(e)))
            return _new(
                request, ctx, who, None, type_id, given=given, error=problem, status_code=409
            )
        except HubError as e:
            return _new(
                request,
                ctx,
                who,
                None,
                type_id,
                given=given,
                error=translate(request, who, e),
                status_code=400,
            )
        return RedirectResponse(f"{PATH}/tickets/{opened.ticket_id}?done=opened", status_code=303)

    return await run_in_threadpool(run)


#: why an integration refused a request, for the customer
_REFUSALS = {
    "not_enrolled": N_("You are not enrolled in an academic period."),
    "contract_inactive": N_("Your contract is not active."),
    "outside_window": N_("This type of request is not accepted on this date."),
    "has_debts": N_("The request cannot be opened while you have overdue debts."),
    "invalid_parameters": N_("Some of the answers are not valid: please check them."),
}
