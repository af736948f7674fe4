"""The console in headless Chromium against ``hub run`` (embedded): signing in with a password,
pages of other origins that try to make the signed-in browser act (and fail), and the pages
that manage tenants, users and roles. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import http.server
import json
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.examples import example_event
from tests.support.harness import wait_until
from tests.support.process import hub_env, run_cli, start_hub, stop
from tests.web.browser import chromium, console_url, require_chromium, screenshot

PASSWORD = "a long console password"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    require_chromium()
    tier = {
        "broker_url": f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}?lease=3",
        "database_url": f"sqlite:///{tmp_path / 'hub.sqlite'}",
    }
    env = hub_env(tier, HUB_DATA_DIR=str(tmp_path / "data"))
    assert run_cli(env, "db", "upgrade").returncode == 0
    out = run_cli(env, "users", "password", "support", stdin=PASSWORD + "\n")
    assert out.returncode == 0, out.stderr
    log = tmp_path / "hub.log"
    proc = start_hub(env, log)
    try:
        yield console_url(log), env
    finally:
        assert stop(proc) == 0, log.read_text()[-3000:]


def sign_in(page: Any, url: str, tenant: str, user: str, password: str) -> None:
    page.goto(url + "login")
    page.fill("#password-login input[name=tenant]", tenant)
    page.fill("#password-login input[name=user]", user)
    page.fill("#password-login input[name=password]", password)
    page.click("#password-login button[type=submit]")
    page.wait_for_selector("text=log out")


def dead_letters(env: dict[str, str]) -> list[dict[str, Any]]:
    out = run_cli(env, "dlq", "list", "--json", "--all")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


class Attacker:
    """A page on another origin (another port of the same host: the same site, so the
    browser even sends the SameSite=Strict cookie with its form)."""

    def __init__(self, hub_url: str) -> None:
        page = f"""<!doctype html><html><body>
<form id="f" method="post" action="{hub_url}dead-letter-groups/purge">
  <input name="consumer" value=""><input name="error_type" value="">
</form>
<script>
  fetch("{hub_url}api/dead-letters/purge", {{method: "POST", credentials: "include",
    headers: {{"Content-Type": "text/plain"}}, body: "{{}}"}}).catch(function () {{}});
  document.getElementById("f").submit();
</script></body></html>""".encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = socketserver.TCPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.timeout(150)
def test_no_other_page_can_make_a_signed_in_browser_act(
    hub: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, env = hub
    bad = tmp_path / "bad.json"
    bad.write_text("not an event")
    assert (
        run_cli(
            env, "publish", str(bad), "--raw", "--routing-key", "finance.agreement.pending"
        ).returncode
        == 0
    )
    wait_until(lambda: len(dead_letters(env)) == 1, timeout=60, what="the dead letter")
    attacker = Attacker(url)
    try:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            sign_in(page, url, "default", "support", PASSWORD)
            screenshot(page, "signed-in")
            # When a page of another origin submits a form and calls the API
            answers: list[int] = []
            page.on("response", lambda r: answers.append(r.status) if "purge" in r.url else None)
            page.goto(attacker.url)
            page.wait_for_load_state("networkidle")
            wait_until(lambda: len(answers) >= 1, timeout=15, what="the forged form's answer")
            assert all(status in (401, 403) for status in answers), answers
            # and a page of the hub's own origin posts a form without the CSRF token
            page.goto(url + "dead-letters")
            page.evaluate(
                """() => { const f = document.createElement('form'); f.method = 'post';
                           f.action = '/dead-letter-groups/purge'; document.body.appendChild(f);
                           f.submit(); }"""
            )
            page.wait_for_selector("text=CSRF")
            # Then nothing was purged
            assert len(dead_letters(env)) == 1
            # while the console's own button, with its token, works
            page.goto(url + "dead-letters")
            page.once("dialog", lambda d: d.accept())
            page.click("button:has-text('Purge group')")
            page.wait_for_selector("text=purged 1")
            assert dead_letters(env) == []
    finally:
        attacker.close()


@pytest.mark.timeout(150)
def test_admins_manage_tenants_users_and_roles_from_the_console(
    hub: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, env = hub
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, url, "default", "support", PASSWORD)
        # the default tenant's administrator provisions a tenant on the starter plan
        page.click("text=Tenants")
        page.fill("#new-tenant input[name=id]", "acme")
        page.fill("#new-tenant input[name=name]", "Acme Ltda")
        page.select_option("#new-tenant select[name=plan]", "starter")
        page.check("#new-tenant input[name=demo]")
        page.click("#new-tenant button")
        page.wait_for_selector("text=tenant acme: provisioned")
        assert "Acme Ltda" in page.inner_text("#tenants")
        screenshot(page, "tenants")
        # the platform sends acme a user: on a paid plan she waits for an administrator
        user = example_event("platform.user.upserted")
        user["data"] = {
            "user_id": "zoe",
            "name": "Zoe",
            "email": "zoe@example.org",
            "active": True,
            "version": 1,
        }
        path = tmp_path / "user.json"
        path.write_text(json.dumps(user))
        assert run_cli(env, "publish", str(path), "--tenant", "acme").returncode == 0
        assert (
            run_cli(
                env, "users", "password", "support", "--tenant", "acme", stdin=PASSWORD + "\n"
            ).returncode
            == 0
        )

        def synced() -> bool:
            return run_cli(env, "users", "show", "zoe", "--tenant", "acme").returncode == 0

        wait_until(synced, timeout=60, what="zoe synced")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, url, "acme", "support", PASSWORD)
        assert "Tenants" not in page.inner_text("header nav")  # only the hub's own admins
        page.click("text=Users and roles")
        row = page.locator("#user-zoe")
        assert "pending" in row.inner_text()
        screenshot(page, "users")
        row.locator("button:has-text('Activate')").click()
        page.wait_for_selector("text=zoe activated")
        assert "active" in page.locator("#user-zoe").inner_text()
        # give her a manager and the Coordinator role, in one branch
        page.click("#user-zoe a")
        page.check("#user-form input[value=coordinator]")
        page.select_option("#user-form select[name=manager]", "carla")
        page.fill("#user-form input[name=scope]", "1/1")
        page.click("#user-form button")
        page.wait_for_selector("text=zoe saved")
        screenshot(page, "user")
        shown = json.loads(
            run_cli(env, "users", "show", "zoe", "--json", "--tenant", "acme").stdout
        )
        assert (shown["manager"], shown["scope"]) == ("carla", ["1/1"])
        assert set(shown["roles"]) == {"user", "coordinator"}
        # the User role may no longer filter tickets
        page.goto(url + "roles")
        page.uncheck("#role-user input[value='tickets:filter']")
        page.click("#role-user button")
        page.wait_for_selector("text=role user saved")
        screenshot(page, "roles")
        roles = json.loads(run_cli(env, "roles", "list", "--json", "--tenant", "acme").stdout)
        [user_role] = [r for r in roles if r["id"] == "user"]
        assert "filter" not in user_role["permissions"]["tickets"]
