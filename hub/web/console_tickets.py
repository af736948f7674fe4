"""The console's tickets board (per type, one column per stage) and ticket page (fields with
their stage rules, allowed moves, history, discussion, attachments)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.errors import HubError
from hub.identity.permissions import Forbidden
from hub.runtime.uow import Cause
from hub.web.api_tickets import attach, attachment_download
from hub.web.attachments import read_upload
from hub.web.console import act, back, page
from hub.web.context import WebContext
from hub.web.security import console_user, context
from hub.web.tokens import Principal
from hub.workflow import access, service
from hub.workflow.access import visible_ticket
from hub.workflow.errors import NoConfiguration, WorkflowError
from hub.workflow.repository import TicketFilter, TicketRepository
from hub.workflow.views import ticket_json

# --- tickets ----------------------------------------------------------------------------

router = APIRouter(include_in_schema=False)


def _board(
    ctx: WebContext, who: Principal, ticket_type: str | None, status: str | None
) -> dict[str, Any]:
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        try:
            _, config = service.current_config(uow)
        except NoConfiguration:
            return {"types": [], "status": status or "", "type": ticket_type or ""}
        where = TicketFilter(ticket_type or None, None, status or None, limit=500)
        try:
            where = access.listing(uow, who.user, where, filtered=bool(ticket_type or status))
        except Forbidden as e:
            return {
                "types": [],
                "status": status or "",
                "type": ticket_type or "",
                "refused": str(e),
            }
        repo = TicketRepository(uow.session, uow.tenant)
        tickets = [ticket_json(t) for t in repo.search(where)]
    types = []
    for type_id, tt in config.ticket_types.items():
        if ticket_type and type_id != ticket_type:
            continue
        mine = [t for t in tickets if t["type"] == type_id]
        stages = sorted(tt.stages.items(), key=lambda kv: (kv[1].order, kv[0]))
        columns = [
            {
                "id": sid,
                "name": stage.name or sid,
                "purpose": stage.purpose,
                "tickets": [t for t in mine if t["stage"] == sid],
            }
            for sid, stage in stages
        ]
        types.append({"id": type_id, "name": tt.name, "columns": columns, "count": len(mine)})
    return {
        "types": types,
        "status": status or "",
        "type": ticket_type or "",
        "all_types": list(config.ticket_types),
    }


@router.get("/tickets")
def board_page(
    request: Request,
    type: str | None = None,
    status: str | None = None,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> HTMLResponse:
    return page(request, "board.html", who, **_board(ctx, who, type, status))


@router.get("/live/tickets")
def board_live(
    request: Request,
    type: str | None = None,
    status: str | None = None,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> HTMLResponse:
    return page(request, "_board.html", who, **_board(ctx, who, type, status))


@router.get("/tickets/{ticket_id}")
def ticket_page(
    request: Request,
    ticket_id: str,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> HTMLResponse:
    try:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            ticket = visible_ticket(uow, who.user, ticket_id)
            data = ticket_json(ticket, uow)
            tt = ticket.ticket_type
            rules = ticket.current_stage.fields
            fields = [
                {
                    "name": name,
                    "label": p.label or name,
                    "type": p.type,
                    # a closed ticket is read-only as a whole
                    "rule": rules.get(name, "editable") if ticket.status == "open" else "read_only",
                    "value": ticket.parameters.get(name),
                    "options": p.options or [],
                }
                for name, p in tt.parameters.items()
                if rules.get(name) != "invisible"
            ]
            stage_names = {sid: s.name or sid for sid, s in tt.stages.items()}
            ticket_may = {
                "cancel": ticket.status == "open" and allowed(ticket.check_may_cancel, who.user),
                "delete": allowed(ticket.check_may_delete, who.user),
            }
            classification_names = {k: c.name for k, c in ticket.config.classifications.items()}
    except (HubError, Forbidden) as e:
        return page(request, "error.html", who, problem=str(e))
    return page(
        request,
        "ticket.html",
        who,
        t=data,
        fields=fields,
        type_name=tt.name,
        stage_names=stage_names,
        classification_names=classification_names,
        chain=ticket.correlation_id,
        ticket_may=ticket_may,
    )


def allowed(check: Callable[[str], None], user: str) -> bool:
    """Whether ``check(user)`` lets ``user`` through (a workflow rule's ``check_may_...``)."""
    try:
        check(user)
    except WorkflowError:
        return False
    return True


@router.post("/tickets/{ticket_id}/move")
async def ticket_move(
    request: Request,
    ticket_id: str,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    form = await request.form()
    stage = str(form.get("stage") or "")
    reason = str(form.get("reason") or "") or None
    key = str(form.get("action_key") or "") or None
    fields = {
        str(k).removeprefix("field."): str(v)
        for k, v in form.items()
        if str(k).startswith("field.") and str(v).strip() != ""
    }

    def run() -> str:
        aid = f"console:{who.key}:{key}" if key else None
        with ctx.uow(Cause.action(aid, tenant=who.tenant)) as uow:
            visible_ticket(uow, who.user, ticket_id, "edit")
            t = service.move_ticket(
                uow, ticket_id, stage, reason=reason, by=who.user, fields=fields, action_id=aid
            )
        return f"{ticket_id} moved to {t.stage}"

    return await run_in_threadpool(act, request, who, None, f"/tickets/{ticket_id}", run)


@router.post("/tickets/{ticket_id}/classify")
def ticket_classify(
    request: Request,
    ticket_id: str,
    classification: str = Form(""),
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    def run() -> str:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            visible_ticket(uow, who.user, ticket_id, "edit")
            service.classify_ticket(uow, ticket_id, classification, by=who.user)
        return f"{ticket_id} classified {classification}"

    return act(request, who, None, f"/tickets/{ticket_id}", run)


@router.post("/tickets/{ticket_id}/comment")
def ticket_comment(
    request: Request,
    ticket_id: str,
    text: str = Form("", max_length=10_000),
    internal: str = Form("", max_length=10),
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    def run() -> str:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            visible_ticket(uow, who.user, ticket_id, "edit")
            service.comment_ticket(uow, ticket_id, text, by=who.user, internal=bool(internal))
        return "internal note added" if internal else "comment added"

    return act(request, who, None, f"/tickets/{ticket_id}", run)


@router.post("/tickets/{ticket_id}/cancel")
def ticket_cancel(
    request: Request,
    ticket_id: str,
    reason: str = Form(""),
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    def run() -> str:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            visible_ticket(uow, who.user, ticket_id, "edit")
            service.cancel_ticket(uow, ticket_id, reason=reason, by=who.user)
        return f"{ticket_id} cancelled"

    return act(request, who, None, f"/tickets/{ticket_id}", run)


@router.post("/tickets/{ticket_id}/delete")
def ticket_delete(
    request: Request,
    ticket_id: str,
    reason: str = Form("", max_length=2000),
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    """Delete the cancelled ticket; back to the list once it is gone."""
    try:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            visible_ticket(uow, who.user, ticket_id, "delete")
            service.delete_ticket(uow, ticket_id, reason=reason, by=who.user)
    except (HubError, Forbidden) as e:
        return back(f"/tickets/{ticket_id}", error=str(e))
    return back("/tickets", msg=f"{ticket_id} deleted; its tombstone keeps who, when and why")


@router.post("/tickets/{ticket_id}/attach")
async def ticket_attach(
    request: Request,
    ticket_id: str,
    file: UploadFile,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    try:
        content = await read_upload(file, ctx.settings.max_attachment_bytes)
    except HTTPException as e:
        return back(f"/tickets/{ticket_id}", error=str(e.detail))
    name = file.filename or "attachment"
    ctype = file.content_type or "application/octet-stream"

    def run() -> str:
        attach(ctx, who, ticket_id, name, content, ctype)
        return f"{name} attached"

    return await run_in_threadpool(act, request, who, None, f"/tickets/{ticket_id}", run)


@router.get("/tickets/{ticket_id}/attachments/{attachment_id}")
def ticket_attachment(
    ticket_id: str,
    attachment_id: int,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> Response:
    return attachment_download(ctx, who, ticket_id, attachment_id)
