"""The web console: server-rendered pages over the same functions as the API. Sign in with a
user's password or an API token; the browser then holds only a server-side session's id (an
HTTP-only cookie), and every form carries the session's CSRF token. Parts of the pages refresh
themselves every few seconds. A refused action comes back as a message on the page it was made
from.

This module has the shared helpers, logging in, the overview and the message trace; the
dead-letter pages are in ``console_letters``, the tickets board and pages in ``console_tickets``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from hub import __version__
from hub.errors import HubError
from hub.identity.access import permissions_of
from hub.identity.passwords import verify_password
from hub.identity.permissions import Forbidden
from hub.identity.users import Users
from hub.runtime.overview import overview
from hub.runtime.trace import timeline
from hub.store.models import DEFAULT_TENANT
from hub.tenancy.tenants import check_tenant_id
from hub.web.context import WebContext
from hub.web.security import (
    COOKIE,
    CSRF_FIELD,
    allowed,
    console_user,
    context,
    permissions_of_request,
    same_origin,
)
from hub.web.tokens import Principal

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["version"] = __version__
router = APIRouter(include_in_schema=False)


def csrf_input(request: Request) -> Markup:
    """The hidden field every console form carries: the session's CSRF token."""
    token = getattr(request.state, "csrf_token", "") or ""
    return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">')


templates.env.globals["csrf_input"] = csrf_input


def page(request: Request, name: str, who: Principal | None, **values: Any) -> HTMLResponse:
    values.update(
        who=who,
        may=(lambda module, action: allowed(request, who, module, action)) if who else None,
        my_roles=sorted(permissions_of_request(request, who).roles) if who else [],
        message=request.query_params.get("msg"),
        error=request.query_params.get("error"),
    )
    return templates.TemplateResponse(request, name, values)


def back(path: str, *, msg: str | None = None, error: str | None = None) -> RedirectResponse:
    sep = "&" if "?" in path else "?"
    if msg:
        path += f"{sep}msg={quote(msg)}"
    elif error:
        path += f"{sep}error={quote(error)}"
    return RedirectResponse(path, status_code=303)


def act(
    request: Request,
    who: Principal,
    permission: tuple[str, str] | None,
    path: str,
    action: Callable[[], str],
) -> RedirectResponse:
    """Run a console action if the user's roles grant ``permission`` (module, action); report
    the outcome on ``path``."""
    try:
        if permission is not None:
            permissions_of_request(request, who).check(*permission)
        return back(path, msg=action())
    except (HubError, Forbidden) as e:
        return back(path, error=str(e))


# --- logging in -------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str = "/", tenant: str = DEFAULT_TENANT) -> HTMLResponse:
    return page(request, "login.html", None, next=next, tenant=tenant)


@router.post("/login")
async def login(
    request: Request,
    tenant: str = Form(DEFAULT_TENANT, max_length=63),
    user: str = Form("", max_length=200),
    password: str = Form("", max_length=1024),
    token: str = Form("", max_length=200),
    next: str = Form("/", max_length=2000),
    ctx: WebContext = Depends(context),
) -> Response:
    """Sign in with a user's password (per tenant) or an API token; failures are counted per
    user and per address, and too many in a row are refused for a while."""
    again = f"/login?next={quote(next)}&tenant={quote(tenant)}"
    if not same_origin(request):
        return back(again, error="sign in from the hub's own sign-in page")
    address = request.client.host if request.client else "?"
    keys = [f"address:{address}", f"user:{tenant}/{user or token[:10]}"]
    wait = ctx.sign_ins.wait(*keys)
    if wait > 0:
        return back(again, error=f"too many failed sign-ins: try again in {int(wait) + 1} s")
    who = await run_in_threadpool(_sign_in, ctx, tenant.strip(), user.strip(), password, token)
    if who is None:
        ctx.sign_ins.failed(*keys)
        return back(again, error="wrong user, password or token")
    ctx.sign_ins.succeeded(*keys)
    session = await run_in_threadpool(
        ctx.sessions.open, who[0], who[1], kind="staff", address=address
    )
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        session.raw_id,
        httponly=True,
        samesite="strict",
        secure=ctx.settings.cookie_secure,
        max_age=int(ctx.settings.session_hours * 3600),
        path="/",
    )
    return response


def _sign_in(
    ctx: WebContext, tenant: str, user: str, password: str, token: str
) -> tuple[str, str] | None:
    """(tenant, user) when the password or the token is right and the user may work here."""
    if token.strip():
        found = ctx.tokens.verify(token.strip())
        if found is None:
            return None
        tenant, user = found.tenant, found.user
    else:
        try:
            check_tenant_id(tenant)
        except HubError:
            return None
        with ctx.uow.sessions() as s:
            row = Users(s, tenant).find(user) if user else None
            stored = row.password_hash if row is not None else None
        if not verify_password(stored, password):
            return None
    with ctx.uow.sessions() as s:
        if not permissions_of(s, tenant, user).roles:
            return None  # unknown, pending, disabled, or given no role
    return tenant, user


@router.post("/logout")
async def logout(request: Request, who: Principal = Depends(console_user)) -> Response:
    ctx = context(request)
    if who.session_id:
        await run_in_threadpool(ctx.sessions.revoke, who.session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# --- overview ---------------------------------------------------------------------------


@router.get("/")
def overview_page(
    request: Request, ctx: WebContext = Depends(context), who: Principal = Depends(console_user)
) -> Response:
    if not allowed(request, who, "operations", "view"):
        return RedirectResponse("/tickets", status_code=303)  # a user's home is their tickets
    return page(
        request,
        "overview.html",
        who,
        data=overview(ctx.uow, ctx.transport, ctx.queues, ctx.sampler, tenant=who.tenant),
    )


@router.get("/live/overview")
def overview_live(
    request: Request, ctx: WebContext = Depends(context), who: Principal = Depends(console_user)
) -> HTMLResponse:
    data = overview(ctx.uow, ctx.transport, ctx.queues, ctx.sampler, tenant=who.tenant)
    return page(request, "_overview.html", who, data=data)


# --- message trace ----------------------------------------------------------------------


@router.get("/trace")
def trace_page(
    request: Request,
    correlation_id: str = "",
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> HTMLResponse:
    cid = correlation_id.strip()
    steps = timeline(ctx.uow, cid, tenant=who.tenant) if cid else []
    return page(request, "trace.html", who, correlation_id=cid, steps=steps)
