"""The console's operator desk: walk down the script tree, read each item's message, fill the
item's form and record the occurrence with its complement (the same functions as the API)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from hub.contact import occurrences
from hub.contact.desk import script_item, script_tree
from hub.errors import HubError
from hub.identity.permissions import Forbidden
from hub.runtime.uow import Cause
from hub.web.console import act, page
from hub.web.context import WebContext
from hub.web.security import console_user, context, permissions_of_request
from hub.web.tokens import Principal
from hub.workflow.errors import InvalidParameters

router = APIRouter(include_in_schema=False)


@router.get("/desk")
def desk_page(
    request: Request,
    item: str | None = None,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> HTMLResponse:
    try:
        permissions_of_request(request, who).check("tickets", "view")
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            tree = script_tree(uow, who.user)
            chosen: dict[str, Any] | None = script_item(uow, item, who.user) if item else None
    except (HubError, Forbidden) as e:
        return page(request, "error.html", who, problem=str(e))
    return page(request, "desk.html", who, tree=tree, item=chosen)


@router.post("/desk")
async def desk_record(
    request: Request, ctx: WebContext = Depends(context), who: Principal = Depends(console_user)
) -> RedirectResponse:
    form = await request.form()
    item = str(form.get("item") or "")
    customer = str(form.get("customer_id") or "")
    fields = {
        str(k)[len("field.") :]: str(v)
        for k, v in form.items()
        if str(k).startswith("field.") and str(v).strip()
    }
    complement = {k: str(form.get(k)) for k in ("status", "responsible", "outcome") if form.get(k)}

    def run() -> str:
        if not customer.strip():
            raise InvalidParameters("the customer is required")
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            done = occurrences.record_from_script(
                uow, item, fields=fields, customer_id=customer, complement=complement, by=who.user
            )
        verb = "opened" if done.opened else "added to"
        return f"occurrence {done.occurrence_id} recorded: {verb} ticket {done.ticket_id}"

    back = f"/desk?item={quote(item)}"
    return await run_in_threadpool(act, request, who, ("tickets", "include"), back, run)
