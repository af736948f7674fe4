"""The console's SMTP settings page: one form per company or branch of the tenant (the
password is write-only: left empty, the stored one is kept), a form for a new one, and the
"Send a test e-mail" button, whose one-line outcome comes back on the page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from hub.errors import HubError
from hub.identity.permissions import Forbidden
from hub.mail import service
from hub.mail.servers import SECURE, SmtpSetting
from hub.runtime.uow import Cause
from hub.web.console import act, page
from hub.web.context import WebContext
from hub.web.security import console_user, context, permissions_of_request
from hub.web.tokens import Principal

router = APIRouter(include_in_schema=False)
PATH = "/settings/smtp"


class MailCheckFailed(HubError):
    """The test e-mail did not go through; the message is the one-line reason."""


@router.get(PATH)
def smtp_page(
    request: Request, ctx: WebContext = Depends(context), who: Principal = Depends(console_user)
) -> HTMLResponse:
    try:
        permissions_of_request(request, who).check("settings", "view")
    except Forbidden as e:
        return page(request, "error.html", who, problem=str(e))
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        servers = service.list_servers(uow)
    return page(request, "settings_smtp.html", who, servers=servers, secures=SECURE)


def _text(form: FormData, name: str) -> str | None:
    value = str(form.get(name) or "").strip()
    return value or None


@router.post(PATH)
async def smtp_save(
    request: Request, ctx: WebContext = Depends(context), who: Principal = Depends(console_user)
) -> RedirectResponse:
    form = await request.form()
    values = {
        k: _text(form, k)
        for k in ("company", "branch", "host", "port", "sender", "sender_name", "username")
    }
    values["secure"] = _text(form, "secure") or "none"
    values["delay_seconds"] = _text(form, "delay_seconds") or "0"
    primary = form.get("primary") == "1"
    password = str(form.get("password") or "") or None

    def run() -> str:
        setting = SmtpSetting.of(**values, primary=primary)
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            shown = service.set_server(
                uow,
                setting,
                password=password,
                box=ctx.secrets,
                by=who.user,
            )
        where = f"{shown['company']}/{shown['branch']}" if shown["branch"] else shown["company"]
        return f"SMTP setting of {where} saved"

    return await run_in_threadpool(act, request, who, ("settings", "edit"), PATH, run)


@router.post(PATH + "/test")
async def smtp_test(
    request: Request, ctx: WebContext = Depends(context), who: Principal = Depends(console_user)
) -> RedirectResponse:
    form = await request.form()
    company, branch = _text(form, "company") or "", _text(form, "branch")

    def run() -> str:
        result = service.send_test_mail(
            ctx.uow,
            who.tenant,
            company,
            branch,
            box=ctx.secrets,
        )
        if not result.ok:
            raise MailCheckFailed(result.line)
        return result.line

    return await run_in_threadpool(act, request, who, ("settings", "edit"), PATH, run)
