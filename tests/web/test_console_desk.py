"""The console's operator desk: an operator walks down the tree, reads the item's message,
records an occurrence; a supervisor sees only the items authorised to him; an item not
authorised cannot be used from the page either."""

from __future__ import annotations

from hub.web.tokens import Tokens
from tests.support.people import person
from tests.web.conftest import Console, Site, console_login


def signed_in(site: Site, user: str, role: str, next: str = "/desk") -> Console:
    person(site.hub.uow, user, role)
    site.tokens[f"desk-{user}"] = Tokens(site.hub.uow).create(
        f"desk-{user}", tenant="default", user=user
    )
    return console_login(site, f"desk-{user}", next=next)


def test_an_operator_records_and_a_supervisor_sees_only_his_items(sqlite_site: Site) -> None:
    ana = signed_in(sqlite_site, "ana", "desk_operator")
    desk = ana.get("/desk")
    assert desk.status_code == 200 and 'id="item-financial"' in desk.text
    assert 'id="item-academic"' not in desk.text
    step = ana.get("/desk?item=financial")
    assert 'href="/desk?item=invoice-copy"' in step.text and "record-occurrence" not in step.text
    leaf = ana.get("/desk?item=invoice-copy")
    assert "Confirm the customer" in leaf.text and 'name="field.invoice"' in leaf.text

    done = ana.post(
        "/desk",
        {
            "item": "invoice-copy",
            "customer_id": "C-5",
            "field.invoice": "NF-3",
            "status": "pending",
        },
    )
    assert "occurrence OC-" in done.text and "opened ticket T-" in done.text
    refused = ana.post("/desk", {"item": "transcript", "customer_id": "C-5", "field.ra": "RA-1"})
    assert "is not authorised to the script item" in refused.text

    bruno = signed_in(sqlite_site, "bruno", "supervisor")
    seen = bruno.get("/desk")
    assert 'id="item-academic"' in seen.text and 'id="item-transcript"' in seen.text
    assert 'id="item-financial"' not in seen.text
    hidden = bruno.get("/desk?item=invoice-copy")
    assert "unknown script item" in hidden.text
