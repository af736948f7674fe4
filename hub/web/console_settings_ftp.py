"""The console's file-server page: each company's and branch's FTP/SFTP server, a form to set
one (the password field is never filled in) and the button that sends a test file. The same
functions as ``hub settings ftp`` and ``/api/settings/ftp``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from hub.files import servers
from hub.files.stores import upload_test_file
from hub.identity.permissions import Forbidden
from hub.runtime.uow import Cause
from hub.web.console import act, page
from hub.web.context import WebContext
from hub.web.security import console_user, context, permissions_of_request
from hub.web.tokens import Principal

router = APIRouter(include_in_schema=False)
PAGE = "/settings/ftp"
#: The longest value of a form field that is not a password.
MAX_FIELD = max(servers.MAX_HOST, servers.MAX_FOLDER)


@router.get(PAGE)
def file_servers_page(
    request: Request, ctx: WebContext = Depends(context), who: Principal = Depends(console_user)
) -> HTMLResponse:
    try:
        permissions_of_request(request, who).check("settings", "view")
    except Forbidden as e:
        return page(request, "error.html", who, problem=str(e))
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        rows = [servers.view(r) for r in servers.listing(uow.session, uow.tenant)]
    return page(
        request,
        "file_servers.html",
        who,
        servers=rows,
        protocols=servers.PROTOCOLS,
        transfers=servers.TRANSFERS,
        limits=servers,
    )


@router.post(PAGE)
async def file_server_set(
    request: Request, ctx: WebContext = Depends(context), who: Principal = Depends(console_user)
) -> RedirectResponse:
    form = await request.form()
    field = {k: str(form.get(k) or "").strip()[: MAX_FIELD + 1] for k in _FIELDS}
    password = str(form.get("password") or "")[: servers.MAX_PASSWORD + 1] or None

    def run() -> str:
        protocol = field["protocol"]
        port = field["port"]
        if port and not port.isdigit():
            raise servers.InvalidFileServer(f"port {port[:10]!r}: from 1 to 65535")
        change = servers.Change(
            field["company"],
            field["branch"] or None,
            field["host"],
            int(port) if port else servers.DEFAULT_PORTS.get(protocol, 0),
            field["folder"],
            field["user"],
            password,
            protocol,
            field["transfer"] or "hub",
        )
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            servers.put(
                uow.session, uow.tenant, change, box=ctx.secrets, by=who.user, now=uow.now()
            )
        return f"{_label(change.company, change.branch)}: saved"

    return await run_in_threadpool(act, request, who, ("settings", "edit"), PAGE, run)


@router.post(f"{PAGE}/test")
async def file_server_test(
    request: Request, ctx: WebContext = Depends(context), who: Principal = Depends(console_user)
) -> RedirectResponse:
    form = await request.form()
    company = str(form.get("company") or "")[: servers.MAX_CODE + 1]
    branch = str(form.get("branch") or "")[: servers.MAX_CODE + 1] or None

    def run() -> str:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            row = servers.get(uow.session, uow.tenant, company, branch)
            endpoint = servers.endpoint(row, ctx.secrets)
        return f"{_label(company, branch)}: {upload_test_file(endpoint)}"

    return await run_in_threadpool(act, request, who, ("settings", "edit"), PAGE, run)


_FIELDS = ("company", "branch", "host", "port", "folder", "user", "protocol", "transfer")


def _label(company: str, branch: str | None) -> str:
    return f"company {company}" if branch is None else f"branch {company}/{branch}"
