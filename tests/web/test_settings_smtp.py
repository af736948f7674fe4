"""SMTP settings through the API and the console: set, show, list, the test e-mail against a
loopback server with STARTTLS and authentication; passwords are accepted, never returned; the
``settings`` permission decides, server-side, and no tenant reaches another's settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.identity import service
from hub.runtime.uow import Cause
from hub.web.tokens import Tokens
from tests.support.education import Mailbox, free_port
from tests.support.mail import PASSWORD, USER, secure_smtp_server, self_signed
from tests.support.people import person
from tests.web.conftest import Site, console_login
from tests.web.test_tenants import acme, bearer

API = "/api/settings/smtp"


@pytest.fixture
def cert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    made = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(made[0]))
    return made


def admin(site: Site) -> dict[str, str]:
    return bearer(Tokens(site.hub.uow).create("smtp-admin", tenant="default", user="support"))


def setting(port: int, **values: object) -> dict[str, object]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "sender": "secretaria@example.edu",
        "sender_name": "Secretaria",
        "username": USER,
        "password": PASSWORD,
        "secure": "starttls",
        **values,
    }


@pytest.mark.timeout(60)
def test_set_show_list_and_test_through_the_api(sqlite_site: Site, cert: tuple[Path, Path]) -> None:
    site, port = sqlite_site, free_port()
    auth = admin(site)
    got = site.client.put(f"{API}/1", params={"branch": "1"}, json=setting(port), headers=auth)
    assert got.status_code == 200, got.text
    assert got.json()["password"] == "set" and got.json()["updated_by"] == "support"
    shown = site.client.get(f"{API}/1", params={"branch": "1"}, headers=auth)
    assert shown.json()["host"] == "127.0.0.1" and shown.json()["branch"] == "1"
    listed = site.client.get(API, headers=auth)
    assert [(s["company"], s["branch"]) for s in listed.json()] == [("1", "1")]
    for answer in (got, shown, listed):
        assert PASSWORD not in answer.text
    with secure_smtp_server(port, Mailbox(), cert) as mailbox:
        tested = site.client.post(f"{API}/1/test", params={"branch": "1"}, headers=auth)
        assert tested.status_code == 200
        assert tested.json() == {
            "ok": True,
            "result": f"test e-mail sent to secretaria@example.edu through 127.0.0.1:{port}",
        }
        # a wrong password: the server's own answer, in one line
        wrong = setting(port, password="wrong")
        site.client.put(f"{API}/1", params={"branch": "1"}, json=wrong, headers=auth)
        failed = site.client.post(f"{API}/1/test", params={"branch": "1"}, headers=auth).json()
        assert failed == {
            "ok": False,
            "result": f"127.0.0.1:{port} answered: 535 5.7.8 Authentication credentials invalid",
        }
    assert len(mailbox.messages) == 1
    # a company without a setting, and invalid input
    assert site.client.get(f"{API}/2", headers=auth).status_code == 404
    assert site.client.post(f"{API}/2/test", headers=auth).json()["error"] == "NotFound"
    bad = site.client.put(f"{API}/1", json=setting(port, secure="tls"), headers=auth)
    assert bad.status_code == 422 and bad.json()["error"] == "ValidationError"


def test_the_settings_permission_decides_on_every_path(sqlite_site: Site) -> None:
    site = sqlite_site
    site.client.put(f"{API}/1", json=setting(2525), headers=admin(site))
    reader = site.auth("reader")  # no settings permission at all
    calls = [
        ("GET", API, None),
        ("GET", f"{API}/1", None),
        ("PUT", f"{API}/1", setting(2525)),
        ("POST", f"{API}/1/test", None),
    ]
    for method, path, body in calls:
        got = site.client.request(method, path, json=body, headers=reader)
        assert got.status_code == 403, (method, path, got.text)
        assert "needs the permission settings:access and settings:" in got.json()["detail"]
    # a role that may view settings but not change them
    with site.hub.uow(Cause.action(tenant="default")) as uow:
        service.put_role(
            uow,
            "viewer",
            name="Viewer",
            scope="tenant",
            permissions={"settings": ["access", "view"]},
            create=True,
        )
    person(site.hub.uow, "vera", "viewer")
    vera = bearer(Tokens(site.hub.uow).create("vera", tenant="default"))
    assert site.client.get(f"{API}/1", headers=vera).status_code == 200
    for method, path, body in calls[2:]:
        got = site.client.request(method, path, json=body, headers=vera)
        assert got.status_code == 403 and "settings:edit" in got.json()["detail"], got.text


def test_another_tenant_sees_and_changes_nothing_of_ours(sqlite_site: Site) -> None:
    site = sqlite_site
    ours = admin(site)
    site.client.put(f"{API}/1", json=setting(2525, host="ours.example"), headers=ours)
    theirs = bearer(acme(site)["admin"])
    assert site.client.get(API, headers=theirs).json() == []
    assert site.client.get(f"{API}/1", headers=theirs).status_code == 404
    assert site.client.post(f"{API}/1/test", headers=theirs).status_code == 404
    # their own setting of company 1 is theirs alone
    site.client.put(f"{API}/1", json=setting(2526, host="theirs.example"), headers=theirs)
    assert site.client.get(f"{API}/1", headers=ours).json()["host"] == "ours.example"
    assert [s["host"] for s in site.client.get(API, headers=theirs).json()] == ["theirs.example"]


@pytest.mark.timeout(60)
def test_the_console_page_saves_a_setting_and_sends_a_test_email(
    sqlite_site: Site, cert: tuple[Path, Path]
) -> None:
    site, port = sqlite_site, free_port()
    site.tokens["support"] = Tokens(site.hub.uow).create(
        "console", tenant="default", user="support"
    )
    browser = console_login(site, "support", next="/settings/smtp")
    form = {k: str(v) for k, v in setting(port).items()} | {"company": "1", "branch": "1"}
    saved = browser.post("/settings/smtp", form, follow_redirects=True)
    assert "SMTP setting of 1/1 saved" in saved.text and PASSWORD not in saved.text
    assert 'id="smtp-1-1"' in saved.text and "password set" in saved.text
    with secure_smtp_server(port, Mailbox(), cert) as mailbox:
        sent = browser.post(
            "/settings/smtp/test", {"company": "1", "branch": "1"}, follow_redirects=True
        )
    assert f"test e-mail sent to secretaria@example.edu through 127.0.0.1:{port}" in sent.text
    assert len(mailbox.messages) == 1
    closed = browser.post(
        "/settings/smtp", form | {"port": str(free_port())}, follow_redirects=True
    )
    assert "saved" in closed.text
    failed = browser.post(
        "/settings/smtp/test", {"company": "1", "branch": "1"}, follow_redirects=True
    )
    assert 'class="flash bad"' in failed.text and "Connection refused" in failed.text
    invalid = browser.post("/settings/smtp", form | {"port": "x"}, follow_redirects=True)
    assert 'class="flash bad"' in invalid.text and "port:" in invalid.text
    # without the session's CSRF token nothing is saved
    forged = site.client.post(
        "/settings/smtp",
        data=form | {"host": "evil.example"},
        headers={"origin": "http://testserver"},
    )
    assert forged.status_code == 403
    assert "evil.example" not in browser.get("/settings/smtp").text
