"""The console's pages and forms, through the app (the browser tests drive a real Chromium)."""

from __future__ import annotations

from hub.web.security import COOKIE
from tests.support.harness import wait_until
from tests.web.conftest import ORIGIN, Console, Site, console_login
from tests.web.test_api_operations import effects, site_fix
from tests.web.test_api_tickets import customer_held


def login(site: Site, role: str) -> Console:
    console = console_login(site, role)
    assert COOKIE in console.client.cookies
    assert site.tokens[role] not in str(console.client.cookies.get(COOKIE))  # never the token
    return console


def test_pages_need_a_login_and_a_bad_token_is_refused(sqlite_site: Site) -> None:
    client = sqlite_site.client
    for path in ("/", "/dead-letters", "/trace", "/tickets", "/live/overview"):
        got = client.get(path, follow_redirects=False)
        assert got.status_code == 303 and got.headers["location"].startswith("/login"), path
    got = client.post(
        "/login", data={"token": "hub_wrong", "next": "/"}, headers={"origin": ORIGIN}
    )
    assert "wrong user, password or token" in got.text
    assert client.get("/login").status_code == 200


def test_every_page_renders_for_a_reader(sqlite_site: Site) -> None:
    ticket = sqlite_site.open_ticket()
    letter = sqlite_site.dead_letter("P-1")
    client = login(sqlite_site, "reader")
    overview = client.get("/")
    assert "hub.ledger" in overview.text and "PermanentError" in overview.text
    assert "hub.ledger" in client.get("/live/overview").text
    letters = client.get("/dead-letters")
    assert f"/dead-letters/{letter}" in letters.text and "Replay group" in letters.text
    shown = client.get(f"/dead-letters/{letter}")
    assert "Traceback" in shown.text and "P-1" in shown.text
    assert "no dead letter with id" in client.get("/dead-letters/999").text
    board = client.get("/tickets")
    assert ticket in board.text and "Analysis" in board.text and "Academic transcript" in board.text
    assert ticket in client.get("/live/tickets?type=finance.agreement-approval").text
    page = client.get(f"/tickets/{ticket}")
    assert "Approved" in page.text and "read-only" in page.text
    trace_id = client.get("/api/dead-letters/" + str(letter)).json()["correlation_id"]
    trace = client.get("/trace", params={"correlation_id": trace_id})
    assert "dead-lettered" in trace.text
    # a reader may look but not act
    got = client.post(f"/dead-letters/{letter}/replay")
    assert "needs the permission dead_letters:edit" in got.text
    got = client.post(f"/tickets/{ticket}/move", data={"stage": "approved"})
    assert "needs the permission tickets:edit" in got.text
    client.post("/logout")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_an_attendant_works_a_ticket_from_its_page(sqlite_site: Site) -> None:
    ticket = sqlite_site.open_ticket()
    client = login(sqlite_site, "attendant")
    got = client.post(
        f"/tickets/{ticket}/move", data={"stage": "rejected", "reason": "", "action_key": "k1"}
    )
    assert "needs a reason" in got.text
    got = client.post(f"/tickets/{ticket}/comment", data={"text": "checking the amount"})
    assert "comment added" in got.text and "checking the amount" in got.text
    got = client.post(f"/tickets/{ticket}/attach", files={"file": ("note.txt", b"hello")})
    assert "note.txt attached" in got.text
    attachment = client.get(f"/api/tickets/{ticket}").json()["attachments"][0]
    assert client.get(f"/tickets/{ticket}/attachments/{attachment['id']}").content == b"hello"
    got = client.post(
        f"/tickets/{ticket}/move",
        data={"stage": "approved", "field.approval_note": "fine", "action_key": "k2"},
    )
    assert f"{ticket} moved to approved" in got.text
    shown = client.get(f"/api/tickets/{ticket}").json()
    assert (shown["stage"], shown["parameters"]["approval_note"]) == ("approved", "fine")
    # a resubmitted form (same action key) does not move twice
    again = client.post(f"/tickets/{ticket}/move", data={"stage": "approved", "action_key": "k2"})
    assert "moved to approved" in again.text
    assert [h["kind"] for h in client.get(f"/api/tickets/{ticket}").json()["history"]] == [
        "open",
        "move",
    ]


def test_an_administrator_cancels_then_deletes_a_ticket_the_customer_holds(
    sqlite_site: Site,
) -> None:
    site = sqlite_site
    held = customer_held(site)
    attendant = login(site, "attendant")
    page = attendant.get(f"/tickets/{held}").text
    assert 'id="cancel"' not in page and 'id="delete"' not in page  # not an administrator
    refused = attendant.post(f"/tickets/{held}/cancel", data={"reason": "x"})
    assert "only administrators may cancel" in refused.text
    note = attendant.post(f"/tickets/{held}/comment", data={"text": "late fee", "internal": "1"})
    assert "internal note added" in note.text and "internal note</span>" in note.text
    admin = login(site, "operator")
    assert 'id="cancel"' in admin.get(f"/tickets/{held}").text
    assert 'id="cancel"' not in admin.get(f"/tickets/{site.open_ticket()}").text  # ana holds it
    cancelled = admin.post(f"/tickets/{held}/cancel", data={"reason": "asked twice"})
    assert f"{held} cancelled" in cancelled.text and 'id="delete"' in cancelled.text
    deleted = admin.post(f"/tickets/{held}/delete", data={"reason": "opened by mistake"})
    assert f"{held} deleted" in deleted.text and "Tickets" in deleted.text
    assert site.client.get(f"/api/tickets/{held}", headers=site.auth("operator")).status_code == 404
    gone = admin.post(f"/tickets/{held}/delete", data={"reason": "again"})
    assert f"no ticket &#39;{held}&#39;" in gone.text or f"no ticket '{held}'" in gone.text


def test_an_operator_replays_and_purges_from_the_console(sqlite_site: Site) -> None:
    first = sqlite_site.dead_letter("R-1")
    sqlite_site.dead_letter("R-2")
    site_fix(sqlite_site, "R-1")  # so that the replay is handled, not dead-lettered again
    client = login(sqlite_site, "operator")
    got = client.post(f"/dead-letters/{first}/replay")
    assert f"dead letter {first} replayed" in got.text
    wait_until(lambda: effects(sqlite_site, "R-1") == 1, what="the replay handled")
    got = client.post(
        "/dead-letter-groups/purge", data={"consumer": "ledger", "error_type": "PermanentError"}
    )
    assert "purged 1 of ledger / PermanentError" in got.text
