"""Signing in done right: argon2id passwords, server-side sessions that expire and end at
log-out, CSRF tokens and the Origin on every cookie-authenticated write, security headers,
and failed sign-ins rate-limited per user and per address."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import text

from hub.clock import ControllableClock
from hub.identity.service import set_password
from hub.runtime.uow import Cause, UnitOfWorkFactory
from hub.store.db import make_engine, upgrade
from hub.web.security import COOKIE
from hub.web.sessions import Sessions, SignInLimiter
from hub.web.tables import WebSession
from tests.web.conftest import ORIGIN, Site, console_login

PASSWORD = "correct horse battery"


def with_password(site: Site, user: str = "ana") -> None:
    with site.hub.uow(Cause.action(tenant="default")) as uow:
        set_password(uow, user, PASSWORD, by="support")


def sign_in(
    site: Site, user: str, password: str, *, origin: str = ORIGIN, follow: bool = False
) -> Any:
    return site.client.post(
        "/login",
        data={"tenant": "default", "user": user, "password": password, "next": "/tickets"},
        headers={"origin": origin},
        follow_redirects=follow,
    )


def test_a_password_signs_in_and_the_cookie_is_a_session_id_never_a_token(
    sqlite_site: Site,
) -> None:
    site = sqlite_site
    with_password(site)
    got = sign_in(site, "ana", PASSWORD)
    assert got.status_code == 303 and got.headers["location"] == "/tickets"
    cookie = got.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    raw = site.client.cookies[COOKIE]
    with site.hub.uow.sessions() as s:
        [row] = s.query(WebSession).all()
        assert row.id_hash != raw and len(raw) >= 40 and row.user_id == "ana"
        assert not (s.query(WebSession).filter(WebSession.id_hash == raw).count())
    me = site.client.get("/api/me").json()
    assert (me["kind"], me["user"], me["tenant"]) == ("session", "ana", "default")
    with site.hub.uow.sessions() as s:
        stored = s.execute(text("SELECT password_hash FROM users WHERE id = 'ana'")).scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_a_cookie_write_needs_the_csrf_token_and_the_hubs_own_origin(sqlite_site: Site) -> None:
    site = sqlite_site
    ticket = site.open_ticket()
    console = console_login(site, "attendant")
    path = f"/api/tickets/{ticket}/comments"
    # the API with the cookie: no CSRF header, a wrong one, a foreign origin are all refused
    for headers in (
        {"origin": ORIGIN},
        {"origin": ORIGIN, "x-csrf-token": "forged"},
        {"origin": "http://evil.example", "x-csrf-token": console.csrf},
        {"x-csrf-token": console.csrf},  # neither Origin nor Referer
    ):
        got = site.client.post(path, json={"text": "hi"}, headers=headers)
        assert got.status_code == 403, (headers, got.text)
    got = site.client.post(
        path, json={"text": "hi"}, headers={"origin": ORIGIN, "x-csrf-token": console.csrf}
    )
    assert got.status_code == 201, got.text
    # a console form without the token, or from elsewhere, changes nothing
    form = f"/tickets/{ticket}/comment"
    got = site.client.post(form, data={"text": "no token"}, headers={"origin": ORIGIN})
    assert got.status_code == 403 and "CSRF" in got.json()["detail"]
    got = site.client.post(
        form,
        data={"text": "elsewhere", "csrf_token": console.csrf},
        headers={"origin": "http://127.0.0.1:9"},
    )
    assert got.status_code == 403
    got = console.post(form, {"text": "with the token"})
    assert "comment added" in got.text
    texts = [c["text"] for c in site.client.get(f"/api/tickets/{ticket}").json()["comments"]]
    assert texts == ["hi", "with the token"]
    # a bearer token needs no CSRF token: no browser sends it by itself
    got = site.client.post(
        path, json={"text": "bearer"}, headers=site.auth("attendant"), cookies={}
    )
    assert got.status_code == 201


def test_log_out_revokes_the_session_at_once(sqlite_site: Site) -> None:
    site = sqlite_site
    console = console_login(site, "reader")
    raw = site.client.cookies[COOKIE]
    console.post("/logout")
    site.client.cookies.set(COOKIE, raw)  # the browser kept a copy
    got = site.client.get("/tickets", follow_redirects=False)
    assert got.status_code == 303 and got.headers["location"].startswith("/login")


def test_failed_sign_ins_are_limited_per_user_and_per_address(sqlite_site: Site) -> None:
    site = sqlite_site
    with_password(site)
    for _ in range(5):
        assert "wrong user, password or token" in sign_in(site, "ana", "nope", follow=True).text
    # the right password is refused too for a while, and says why
    got = site.client.post(
        "/login",
        data={"tenant": "default", "user": "ana", "password": PASSWORD},
        headers={"origin": ORIGIN},
    )
    assert "too many failed sign-ins" in got.text
    limiter = SignInLimiter(limit=2, window=60)
    limiter.failed("user:a", "address:1")
    limiter.failed("user:b", "address:1")
    assert limiter.wait("user:c", "address:1") > 0  # the address tried two users
    assert limiter.wait("user:c", "address:2") == 0


def test_a_sign_in_from_another_page_is_refused(sqlite_site: Site) -> None:
    with_password(sqlite_site)
    got = sign_in(sqlite_site, "ana", PASSWORD, origin="http://evil.example")
    assert "own sign-in page" in unquote(got.headers["location"])
    assert COOKIE not in sqlite_site.client.cookies


def test_every_response_carries_the_security_headers(sqlite_site: Site) -> None:
    for path in ("/login", "/api/me", "/healthz", "/static/console.css"):
        got = sqlite_site.client.get(path, headers=sqlite_site.auth("reader"))
        csp = got.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["referrer-policy"] == "same-origin"
    docs = sqlite_site.client.get("/docs", headers=sqlite_site.auth("reader"))
    assert "'sha256-" in docs.headers["content-security-policy"]  # only Swagger's own script


def test_sessions_end_when_they_expire_or_sit_idle(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    upgrade(url)
    clock = ControllableClock()
    engine = make_engine(url)
    sessions = Sessions(UnitOfWorkFactory(engine, clock), lifetime=3600, idle=600)
    opened = sessions.open("default", "ana", kind="staff", address="127.0.0.1")
    assert sessions.find(opened.raw_id, kind="staff") is not None
    assert sessions.find(opened.raw_id, kind="customer") is None  # a console session only
    clock.advance(timedelta(seconds=599))
    assert sessions.find(opened.raw_id, kind="staff") is not None  # seen: idle clock restarts
    clock.advance(timedelta(seconds=599))
    assert sessions.find(opened.raw_id, kind="staff") is not None
    clock.advance(timedelta(seconds=601))
    assert sessions.find(opened.raw_id, kind="staff") is None  # idle too long
    other = sessions.open("default", "ana", kind="staff", address=None)
    for _ in range(7):  # busy for 3,500 s: never idle
        clock.advance(timedelta(seconds=500))
        assert sessions.find(other.raw_id, kind="staff") is not None
    clock.advance(timedelta(seconds=101))
    assert sessions.find(other.raw_id, kind="staff") is None  # past its hour, however busy
    engine.dispose()
