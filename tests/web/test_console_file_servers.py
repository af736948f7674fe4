"""The console's file-server page: set a branch's server with a form, press "Send a test file"
and read the server's answer in one line; the password never comes back, the settings module
guards each form, and a form without its CSRF token does nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.file_servers import PASSWORD, FileServer, file_server
from tests.web.conftest import ORIGIN, Site, console_login

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def sftp(tmp_path: Path) -> Iterator[FileServer]:
    with file_server("sftp", tmp_path / "sftp") as running:
        yield running


def form(server: FileServer, **changes: str) -> dict[str, str]:
    return {
        "company": "1",
        "branch": "1",
        "protocol": server.protocol,
        "host": "127.0.0.1",
        "port": str(server.port),
        "folder": "/in",
        "user": "hub",
        "password": PASSWORD,
        "transfer": "hub",
        **changes,
    }


def test_set_and_test_a_branch_server_from_the_console(sqlite_site: Site, sftp: FileServer) -> None:
    browser = console_login(sqlite_site, "operator", next="/settings/ftp")
    assert "No file server yet" in browser.get("/settings/ftp").text
    saved = browser.post("/settings/ftp", form(sftp))
    assert saved.status_code == 200 and "branch 1/1: saved" in saved.text
    assert f"sftp://hub@127.0.0.1:{sftp.port}/in" in saved.text and PASSWORD not in saved.text
    tested = browser.post("/settings/ftp/test", {"company": "1", "branch": "1"})
    assert "branch 1/1: uploaded hub-test-" in tested.text
    assert next((sftp.root / "in").iterdir()).name.startswith("hub-test-")
    # a wrong password, saved without touching the rest: the server's answer, in one line
    browser.post("/settings/ftp", form(sftp, password="wrong"))
    refused = browser.post("/settings/ftp/test", {"company": "1", "branch": "1"})
    assert 'role="alert">login refused by 127.0.0.1: Permission denied' in refused.text
    bad = browser.post("/settings/ftp", form(sftp, port="x", folder="in"))
    assert 'role="alert">port' in bad.text


def test_the_settings_module_and_the_csrf_token_guard_the_forms(
    sqlite_site: Site, sftp: FileServer
) -> None:
    reader = console_login(sqlite_site, "reader", next="/settings/ftp")
    assert "settings:view" in reader.get("/settings/ftp").text
    assert "settings:edit" in reader.post("/settings/ftp", form(sftp)).text
    assert "settings:edit" in reader.post("/settings/ftp/test", {"company": "1"}).text
    operator = console_login(sqlite_site, "operator", next="/settings/ftp")
    forged = operator.client.post("/settings/ftp", data=form(sftp), headers={"origin": ORIGIN})
    assert forged.status_code == 403 and forged.json()["error"] == "CsrfRefused"
    assert "No file server yet" in operator.get("/settings/ftp").text
