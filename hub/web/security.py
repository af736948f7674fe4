"""Who a request is, and what it may do: one place for the API and the console.

- The API takes a bearer token (``Authorization: Bearer hub_...``); a browser signed in to the
  console may call it with its session cookie too, but then every write must carry the
  session's CSRF token in ``X-CSRF-Token``.
- The console's cookie holds a random session id (see ``hub.web.sessions``), never a token.
  Every cookie-authenticated write (a form, or an API call) must come from the hub's own
  origin (``Origin``, else ``Referer``) and carry the CSRF token (form field ``csrf_token`` or
  the header).
- Permissions are the user's roles' (``hub.identity``); a request of tenant A never reaches
  anything of tenant B.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request

from hub.identity.access import permissions_of
from hub.identity.permissions import Forbidden, Permissions
from hub.web.context import WebContext
from hub.web.tokens import Principal

COOKIE = "hub_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class LoginRequired(Exception):
    """A console page was asked for without a valid session."""


class CsrfRefused(Exception):
    """A cookie-authenticated write without the session's CSRF token or from another origin."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def bearer_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def authenticate(request: Request) -> Principal | None:
    """The request's principal (bearer token, else the console's session), or ``None``."""
    if hasattr(request.state, "principal"):
        return request.state.principal  # type: ignore[no-any-return]
    ctx = context(request)
    found: Principal | None = None
    token = bearer_of(request)
    if token is not None:
        found = ctx.tokens.verify(token)
    else:
        raw = request.cookies.get(COOKIE)
        session = ctx.sessions.find(raw, kind="staff") if raw else None
        if session is not None:
            found = Principal(
                0, session.user, session.tenant, session.user, "session", session.raw_id
            )
            request.state.csrf_token = session.csrf_token
    if found is not None and not permissions_of_request(request, found).roles:
        found = None  # an unknown, disabled or role-less user has nothing to do here
    request.state.principal = found
    return found


def permissions_of_request(request: Request, who: Principal) -> Permissions:
    cached = getattr(request.state, "permissions", None)
    if cached is not None and cached.user == who.user:
        return cached  # type: ignore[no-any-return]
    with context(request).uow.sessions() as session:
        granted = permissions_of(session, who.tenant, who.user)
    request.state.permissions = granted
    return granted


def same_origin(request: Request) -> bool:
    """Whether the request says it comes from the hub's own origin (``Origin``, else
    ``Referer``); a request saying neither is not."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed or claimed == "null":
        return False
    parts = urlsplit(claimed)
    return (parts.scheme, parts.netloc) == (request.url.scheme, request.url.netloc)


async def check_csrf(request: Request, who: Principal | None) -> None:
    """Refuse a cookie-authenticated write without the CSRF token, or from another origin."""
    if request.method not in UNSAFE or who is None or who.kind != "session":
        return
    await verify_csrf(request, getattr(request.state, "csrf_token", None))


async def verify_csrf(request: Request, expected: str | None) -> None:
    """Refuse a write from another origin, or without the session's CSRF token ``expected``
    (form field ``csrf_token`` or the ``X-CSRF-Token`` header). The console and the portal
    both check their sessions' writes here."""
    if request.method not in UNSAFE:
        return
    if not same_origin(request):
        raise CsrfRefused("this request does not come from the hub's own pages")
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not expected or not given or not _equal(given, expected):
        raise CsrfRefused("the form has expired or lacks its CSRF token; reload the page")


def _equal(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode(), b.encode())


async def principal(request: Request) -> Principal:
    """The API's caller (401 without a valid token or session, 403 for a refused CSRF check)."""
    from fastapi.concurrency import run_in_threadpool

    found = await run_in_threadpool(authenticate, request)
    if found is None:
        raise HTTPException(
            401, "a valid API token is needed", headers={"WWW-Authenticate": "Bearer"}
        )
    try:
        await check_csrf(request, found)
    except CsrfRefused as e:
        raise HTTPException(403, e.why) from None
    return found


def require(module: str, action: str) -> Callable[..., Any]:
    """A dependency admitting callers whose roles grant ``action`` on ``module`` (API: 401 /
    403 naming the missing permission)."""

    def check(request: Request, who: Principal = Depends(principal)) -> Principal:
        try:
            permissions_of_request(request, who).check(module, action)
        except Forbidden as e:
            raise HTTPException(403, str(e)) from None
        return who

    return check


async def console_user(request: Request) -> Principal:
    """The console's principal; without a valid session the browser goes to the sign-in page.
    A write must pass the CSRF check."""
    from fastapi.concurrency import run_in_threadpool

    found = await run_in_threadpool(authenticate, request)
    if found is None or found.kind != "session":
        raise LoginRequired()
    await check_csrf(request, found)
    return found


def allowed(request: Request, who: Principal, module: str, action: str) -> bool:
    return permissions_of_request(request, who).allows(module, action)
