"""Authentication and role checks for the API (bearer token) and the console (cookie)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request

from hub.web.context import WebContext
from hub.web.tokens import Principal

COOKIE = "hub_token"


class LoginRequired(Exception):
    """A console page was asked for without a valid token cookie."""


def context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE)


def authenticate(request: Request) -> Principal | None:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token = token_of(request)
    found = context(request).tokens.verify(token) if token else None
    request.state.principal = found
    return found


def principal(request: Request) -> Principal:
    found = authenticate(request)
    if found is None:
        raise HTTPException(
            401, "a valid API token is needed", headers={"WWW-Authenticate": "Bearer"}
        )
    return found


def require(role: str) -> Callable[..., Principal]:
    """A dependency admitting tokens of ``role`` or a stronger one (API: 401 / 403)."""

    def check(who: Principal = Depends(principal)) -> Principal:
        if not who.has(role):
            raise HTTPException(403, f"the {who.role} role may not do this (needs {role})")
        return who

    return check


def console_user(request: Request) -> Principal:
    """The console's principal; a missing or bad cookie sends the browser to the login page."""
    found = authenticate(request)
    if found is None:
        raise LoginRequired()
    return found
