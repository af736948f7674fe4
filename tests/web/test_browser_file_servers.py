"""The file-server page in headless Chromium against ``hub run`` (embedded): an administrator
sets branch 1/1's SFTP server, presses "Send a test file" and sees the file arrive; a wrong
password shows the server's answer in one line. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.file_servers import PASSWORD, FileServer, file_server
from tests.web.browser import chromium, screenshot
from tests.web.test_browser_people import PASSWORD as CONSOLE_PASSWORD
from tests.web.test_browser_people import hub as hub  # noqa: F401 (the fixture)
from tests.web.test_browser_people import sign_in

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def sftp(tmp_path: Path) -> Iterator[FileServer]:
    with file_server("sftp", tmp_path / "sftp") as running:
        yield running


def test_an_admin_sets_a_branch_sftp_server_and_sends_a_test_file(
    hub: tuple[str, dict[str, str]],  # noqa: F811
    sftp: FileServer,
) -> None:
    url, _ = hub
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, url, "default", "support", CONSOLE_PASSWORD)
        page.click("text=File servers")
        page.wait_for_selector("text=No file server yet")
        fields = {
            "company": "1",
            "branch": "1",
            "host": "127.0.0.1",
            "port": str(sftp.port),
            "folder": "/in",
            "user": "hub",
            "password": PASSWORD,
        }
        for name, value in fields.items():
            page.fill(f"#set-file-server input[name={name}]", value)
        page.select_option("#set-file-server select[name=protocol]", "sftp")
        page.click("#set-file-server button")
        page.wait_for_selector("text=branch 1/1: saved")
        assert PASSWORD not in page.content()
        assert page.input_value("#set-file-server input[name=password]") == ""
        page.click("#file-server-1-1 button")
        page.wait_for_selector("text=branch 1/1: uploaded hub-test-")
        (sent,) = (sftp.root / "in").iterdir()
        assert sent.name in page.inner_text("[role=status]")
        screenshot(page, "file-servers")
        # a wrong password: the server's own answer, in one line
        for name, value in {**fields, "password": "wrong"}.items():
            page.fill(f"#set-file-server input[name={name}]", value)
        page.select_option("#set-file-server select[name=protocol]", "sftp")
        page.click("#set-file-server button")
        page.wait_for_selector("text=branch 1/1: saved")
        page.click("#file-server-1-1 button")
        alert = page.wait_for_selector("[role=alert]")
        assert alert is not None
        assert alert.inner_text().startswith("login refused by 127.0.0.1: Permission denied")
        screenshot(page, "file-servers-refused")
