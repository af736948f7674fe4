"""``/api/companies``: a tenant's companies and branches on SQLite and PostgreSQL (``site``),
from the ERP's events in version order (``full_site``), with the permission checked on every
endpoint and a delete refused, with the links counted, while data names the record."""

from __future__ import annotations

import uuid
from typing import Any

from hub.web.tokens import Tokens
from schemas.examples import example_event
from tests.support.harness import outgoing, wait_until
from tests.support.people import person
from tests.web.conftest import Site


def admin(site: Site) -> dict[str, str]:
    person(site.hub.uow, "boss", "admin")
    return {"Authorization": f"Bearer {Tokens(site.hub.uow).create('boss', tenant='default')}"}


def publish(site: Site, *events: dict[str, Any]) -> None:
    """As the ERP publishes them: routed by their type."""
    site.hub.transport.publish([outgoing(e, e["type"]) for e in events])


def test_companies_and_branches_are_created_changed_duplicated_and_deleted(site: Site) -> None:
    auth, client = admin(site), site.client
    # Given the demo's company 1, seeded from the configuration
    listed = client.get("/api/companies", headers=auth).json()
    assert [(c["id"], c["source"], [b["id"] for b in c["branches"]]) for c in listed] == [
        ("1", "seed", ["1"])
    ]
    # When a company and a branch are created, changed and duplicated
    got = client.post("/api/companies", json={"id": "2", "name": "Two"}, headers=auth)
    assert got.status_code == 201 and got.json()["updated_by"] == "boss"
    again = client.post("/api/companies", json={"id": "2", "name": "Two"}, headers=auth)
    assert (again.status_code, again.json()["error"]) == (409, "CompanyExists")
    got = client.post(
        "/api/companies/2/branches",
        json={"id": "20", "name": "Two main", "headquarters": True},
        headers=auth,
    )
    assert got.status_code == 201 and got.json()["headquarters"] is True
    got = client.post("/api/companies/2", json={"tax_id": "99.999"}, headers=auth)
    assert got.status_code == 200 and (got.json()["name"], got.json()["tax_id"]) == (
        "Two",
        "99.999",
    )
    got = client.post("/api/companies/2/branches/20", json={"name": "Two HQ"}, headers=auth)
    assert got.json()["name"] == "Two HQ" and got.json()["headquarters"] is True
    copy = client.post("/api/companies/2/duplicate", json={"id": "3"}, headers=auth)
    assert copy.status_code == 201
    assert (copy.json()["name"], [b["name"] for b in copy.json()["branches"]]) == (
        "Two",
        ["Two HQ"],
    )
    branch = client.post(
        "/api/companies/3/branches/20/duplicate",
        json={"id": "21", "company": "2", "name": "Two south"},
        headers=auth,
    )
    assert branch.status_code == 201 and branch.json()["company"] == "2"
    assert [b["id"] for b in client.get("/api/companies/2/branches", headers=auth).json()] == [
        "20",
        "21",
    ]
    # Then the unlinked ones are deleted
    assert client.delete("/api/companies/2/branches/21", headers=auth).status_code == 200
    assert client.delete("/api/companies/3", headers=auth).status_code == 200
    gone = client.get("/api/companies/3", headers=auth)
    assert (gone.status_code, gone.json()["error"]) == (404, "CompanyNotFound")
    missing = client.get("/api/companies/2/branches/21", headers=auth)
    assert missing.status_code == 404


def test_a_company_with_a_ticket_is_not_deleted_and_the_answer_lists_the_links(
    site: Site,
) -> None:
    auth = admin(site)
    site.open_ticket()
    got = site.client.delete("/api/companies/1", headers=auth)
    assert got.status_code == 409
    assert got.json() == {
        "error": "CompanyInUse",
        "detail": "company '1' cannot be deleted: linked to 1 tickets, 4 users' scope, "
        "1 delivery locations",
    }
    got = site.client.delete("/api/companies/1/branches/1", headers=auth)
    assert got.status_code == 409 and "1 tickets" in got.json()["detail"]
    assert site.client.get("/api/companies/1", headers=auth).status_code == 200


def test_every_endpoint_needs_the_companies_permission(site: Site) -> None:
    reader = site.auth("reader")  # no grant on the companies module
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/api/companies", None),
        ("POST", "/api/companies", {"id": "9", "name": "Nine"}),
        ("GET", "/api/companies/1", None),
        ("POST", "/api/companies/1", {"name": "Mine"}),
        ("DELETE", "/api/companies/1", None),
        ("POST", "/api/companies/1/duplicate", {"id": "9"}),
        ("GET", "/api/companies/1/branches", None),
        ("POST", "/api/companies/1/branches", {"id": "9", "name": "Nine"}),
        ("GET", "/api/companies/1/branches/1", None),
        ("POST", "/api/companies/1/branches/1", {"name": "Mine"}),
        ("DELETE", "/api/companies/1/branches/1", None),
        ("POST", "/api/companies/1/branches/1/duplicate", {"id": "9"}),
    ]
    for method, path, body in calls:
        got = site.client.request(method, path, json=body, headers=reader)
        assert got.status_code == 403, (method, path, got.text)
        assert "(needs the permission companies:access and companies:" in got.json()["detail"]
        assert site.client.request(method, path, json=body).status_code == 401
    assert site.client.get("/api/companies/1", headers=admin(site)).json()["name"] == (
        "Demo University"
    )


def test_bad_input_is_a_422_in_the_one_shape(site: Site) -> None:
    auth = admin(site)
    for body in (
        {"id": "x", "name": "n" * 201},
        {"id": "a/b", "name": "Slash"},
        {"id": "x", "name": "X", "tax_id": "9" * 41},
        {"id": "x", "name": "   "},
        {"id": "x", "name": "X", "unknown": 1},
    ):
        got = site.client.post("/api/companies", json=body, headers=auth)
        assert got.status_code == 422, (body, got.text)
        assert set(got.json()) == {"error", "detail"}
    assert site.client.get("/api/companies/" + "x" * 51, headers=auth).status_code == 422


def test_the_erps_events_apply_in_version_order(full_site: Site) -> None:
    site = full_site
    auth = admin(site)

    def event(event_type: str, **data: Any) -> dict[str, Any]:
        base = example_event(event_type)
        return {**base, "id": str(uuid.uuid4()), "data": {**base["data"], **data}}

    publish(
        site,
        event("erp.company.upserted", company="5", name="Five v3", version=3),
        event("erp.company.upserted", company="5", name="Five v2", version=2),
        event("erp.branch.upserted", company="5", branch="50", name="Five HQ", version=1),
    )

    def branch_arrived() -> bool:
        got = site.client.get("/api/companies/5", headers=auth)
        return got.status_code == 200 and bool(got.json()["branches"])

    wait_until(branch_arrived, what="company 5 and its branch")
    five = site.client.get("/api/companies/5", headers=auth).json()
    assert (five["name"], five["version"], five["source"]) == ("Five v3", 3, "erp")
    assert five["branches"][0]["headquarters"] is True
    # a local edit, then the ERP's next newer version overwrites it
    site.client.post("/api/companies/5", json={"name": "Five (ours)"}, headers=auth)
    publish(site, event("erp.company.upserted", company="5", name="Five v4", version=4))
    wait_until(
        lambda: site.client.get("/api/companies/5", headers=auth).json()["version"] == 4,
        what="version 4",
    )
    assert site.client.get("/api/companies/5", headers=auth).json()["name"] == "Five v4"
