"""The contact center's API: the tree as each caller may see it, the forms, and occurrences
recorded only through items authorised to the caller."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.store.models import OutboxMessage
from hub.web.tokens import Tokens
from tests.support.people import person
from tests.web.conftest import Site


def bearer(site: Site, user: str, *roles: str) -> dict[str, str]:
    person(site.hub.uow, user, *roles)
    return {
        "Authorization": f"Bearer {Tokens(site.hub.uow).create(f'desk-{user}', tenant='default', user=user)}"
    }


def ids(nodes: list[dict[str, Any]]) -> list[Any]:
    return [[n["id"], ids(n["children"])] if n["children"] else n["id"] for n in nodes]


def test_the_tree_forms_and_occurrences_follow_the_callers_authorisations(
    sqlite_site: Site,
) -> None:
    client = sqlite_site.client
    ana = bearer(sqlite_site, "ana", "desk_operator")
    bruno = bearer(sqlite_site, "bruno", "supervisor")

    # a supervisor sees only what is authorised to him; an administrator everything
    tree = client.get("/api/scripts/tree", headers=bruno)
    assert tree.status_code == 200, tree.text
    assert ids(tree.json()) == [["start", [["academic", ["transcript"]]]]]
    everything = client.get("/api/scripts/tree", headers=sqlite_site.auth("operator")).json()
    assert ids(everything) == [
        ["start", [["financial", ["invoice-copy"]], ["academic", ["transcript"]]]]
    ]
    other = client.get("/api/scripts/tree", params={"user": "bruno"}, headers=ana)
    assert other.status_code == 403 and set(other.json()) == {"error", "detail"}

    forms = {f["id"]: f for f in client.get("/api/forms", headers=ana).json()}
    assert forms["invoice-copy"]["omnichannel"] and not forms["transcript"]["omnichannel"]

    # ana records twice for one customer: one ticket, two occurrences
    body = {
        "script_item": "invoice-copy",
        "customer_id": "C-9",
        "fields": {"invoice": "NF-7"},
        "complement": {"status": "resolved"},
    }
    first = client.post("/api/occurrences", json=body, headers={**ana, "Idempotency-Key": "o-1"})
    assert first.status_code == 201, first.text
    assert first.json()["opened"] is True
    again = client.post("/api/occurrences", json=body, headers={**ana, "Idempotency-Key": "o-1"})
    assert again.json() == first.json()  # the same request: not recorded twice
    second = client.post("/api/occurrences", json=body, headers=ana)
    assert second.status_code == 201
    assert (second.json()["ticket_id"], second.json()["opened"]) == (
        first.json()["ticket_id"],
        False,
    )
    ticket = client.get(
        f"/api/tickets/{first.json()['ticket_id']}", headers=sqlite_site.auth("operator")
    )
    assert [h["kind"] for h in ticket.json()["history"]] == ["open", "occurrence"]

    # an item not authorised to ana, one that does not exist, a complement out of its kind
    refused = client.post(
        "/api/occurrences", json={**body, "script_item": "transcript"}, headers=ana
    )
    assert refused.status_code == 403 and refused.json()["error"] == "PermissionDenied"
    missing = client.post("/api/occurrences", json={**body, "script_item": "nope"}, headers=ana)
    assert missing.status_code == 404
    bad = client.post(
        "/api/occurrences", json={**body, "complement": {"status": "lost"}}, headers=ana
    )
    assert bad.status_code == 422 and set(bad.json()) == {"error", "detail"}
    no_field = client.post("/api/occurrences", json={**body, "fields": {}}, headers=ana)
    assert no_field.status_code == 422 and "invoice" in no_field.json()["detail"]

    with sqlite_site.hub.uow.sessions() as s:
        recorded = list(
            s.scalars(
                select(OutboxMessage).where(OutboxMessage.event_type == "crm.occurrence.recorded")
            )
        )
    assert len(recorded) == 2
