"""The customer portal's session, language and pages shared by all its routes: signing in,
the invitation link's password page, the language switch.

- A customer signs in with their tenant's portal address (``/portal/login?tenant=T``), their
  e-mail address and password. The browser then holds a server-side session's id in its own
  cookie (``hub_portal``, path ``/portal``), of kind ``customer``: the console's and the API's
  checks accept only staff sessions and tokens, so a customer never reaches them.
- Every request re-reads the account: a disabled one is signed out at once.
- Every write comes from the hub's own origin and carries the session's CSRF token, as in the
  console; failed sign-ins are counted per address and per e-mail address.
- The language: the page's switch (a cookie), else the account's, else ``Accept-Language``.
  The pages' texts come from the ``portal`` gettext catalog (``hub/portal/locale``).

The tickets' pages are in ``portal_tickets``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_datetime
from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from hub import __version__
from hub.errors import HubError
from hub.identity.passwords import WeakPassword
from hub.portal import accounts
from hub.portal.i18n import LANGUAGES, N_, NAMES, explain, gettext, language_of, negotiate
from hub.store.models import DEFAULT_TENANT
from hub.tenancy.tenants import check_tenant_id
from hub.web.context import WebContext
from hub.web.security import CSRF_FIELD, CsrfRefused, context, same_origin, verify_csrf

COOKIE = "hub_portal"
LANGUAGE_COOKIE = "hub_portal_lang"
PATH = "/portal"
HERE = Path(__file__).parent


@jinja2.pass_context
def _gettext(page: Any, message: str) -> str:
    return gettext(page.get("lang", "pt_BR"), message)


@jinja2.pass_context
def _ngettext(page: Any, singular: str, plural: str, n: int) -> str:
    translated = gettext(page.get("lang", "pt_BR"), singular if n == 1 else plural)
    return translated


@jinja2.pass_context
def _when(page: Any, value: datetime | None) -> str:
    """A date and time in the page's language and the portal's time zone."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    zone = ZoneInfo(context(page["request"]).settings.portal_timezone)
    return format_datetime(value, "short", tzinfo=zone, locale=page.get("lang", "pt_BR"))


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates" / "portal"),
    autoescape=True,
    extensions=["jinja2.ext.i18n"],
)
_env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
_env.filters["when"] = _when
_env.globals["version"] = __version__
_env.globals["LANGUAGES"] = [(code, NAMES[code]) for code in LANGUAGES]
templates = Jinja2Templates(env=_env)
router = APIRouter(include_in_schema=False)


class PortalLoginRequired(Exception):
    """A portal page was asked for without a live customer session."""


@dataclass(frozen=True)
class Customer:
    """The signed-in customer of a portal request."""

    tenant: str
    customer_id: str
    email: str
    language: str | None
    session_id: str
    csrf_token: str


def _find(ctx: WebContext, raw: str | None) -> Customer | None:
    session = ctx.sessions.find(raw, kind="customer") if raw else None
    if session is None:
        return None
    with ctx.uow.sessions() as s:
        account = accounts.find(s, session.tenant, session.user)
    if account is None or account.status != "active":
        ctx.sessions.revoke(session.raw_id)
        return None
    return Customer(
        session.tenant,
        account.customer_id,
        account.email,
        account.language,
        session.raw_id,
        session.csrf_token,
    )


def signed_in(request: Request) -> Customer | None:
    """The request's customer, or ``None`` (no cookie, an ended session, an account no longer
    active)."""
    if hasattr(request.state, "customer"):
        return request.state.customer  # type: ignore[no-any-return]
    found = _find(context(request), request.cookies.get(COOKIE))
    request.state.customer = found
    return found


async def customer(request: Request) -> Customer:
    """The portal's dependency: the signed-in customer (else the sign-in page); a write must
    come from the portal's own pages with the session's CSRF token."""
    found = await run_in_threadpool(signed_in, request)
    if found is None:
        raise PortalLoginRequired()
    await verify_csrf(request, found.csrf_token)
    return found


def language(request: Request, who: Customer | None = None) -> str:
    chosen = language_of(request.cookies.get(LANGUAGE_COOKIE))
    account = who.language if who is not None else None
    return chosen or account or negotiate(request.headers.get("accept-language"))


def translate(request: Request, who: Customer | None, message: str | Exception) -> str:
    """``message`` (a catalog entry, or a refusal) in the request's language."""
    if isinstance(message, Exception):
        return explain(language(request, who), message)
    return gettext(language(request, who), message)


def render(
    request: Request,
    name: str,
    who: Customer | None,
    *,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """A portal page in the request's language."""
    lang = language(request, who)
    token = who.csrf_token if who is not None else ""
    values.update(
        who=who,
        lang=lang,
        lang_tag=lang.replace("_", "-"),
        csrf_input=Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">'),
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    )
    return templates.TemplateResponse(request, name, values, status_code=status_code)


def _cookie(response: Response, ctx: WebContext, name: str, value: str, hours: float) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=ctx.settings.cookie_secure,
        max_age=int(hours * 3600),
        path=PATH,
    )


def _start(ctx: WebContext, account: accounts.Account, address: str, target: str) -> Response:
    session = ctx.sessions.open(
        account.tenant, account.customer_id, kind="customer", address=address
    )
    response = RedirectResponse(target, status_code=303)
    _cookie(response, ctx, COOKIE, session.raw_id, ctx.settings.session_hours)
    return response


def _local(target: str) -> str:
    """``target`` when it is a portal address, else the portal's home."""
    if target.startswith(PATH + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PATH + "/tickets"


# --- signing in ---------------------------------------------------------------------------


@router.get(PATH)
@router.get(PATH + "/")
def home() -> Response:
    return RedirectResponse(PATH + "/tickets", status_code=303)


@router.get(PATH + "/login")
def login_page(
    request: Request, tenant: str = DEFAULT_TENANT, next: str = PATH + "/tickets"
) -> HTMLResponse:
    return render(request, "login.html", None, tenant=tenant[:63], next=_local(next))


@router.post(PATH + "/login")
async def login(
    request: Request,
    tenant: str = Form(DEFAULT_TENANT, max_length=63),
    email: str = Form("", max_length=accounts.MAX_EMAIL),
    password: str = Form("", max_length=1024),
    next: str = Form(PATH + "/tickets", max_length=2000),
    ctx: WebContext = Depends(context),
) -> Response:
    """Sign in with an e-mail address and password; failures are counted per address and per
    e-mail address, and too many in a row are refused for a while."""

    def again(problem: str, status: int) -> HTMLResponse:
        return render(
            request,
            "login.html",
            None,
            status_code=status,
            tenant=tenant,
            next=_local(next),
            email=email,
            error=translate(request, None, problem),
        )

    if not same_origin(request):
        return again(N_("Please sign in from the portal's own page."), 403)
    address = request.client.host if request.client else "?"
    keys = [f"portal-address:{address}", f"portal:{tenant}/{email.strip().lower()}"]
    if ctx.sign_ins.wait(*keys) > 0:
        return again(N_("Too many failed attempts. Please wait a few minutes and try again."), 429)
    account = await run_in_threadpool(_sign_in, ctx, tenant.strip(), email, password)
    if account is None:
        ctx.sign_ins.failed(*keys)
        return again(N_("Wrong e-mail address or password."), 401)
    ctx.sign_ins.succeeded(*keys)
    return await run_in_threadpool(_start, ctx, account, address, _local(next))


def _sign_in(ctx: WebContext, tenant: str, email: str, password: str) -> accounts.Account | None:
    try:
        check_tenant_id(tenant)
    except HubError:
        return None
    with ctx.uow.sessions() as s:
        return accounts.sign_in(s, tenant, email, password)


@router.post(PATH + "/logout")
async def logout(request: Request, who: Customer = Depends(customer)) -> Response:
    ctx = context(request)
    await run_in_threadpool(ctx.sessions.revoke, who.session_id)
    response = RedirectResponse(f"{PATH}/login?tenant={quote(who.tenant)}", status_code=303)
    response.delete_cookie(COOKIE, path=PATH)
    return response


# --- the invitation's link: choosing a password -------------------------------------------


def _invited(ctx: WebContext, token: str) -> accounts.Account:
    with ctx.uow.sessions() as s:
        return accounts.invite_account(s, token, ctx.uow.clock.now())


@router.get(PATH + "/welcome/{token}")
def welcome_page(request: Request, token: str, ctx: WebContext = Depends(context)) -> Response:
    try:
        account = _invited(ctx, token)
    except accounts.InvalidInvite:
        return render(request, "invalid_link.html", None, status_code=410)
    response = render(
        request, "welcome.html", None, email=account.email, token=token, lang_hint=account.language
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post(PATH + "/welcome/{token}")
async def welcome(
    request: Request,
    token: str,
    password: str = Form("", max_length=1024),
    confirmation: str = Form("", max_length=1024),
    ctx: WebContext = Depends(context),
) -> Response:
    """Use the invitation: set the password, then sign in."""
    if not same_origin(request):
        return render(request, "invalid_link.html", None, status_code=403)
    try:
        account = await run_in_threadpool(_invited, ctx, token)
    except accounts.InvalidInvite:
        return render(request, "invalid_link.html", None, status_code=410)

    def again(problem: str) -> HTMLResponse:
        return render(
            request,
            "welcome.html",
            None,
            status_code=400,
            email=account.email,
            token=token,
            error=translate(request, None, problem),
        )

    if password != confirmation:
        return again(N_("The two passwords are not the same."))

    def run() -> accounts.Account:
        with ctx.uow.sessions.begin() as s:
            return accounts.set_password(s, token, password, ctx.uow.clock.now())

    try:
        done = await run_in_threadpool(run)
    except WeakPassword:
        return again(N_("Choose a password of 10 to 1024 characters."))
    except accounts.InvalidInvite:
        return render(request, "invalid_link.html", None, status_code=410)
    address = request.client.host if request.client else "?"
    return await run_in_threadpool(_start, ctx, done, address, PATH + "/tickets?welcome=1")


# --- language -------------------------------------------------------------------------------


@router.post(PATH + "/language")
async def switch_language(
    request: Request,
    to: str = Form("", max_length=10),
    next: str = Form(PATH + "/tickets", max_length=2000),
    ctx: WebContext = Depends(context),
) -> Response:
    """Switch the portal's language (a cookie; a signed-in customer's account keeps it, for
    the e-mails too)."""
    chosen = language_of(to)
    who = await run_in_threadpool(signed_in, request)
    if who is not None:
        await verify_csrf(request, who.csrf_token)
    elif not same_origin(request):
        raise CsrfRefused("this request does not come from the portal's own pages")
    response = RedirectResponse(_local(next), status_code=303)
    if chosen is None:
        return response
    if who is not None:

        def keep() -> None:
            with ctx.uow.sessions.begin() as s:
                accounts.set_language(s, who.tenant, who.customer_id, chosen)

        await run_in_threadpool(keep)
    _cookie(response, ctx, LANGUAGE_COOKIE, chosen, 24 * 365)
    return response


def install(app: FastAPI) -> None:
    """The sign-in pages' routes, and the redirect of a request that needs a sign-in (the
    app adds ``portal_tickets.router`` beside)."""
    app.include_router(router)

    @app.exception_handler(PortalLoginRequired)
    async def _login(request: Request, error: PortalLoginRequired) -> Response:
        target = request.url.path
        tenant = request.query_params.get("tenant", DEFAULT_TENANT)
        return RedirectResponse(
            f"{PATH}/login?tenant={quote(tenant[:63])}&next={quote(target)}", status_code=303
        )
