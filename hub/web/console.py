"""The web console: server-rendered pages over the same functions as the API. Log in by pasting
a token (kept in an HTTP-only cookie); parts of the pages refresh themselves every few seconds.
A refused action comes back as a message on the page it was made from.

This module has the shared helpers, logging in, the overview and the message trace; the
dead-letter pages are in ``console_letters``, the tickets board and pages in ``console_tickets``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from hub import __version__
from hub.errors import HubError
from hub.runtime.overview import overview
from hub.runtime.trace import timeline
from hub.web.context import WebContext
from hub.web.security import COOKIE, console_user, context
from hub.web.tokens import Principal

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["version"] = __version__
router = APIRouter(include_in_schema=False)


def page(request: Request, name: str, who: Principal | None, **values: Any) -> HTMLResponse:
    values.update(
        who=who,
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


def act(who: Principal, role: str, path: str, action: Callable[[], str]) -> RedirectResponse:
    """Run a console action if the token's role allows it; report the outcome on ``path``."""
    if not who.has(role):
        return back(path, error=f"the {who.role} role may not do this (needs {role})")
    try:
        return back(path, msg=action())
    except HubError as e:
        return back(path, error=str(e))


# --- logging in -------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return page(request, "login.html", None, next=next)


@router.post("/login")
def login(
    request: Request,
    token: str = Form(...),
    next: str = Form("/"),
    ctx: WebContext = Depends(context),
) -> Response:
    who = ctx.tokens.verify(token.strip())
    if who is None:
        return back(f"/login?next={quote(next)}", error="this token is not valid (or revoked)")
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict", max_age=86400 * 7)
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


# --- overview ---------------------------------------------------------------------------


@router.get("/")
def overview_page(
    request: Request, ctx: WebContext = Depends(context), who: Principal = Depends(console_user)
) -> HTMLResponse:
    return page(
        request,
        "overview.html",
        who,
        data=overview(ctx.uow, ctx.transport, ctx.queues, ctx.sampler),
    )


@router.get("/live/overview")
def overview_live(
    request: Request, ctx: WebContext = Depends(context), who: Principal = Depends(console_user)
) -> HTMLResponse:
    data = overview(ctx.uow, ctx.transport, ctx.queues, ctx.sampler)
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
    steps = timeline(ctx.uow, cid) if cid else []
    return page(request, "trace.html", who, correlation_id=cid, steps=steps)
