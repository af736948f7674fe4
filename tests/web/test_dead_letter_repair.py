"""Edit and retry, rate-limited group replays and the audit, over the API and in the console."""

from __future__ import annotations

import json

from tests.support.harness import item_event, wait_until
from tests.web.conftest import Site
from tests.web.test_api_operations import effects, site_fix
from tests.web.test_console_pages import login


def test_an_operator_corrects_a_dead_letter_over_the_api_and_it_is_handled(
    sqlite_site: Site,
) -> None:
    site = sqlite_site
    dl_id = site.dead_letter("F-1")  # refused: the ledger books it only once it is fixed
    post, get, operator = site.client.post, site.client.get, site.auth("operator")
    original = get(f"/api/dead-letters/{dl_id}", headers=operator).json()["payload"]

    broken = {**original, "specversion": "0.3"}
    refused = post(f"/api/dead-letters/{dl_id}/edit", json={"event": broken}, headers=operator)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "InvalidMessage"
    assert "specversion: Input should be '1.0'" in refused.json()["detail"]
    same = post(f"/api/dead-letters/{dl_id}/edit", json={"event": original}, headers=operator)
    assert same.status_code == 422 and same.json()["error"] == "NothingChanged"
    forbidden = post(
        f"/api/dead-letters/{dl_id}/edit", json={"event": original}, headers=site.auth("attendant")
    )
    assert forbidden.status_code == 403

    corrected = {**original, "data": {"item": "F-2"}}  # booked under another item
    done = post(f"/api/dead-letters/{dl_id}/edit", json={"event": corrected}, headers=operator)
    assert done.status_code == 200, done.text
    assert (done.json()["action"], done.json()["by"]) == ("edited", "admin (token ops)")
    assert '-    "item": "F-1"' in done.json()["diff"]
    wait_until(lambda: effects(site, "F-2") == 1, what="the corrected event handled")
    assert effects(site, "F-1") == 0
    again = post(f"/api/dead-letters/{dl_id}/edit", json={"event": corrected}, headers=operator)
    assert again.status_code == 409  # replayed already: no longer awaiting action

    audit = get("/api/dead-letters/audit", params={"dead_letter_id": dl_id}, headers=operator)
    (entry,) = audit.json()
    assert json.loads(entry["body"]) == original and json.loads(entry["corrected"]) == corrected


def test_a_group_is_replayed_at_a_rate_and_purges_are_audited(sqlite_site: Site) -> None:
    site = sqlite_site
    ids = [site.dead_letter(f"H-{n}") for n in range(3)]
    for n in range(3):
        site_fix(site, f"H-{n}")  # so that the replays are handled, not dead-lettered again
    post, operator = site.client.post, site.auth("operator")
    bad = post("/api/dead-letters/replay", json={"rate": 0}, headers=operator)
    assert bad.status_code == 422 and bad.json()["error"] == "ValidationError"
    got = post(
        "/api/dead-letters/replay", json={"consumer": "ledger", "rate": 20}, headers=operator
    )
    assert got.json() == {"replayed": ids}
    wait_until(lambda: effects(site) == 3, what="the three replays handled")
    assert post("/api/dead-letters/purge", json={}, headers=operator).json() == {"purged": 0}
    site.dead_letter("H-9")
    assert post("/api/dead-letters/purge", json={}, headers=operator).json() == {"purged": 1}
    audit = site.client.get("/api/dead-letters/audit", headers=site.auth("reader")).json()
    assert [a["action"] for a in audit] == ["purged", "replayed", "replayed", "replayed"]
    assert all(a["detail"].startswith("at 20/s") for a in audit[1:])


def test_the_console_edits_a_dead_letter_and_shows_its_history(sqlite_site: Site) -> None:
    site = sqlite_site
    dl_id = site.dead_letter("C-1")
    client = login(site, "operator")
    page = client.get(f"/dead-letters/{dl_id}")
    assert "Edit and replay" in page.text and '"item": "C-1"' in page.text
    refused = client.post(f"/dead-letters/{dl_id}/edit", data={"event": '{"specversion": "1.0"}'})
    assert refused.status_code == 200
    assert "id: Field required" in refused.text and "source: Field required" in refused.text
    assert "{&#34;specversion&#34;: &#34;1.0&#34;}" in refused.text  # the draft is kept
    corrected = json.dumps(item_event("C-2"))
    done = client.post(f"/dead-letters/{dl_id}/edit", data={"event": corrected})
    assert "corrected version replayed" in done.text
    wait_until(lambda: effects(site, "C-2") == 1, what="the corrected event handled")
    history = client.get(f"/dead-letters/{dl_id}").text
    # signed in with the token, the session is the token's user's: the audit names the user
    assert "<td>edited</td><td>admin</td>" in history
    assert "Edit and replay" not in history  # no longer awaiting action

    reader = login(site, "reader")
    other = site.dead_letter("C-3")
    got = reader.post(f"/dead-letters/{other}/edit", data={"event": corrected})
    assert "watcher may not change dead letters (needs the permission dead_letters:edit)" in got.text
