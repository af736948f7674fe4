"""The console's page of the customer portal: the tenant's portal accounts (invite, disable,
enable) and its portal settings (the default attendant, e-mails to customers)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from hub.identity.permissions import Forbidden
from hub.portal import accounts
from hub.portal.settings import change_portal_settings, portal_settings
from hub.runtime.uow import Cause
from hub.web.console import act, page
from hub.web.context import WebContext
from hub.web.security import console_user, context, permissions_of_request
from hub.web.sessions import set_customer_status
from hub.web.tokens import Principal

router = APIRouter(include_in_schema=False)
HERE = "/portal-accounts"


@router.get(HERE)
def accounts_page(
    request: Request, ctx: WebContext = Depends(context), who: Principal = Depends(console_user)
) -> HTMLResponse:
    try:
        permissions_of_request(request, who).check("users", "view")
    except Forbidden as e:
        return page(request, "error.html", who, problem=str(e))
    with ctx.uow.sessions() as s:
        found = accounts.accounts(s, who.tenant)
        chosen = portal_settings(s, who.tenant)
    return page(
        request,
        "portal_accounts.html",
        who,
        accounts=found,
        settings=chosen,
        public_url=ctx.settings.effective_public_url,
    )


@router.post(HERE + "/invite")
async def invite(
    request: Request,
    customer_id: str = Form("", max_length=accounts.MAX_CUSTOMER_ID),
    email: str = Form("", max_length=accounts.MAX_EMAIL),
    language: str = Form("", max_length=10),
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    def run() -> str:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            sent = accounts.invite(
                uow,
                customer_id,
                email,
                by=who.user,
                public_url=ctx.settings.effective_public_url,
                language=language or None,
            )
        return f"invitation to {sent.account.email} queued (mail {sent.mail_id})"

    return await run_in_threadpool(act, request, who, ("users", "include"), HERE, run)


@router.post(HERE + "/{customer_id}/{verb}")
def set_status(
    request: Request,
    customer_id: str,
    verb: str,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    def run() -> str:
        if verb not in ("disable", "enable"):
            raise accounts.PortalError(f"unknown action {verb[:20]!r}")
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            account = set_customer_status(uow, customer_id, enabled=verb == "enable", by=who.user)
        return f"{account.customer_id}: {account.status}"

    return act(request, who, ("users", "edit"), HERE, run)


@router.post("/settings/portal")
def change_settings(
    request: Request,
    default_attendant: str = Form("", max_length=200),
    customer_mail: str = Form("", max_length=10),
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    def run() -> str:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            change_portal_settings(
                uow.session,
                uow.tenant,
                default_attendant=default_attendant,
                customer_mail=customer_mail == "on",
            )
        return "portal settings saved"

    return act(request, who, ("settings", "edit"), HERE, run)
