"""The SMTP settings page in headless Chromium against ``hub run`` (embedded): an operator sets
branch 1/1's server (STARTTLS and authentication on loopback), presses "Send a test e-mail" and
the e-mail arrives; a student's request is then e-mailed through that server; a wrong password
is one line on the page and from ``hub settings smtp test``. Screenshots go to
``test-artifacts/``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.education import Mailbox, enrollment, free_port, request
from tests.support.harness import wait_until
from tests.support.mail import PASSWORD, USER, secure_smtp_server, self_signed
from tests.support.process import hub_env, run_cli, start_hub, stop
from tests.web.browser import chromium, console_url, require_chromium, screenshot
from tests.web.test_browser_people import PASSWORD as CONSOLE_PASSWORD
from tests.web.test_browser_people import sign_in


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    require_chromium()
    cert = self_signed(tmp_path)
    tier = {
        "broker_url": f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}?lease=3",
        "database_url": f"sqlite:///{tmp_path / 'hub.sqlite'}",
    }
    env = hub_env(tier, HUB_DATA_DIR=str(tmp_path / "data"), SSL_CERT_FILE=str(cert[0]))
    assert run_cli(env, "db", "upgrade").returncode == 0
    out = run_cli(env, "users", "password", "support", stdin=CONSOLE_PASSWORD + "\n")
    assert out.returncode == 0, out.stderr
    log = tmp_path / "hub.log"
    proc = start_hub(env, log)
    try:
        yield console_url(log), env, cert[0]
    finally:
        assert stop(proc) == 0, log.read_text()[-3000:]


@pytest.mark.timeout(150)
def test_an_operator_sets_a_branchs_smtp_server_tests_it_and_request_mail_uses_it(
    hub: tuple[str, dict[str, str], Path], tmp_path: Path
) -> None:
    url, env, cert_file = hub
    port = free_port()
    key_file = cert_file.parent / "smtp-key.pem"
    with (
        secure_smtp_server(port, Mailbox(), (cert_file, key_file)) as mailbox,
        chromium() as browser,
    ):
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        sign_in(page, url, "default", "support", CONSOLE_PASSWORD)
        page.click("header nav >> text=SMTP")
        form = "#new-smtp"
        for name, value in {
            "company": "1",
            "branch": "1",
            "host": "127.0.0.1",
            "port": str(port),
            "sender": "secretaria@example.edu",
            "sender_name": "Secretaria Acadêmica",
            "username": USER,
            "password": PASSWORD,
        }.items():
            page.fill(f"{form} input[name={name}]", value)
        page.select_option(f"{form} select[name=secure]", "starttls")
        page.click(f"{form} button")
        page.wait_for_selector("text=SMTP setting of 1/1 saved")
        assert PASSWORD not in page.content()
        # When the operator presses the test button, the e-mail arrives
        page.click("#smtp-1-1 button:has-text('Send a test e-mail')")
        page.wait_for_selector("text=test e-mail sent to secretaria@example.edu")
        screenshot(page, "smtp-settings")
        wait_until(lambda: len(mailbox.messages) == 1, what="the test e-mail")
        assert str(mailbox.messages[0]["To"]) == "secretaria@example.edu"
        # and a student's request is e-mailed through the same server
        events = tmp_path / "events.json"
        events.write_text(json.dumps([enrollment(), request("R-MAIL-1")]))
        assert run_cli(env, "publish", str(events)).returncode == 0
        wait_until(lambda: len(mailbox.messages) == 2, timeout=60, what="the request's e-mail")
        mail = mailbox.messages[1]
        assert str(mail["To"]) == "joao@example.com"
        assert "secretaria@example.edu" in str(mail["From"]) and mail["Date"]
        # A wrong password: the server's answer in one line, on the page and from the CLI
        page.fill("#smtp-1-1 input[name=password]", "wrong")
        page.click("#smtp-1-1 button:has-text('Save')")
        page.wait_for_selector("text=SMTP setting of 1/1 saved")
        page.click("#smtp-1-1 button:has-text('Send a test e-mail')")
        refused = page.wait_for_selector(".flash.bad")
        assert refused is not None
        assert refused.inner_text() == (
            f"127.0.0.1:{port} answered: 535 5.7.8 Authentication credentials invalid"
        )
        screenshot(page, "smtp-wrong-password")
        out = run_cli(env, "settings", "smtp", "test", "--company", "1", "--branch", "1")
        assert out.returncode == 1 and out.stdout == ""
        assert out.stderr.strip() == f"error: {refused.inner_text()}"
    assert len(mailbox.messages) == 2
