"""The console in headless Chromium against ``hub run`` (embedded and production tiers): a bad
event's dead letter appears and is replayed; a ticket moves on the board. Screenshots of every
page go to ``test-artifacts/``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.store.db import make_engine, upgrade
from schemas.examples import example_event
from tests.support.harness import create_ledger_tables, item_event, wait_until
from tests.support.ledger import fixes
from tests.support.process import hub_env, run_cli, start_hub, stop
from tests.web.browser import chromium, console_url, require_chromium, screenshot

CONSUMERS = "finance-agreements,edu-refdata,edu-requests,tests.support.ledger:consumer"


@dataclass
class Running:
    url: str
    env: dict[str, str]
    database_url: str
    tokens: dict[str, str]
    tier: str

    def shot(self, page: object, name: str) -> None:
        """A screenshot of the embedded tier's pages; the production tier's get a suffix."""
        screenshot(page, name if self.tier == "embedded" else f"{name}-{self.tier}")


@pytest.fixture
def hub_process(
    request: pytest.FixtureRequest, process_tier: dict[str, str], tmp_path: Path
) -> Iterator[Running]:
    require_chromium()
    tier = process_tier
    upgrade(tier["database_url"])
    create_ledger_tables(tier["database_url"])
    env = hub_env(tier, HUB_CONSUMERS=CONSUMERS, HUB_DATA_DIR=str(tmp_path / "data"))
    assert run_cli(env, "db", "upgrade").returncode == 0  # the demo's users: admin, ana, ...
    tokens = {}
    for name, role, user in (("ops", "operator", "admin"), ("ana", "attendant", "ana")):
        made = run_cli(env, "tokens", "create", name, "--user", user)
        assert made.returncode == 0, made.stderr
        tokens[role] = made.stdout.strip()
    log = tmp_path / "hub.log"
    proc = start_hub(env, log)
    try:
        name = request.node.callspec.params["process_tier"]
        yield Running(console_url(log), env, tier["database_url"], tokens, name)
    finally:
        assert stop(proc) == 0, log.read_text()[-3000:]


def log_in(page: object, url: str, token: str) -> None:
    page.goto(url + "login")  # type: ignore[attr-defined]
    page.fill("#token-login input[name=token]", token)  # type: ignore[attr-defined]
    page.click("#token-login button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("text=log out")  # type: ignore[attr-defined]


def publish(hub: Running, tmp_path: Path, event: dict[str, object]) -> None:
    path = tmp_path / f"{event['id']}.json"
    path.write_text(json.dumps(event))
    out = run_cli(hub.env, "publish", str(path))
    assert out.returncode == 0, out.stderr


@pytest.mark.timeout(120)
def test_a_dead_letter_appears_is_inspected_and_replayed(
    hub_process: Running, tmp_path: Path
) -> None:
    hub = hub_process
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(hub.url)
        assert "/login" in page.url
        hub.shot(page, "login")
        log_in(page, hub.url, hub.tokens["operator"])
        page.wait_for_selector("#queues >> text=hub.ledger")
        # When a producer publishes an event the consumer cannot handle
        bad = item_event("BR-1", permanent=True)
        publish(hub, tmp_path, bad)
        # Then the overview shows it among the dead letters without a reload
        page.wait_for_selector("#dead-letter-groups >> text=PermanentError", timeout=30_000)
        hub.shot(page, "overview")
        page.click("#dead-letter-groups >> text=PermanentError")
        page.wait_for_selector("#letters >> text=item BR-1 cannot be booked")
        hub.shot(page, "dead-letters")
        page.click("#letters a")
        page.wait_for_selector("#payload >> text=BR-1")
        assert "Traceback" in page.inner_text("pre.tb")
        hub.shot(page, "dead-letter")
        # When the cause is fixed and the operator replays it
        engine = make_engine(hub.database_url)
        with engine.begin() as conn:
            conn.execute(fixes.insert().values(item="BR-1"))
        engine.dispose()
        page.click("button:has-text('Replay')")
        page.wait_for_selector("text=replayed")
        assert "replayed" in page.inner_text("h1")
        # Then the message trace shows it received after the replay
        page.goto(f"{hub.url}trace?correlation_id={bad['id']}")

        def traced() -> bool:
            page.reload()
            return "received" in page.inner_text("#timeline")

        wait_until(traced, timeout=30, what="the replayed event handled")
        text = page.inner_text("#timeline")
        assert text.index("dead-lettered") < text.index("replayed") < text.index("received")
        hub.shot(page, "trace")
        page.goto(hub.url + "dead-letters")
        page.wait_for_selector("#groups >> text=no dead letters awaiting action")


@pytest.mark.timeout(120)
def test_a_ticket_moves_on_the_board(hub_process: Running, tmp_path: Path) -> None:
    hub = hub_process
    pending = example_event("finance.agreement.pending")
    agreement = pending["data"]["agreement_id"]
    publish(hub, tmp_path, pending)
    with chromium() as browser:
        session = browser.new_context(viewport={"width": 1280, "height": 900})
        board = session.new_page()
        log_in(board, hub.url, hub.tokens["attendant"])
        board.goto(hub.url + "tickets")
        card = "[data-type='finance.agreement-approval'] [data-stage='analysis'] a.ticket"
        board.wait_for_selector(f"{card} >> text={agreement}", timeout=30_000)
        hub.shot(board, "board")
        ticket_id = board.get_attribute(card, "data-ticket")
        # the ticket page, in a second tab of the same session
        page = session.new_page()
        page.goto(f"{hub.url}tickets/{ticket_id}")
        assert "read-only" in page.inner_text("#fields")
        assert page.inner_text("#classification") == "agreement"
        options = page.eval_on_selector_all(
            "#move select[name=stage] option", "os => os.map(o => o.value)"
        )
        assert sorted(options) == ["approved", "rejected"]
        hub.shot(page, "ticket")
        # the attendant reclassifies it first (only the active classifications of the type's
        # service are offered)
        choices = page.eval_on_selector_all("#classify select option", "os => os.map(o => o.value)")
        assert choices == ["agreement-priority"]
        page.select_option("#classify select", "agreement-priority")
        page.click("#classify button")
        page.wait_for_selector(f"text={ticket_id} classified agreement-priority")
        assert page.inner_text("#classification") == "agreement-priority"
        assert "classification agreement -> agreement-priority" in page.inner_text("#history")
        page.select_option("#move select[name=stage]", "approved")
        page.fill("#move input[name='field.approval_note']", "approved by the browser test")
        page.click("#move button")
        page.wait_for_selector(f"text={ticket_id} moved to approved")
        assert "editable" not in page.inner_text("#fields")  # a completed ticket is read-only
        hub.shot(page, "ticket-moved")
        # its chain: the pending event received, the ticket opened and moved, decisions emitted
        page.click("#ticket-trace")
        page.wait_for_selector("#timeline >> text=finance.agreement.approved")
        timeline = page.inner_text("#timeline")
        assert "finance.agreement.pending" in timeline and "analysis -> approved" in timeline
        hub.shot(page, "trace-ticket")
        # Then the board, left open, shows the card in the approved column by itself
        moved = (
            f"[data-type='finance.agreement-approval'] [data-stage='approved'] >> text={agreement}"
        )
        board.wait_for_selector(moved, timeout=15_000)
        hub.shot(board, "board-moved")
        shown = run_cli(hub.env, "tickets", "show", str(ticket_id), "--json")
        assert json.loads(shown.stdout)["stage"] == "approved"
        # the API's documentation page renders from the hub alone, nothing from the internet
        session.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(hub.url) else route.abort()
            ),
        )
        page.goto(hub.url + "docs")
        page.wait_for_selector(".swagger-ui .info >> text=Integration hub", timeout=15_000)
        page.wait_for_selector("[data-path='/api/tickets/{ticket_id}/move']")
        hub.shot(page, "api-docs")
