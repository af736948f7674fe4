"""The operator desk in headless Chromium against ``hub run`` (embedded): an operator walks the
script tree down to an item, reads its message, fills its form and records an occurrence; a
supervisor sees only the items authorised to him. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.workflow.loader import DEMO_CONFIG
from tests.support.process import hub_env, run_cli, start_hub, stop
from tests.web.browser import chromium, console_url, require_chromium, screenshot
from tests.web.test_browser_people import PASSWORD, sign_in


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    require_chromium()
    tier = {
        "broker_url": f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}?lease=3",
        "database_url": f"sqlite:///{tmp_path / 'hub.sqlite'}",
    }
    env = hub_env(tier, HUB_DATA_DIR=str(tmp_path / "data"))
    assert run_cli(env, "config", "apply", str(DEMO_CONFIG)).returncode == 0
    for user, role in (("ana", "desk_operator"), ("bruno", "supervisor")):
        out = run_cli(env, "users", "set", user, "--role", role)
        assert out.returncode == 0, out.stderr
        out = run_cli(env, "users", "password", user, stdin=PASSWORD + "\n")
        assert out.returncode == 0, out.stderr
    log = tmp_path / "hub.log"
    proc = start_hub(env, log)
    try:
        yield console_url(log), env
    finally:
        assert stop(proc) == 0, log.read_text()[-3000:]


@pytest.mark.timeout(150)
def test_an_operator_walks_the_tree_and_records_a_supervisor_sees_his_items(
    hub: tuple[str, dict[str, str]],
) -> None:
    url, env = hub
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, url, "default", "ana", PASSWORD)
        page.click("header nav >> text=Desk")
        page.click("#item-financial")
        page.click("#item-invoice-copy")
        assert "Confirm the customer" in page.inner_text("#item-message")
        page.fill("#record-occurrence input[name=customer_id]", "C-77")
        page.fill("#record-occurrence input[name='field.invoice']", "NF-77")
        page.select_option("#record-occurrence select[name=status]", "resolved")
        page.click("#record-occurrence button")
        page.wait_for_selector("text=occurrence OC-")
        assert "opened ticket T-" in page.content()
        screenshot(page, "desk-operator-recorded")
        assert page.locator("#item-academic").count() == 0

        supervisor = browser.new_context().new_page()
        sign_in(supervisor, url, "default", "bruno", PASSWORD)
        supervisor.goto(url + "desk")
        supervisor.wait_for_selector("#item-transcript")
        assert supervisor.locator("#item-financial").count() == 0
        screenshot(supervisor, "desk-supervisor-tree")

    listed = run_cli(env, "tickets", "list", "--json", "--type", "cc.invoice-copy")
    assert listed.returncode == 0, listed.stderr
    [ticket] = json.loads(listed.stdout)
    assert ticket["customer_id"] == "C-77"
