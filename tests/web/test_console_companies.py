"""The console's companies pages through the test client: each needs the companies module, and
each form needs the session's CSRF token."""

from __future__ import annotations

from hub.web.tokens import Tokens
from tests.support.people import person
from tests.web.conftest import ORIGIN, Site, console_login


def test_a_reader_without_the_companies_module_is_told_which_permission_is_missing(
    sqlite_site: Site,
) -> None:
    console = console_login(sqlite_site, "reader")
    assert "Companies" not in console.get("/tickets").text  # not in its menu
    for path in ("/companies", "/companies/1"):
        page = console.get(path)
        assert "needs the permission companies:access and companies:view" in page.text, path
    for path in (
        "/companies",
        "/companies/1",
        "/companies/1/duplicate",
        "/companies/1/delete",
        "/companies/1/branches",
        "/companies/1/branches/1",
        "/companies/1/branches/1/duplicate",
        "/companies/1/branches/1/delete",
    ):
        got = console.post(path, {"id": "9", "name": "Nine"}, follow_redirects=False)
        assert got.status_code == 303, path
        assert "companies%3A" in got.headers["location"], (path, got.headers["location"])


def test_an_admin_creates_a_company_and_a_form_without_the_csrf_token_is_refused(
    sqlite_site: Site,
) -> None:
    person(sqlite_site.hub.uow, "boss", "admin")
    sqlite_site.tokens["admin"] = Tokens(sqlite_site.hub.uow).create("boss", tenant="default")
    console = console_login(sqlite_site, "admin")
    got = console.post("/companies", {"id": "4", "name": "Four"}, follow_redirects=False)
    assert got.headers["location"] == "/companies?msg=company%204%20created"
    assert "Four" in console.get("/companies/4").text
    forged = console.client.post(
        "/companies/4", data={"name": "Forged", "csrf_token": "forged"}, headers={"origin": ORIGIN}
    )
    assert forged.status_code == 403 and forged.json()["error"] == "CsrfRefused"
    refused = console.post("/companies/1/delete", follow_redirects=False)
    assert refused.headers["location"].startswith("/companies/1?error=company%20%271%27%20cannot")
    assert "Forged" not in console.get("/companies/4").text
