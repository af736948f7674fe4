"""The console's companies and branches in headless Chromium against ``hub run`` (embedded):
the initial load and an ERP event show up, a company and its branches are edited, created and
duplicated from the forms, and a company with linked data is not deleted, the page saying what
is linked. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.examples import example_event
from tests.support.harness import wait_until
from tests.support.process import run_cli
from tests.web.browser import chromium, screenshot
from tests.web.test_browser_people import PASSWORD, hub, sign_in  # noqa: F401  (the fixture)


@pytest.mark.timeout(150)
def test_companies_and_branches_from_the_console(
    hub: tuple[str, dict[str, str]],  # noqa: F811
    tmp_path: Path,
) -> None:
    url, env = hub
    # Given the ERP's initial load and, later, one of its events
    load = tmp_path / "companies.jsonl"
    load.write_text(
        json.dumps({"kind": "company", "company": "2", "name": "Two Ltda", "version": 1})
        + "\n"
        + json.dumps(
            {"kind": "branch", "company": "2", "branch": "1", "name": "Two main", "version": 1}
        )
        + "\n"
    )
    assert run_cli(env, "refdata", "load", str(load)).returncode == 0
    event = example_event("erp.company.upserted")
    event["data"] = {"company": "7", "name": "Seven S.A.", "tax_id": "77.777", "version": 1}
    published = tmp_path / "company.json"
    published.write_text(json.dumps(event))
    assert run_cli(env, "publish", str(published)).returncode == 0

    def seven_arrived() -> bool:
        out = run_cli(env, "companies", "show", "7", "--json")
        return out.returncode == 0

    wait_until(seven_arrived, timeout=30, what="company 7 from the ERP's event")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, url, "default", "support", PASSWORD)
        page.click("header nav >> text=Companies")
        for company in ("1", "2", "7"):
            assert page.locator(f"#company-{company}").count() == 1
        assert "77.777" in page.inner_text("#company-7")
        screenshot(page, "companies")
        # When the administrator creates a company and edits one from the forms
        page.fill("#new-company input[name=id]", "5")
        page.fill("#new-company input[name=name]", "Five")
        page.click("#new-company button")
        page.wait_for_selector("text=company 5 created")
        page.click("#company-2 a")
        page.fill("#company-form input[name=name]", "Two S.A.")
        page.fill("#company-form input[name=tax_id]", "22.222")
        page.click("#company-form button")
        page.wait_for_selector("text=company 2 saved")
        page.fill("#new-branch input[name=id]", "2")
        page.fill("#new-branch input[name=name]", "Two south")
        page.check("#new-branch input[name=headquarters]")
        page.click("#new-branch button")
        page.wait_for_selector("text=branch 2/2 created")
        row = page.locator("#branch-1")
        row.locator("input[name=name]").fill("Two centre")
        row.locator("button:has-text('Save')").click()
        page.wait_for_selector("text=branch 2/1 saved")
        row = page.locator("#branch-2")
        row.locator("input[name=id]").fill("3")
        row.locator("select[name=company]").select_option("5")
        row.locator("button:has-text('Duplicate')").click()
        page.wait_for_selector("text=branch 5/3 created from 2/2")
        screenshot(page, "company")
        page.fill("#duplicate-company input[name=id]", "6")
        page.click("#duplicate-company button")
        page.wait_for_selector("text=company 6 created from 2")
        # Then an unlinked company is deleted, and company 1 (the demo's people) is not
        page.click("#company-6 a")
        page.click("#delete-company button")
        page.wait_for_selector("text=company 6 deleted")
        assert page.locator("#company-6").count() == 0
        page.click("#company-1 a")
        page.click("#delete-company button")
        page.wait_for_selector("text=company '1' cannot be deleted: linked to")
        assert "users' scope" in page.inner_text("p.flash.bad")
        screenshot(page, "company-in-use")
    shown = json.loads(run_cli(env, "companies", "show", "2", "--json").stdout)
    assert (shown["name"], shown["tax_id"], shown["updated_by"]) == (
        "Two S.A.",
        "22.222",
        "support",
    )
    assert [(b["id"], b["name"], b["headquarters"]) for b in shown["branches"]] == [
        ("1", "Two centre", False),
        ("2", "Two south", True),
    ]
    five = json.loads(run_cli(env, "companies", "show", "5", "--json").stdout)
    assert [(b["id"], b["name"]) for b in five["branches"]] == [("3", "Two south")]
