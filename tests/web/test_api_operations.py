"""Dead letters, queues, configuration, message trace and metrics over HTTP."""

from __future__ import annotations

import uuid

from tests.support.harness import item_event, wait_until
from tests.web.conftest import Site


def test_dead_letters_list_show_replay_and_purge(site: Site) -> None:
    # Given two dead letters of the ledger consumer
    first = site.dead_letter("D-1")
    second = site.dead_letter("D-2")
    get, post = site.client.get, site.client.post
    reader, operator = site.auth("reader"), site.auth("operator")
    listed = get("/api/dead-letters", headers=reader).json()
    assert [d["id"] for d in listed] == [first, second]
    assert get("/api/dead-letters", params={"consumer": "other"}, headers=reader).json() == []
    groups = get("/api/dead-letters/groups", headers=reader).json()
    assert [(g["consumer"], g["error_type"], g["count"]) for g in groups] == [
        ("ledger", "PermanentError", 2)
    ]
    shown = get(f"/api/dead-letters/{first}", headers=reader).json()
    assert shown["payload"]["data"]["item"] == "D-1"
    assert "Traceback" in shown["traceback"]
    assert get("/api/dead-letters/9999", headers=reader).status_code == 404
    # When the cause is fixed and the first is replayed (twice, with one idempotency key)
    site_fix(site, "D-1")
    headers = {**operator, "Idempotency-Key": str(uuid.uuid4())}
    replayed = post(f"/api/dead-letters/{first}/replay", headers=headers)
    again = post(f"/api/dead-letters/{first}/replay", headers=headers)
    assert replayed.json() == again.json() == {"replayed": [first]}
    # Then it is handled and marked replayed; the other still awaits action
    wait_until(lambda: effects(site, "D-1") == 1, what="D-1 handled after the replay")
    assert [d["id"] for d in get("/api/dead-letters", headers=reader).json()] == [second]
    everything = get("/api/dead-letters", params={"status": ""}, headers=reader).json()
    assert {d["id"]: d["status"] for d in everything} == {first: "replayed", second: "dead"}
    assert post(f"/api/dead-letters/{first}/replay", headers=operator).json() == {"replayed": []}
    # purge one, then a missing one
    assert post(f"/api/dead-letters/{first}/purge", headers=operator).json() == {"purged": 1}
    assert post(f"/api/dead-letters/{first}/purge", headers=operator).status_code == 404


def test_a_group_of_dead_letters_is_replayed_or_purged_at_once(site: Site) -> None:
    ids = [site.dead_letter(f"G-{n}") for n in range(3)]
    post, operator = site.client.post, site.auth("operator")
    other = post("/api/dead-letters/replay", json={"consumer": "nobody"}, headers=operator)
    assert other.json() == {"replayed": []}
    for n in range(3):
        site_fix(site, f"G-{n}")
    got = post(
        "/api/dead-letters/replay",
        json={"consumer": "ledger", "error_type": "PermanentError"},
        headers=operator,
    )
    assert got.json() == {"replayed": ids}
    wait_until(lambda: effects(site) == 3, what="three replays handled")
    site.dead_letter("G-9")
    got = post("/api/dead-letters/purge", json={"consumer": "ledger"}, headers=operator)
    assert got.json() == {"purged": 1}  # only the one awaiting action
    remaining = site.client.get("/api/dead-letters", params={"status": ""}, headers=operator).json()
    assert sorted(d["id"] for d in remaining) == ids


def test_queues_config_and_trace(site: Site) -> None:
    reader = site.auth("reader")
    event = item_event("Q-1", fail_times=1)
    site.publish(event)
    wait_until(lambda: effects(site, "Q-1") == 1, what="Q-1 handled after one retry")
    queues = site.client.get("/api/queues", headers=reader).json()
    assert [q["queue"] for q in queues["queues"]] == ["hub.ledger"]
    row = queues["queues"][0]
    assert row["consumers"] == 1 and row["depth"] == 0
    assert row["out_per_s"] > 0  # one retry and one handling in the last minute
    assert set(queues["outbox"]) == {"due", "scheduled", "retries", "oldest_due_s"}
    assert queues["dead_letters"] == []
    config = site.client.get("/api/config", headers=reader).json()
    assert config["workflow"]["version"] == 1
    assert "finance.agreement-approval" in config["workflow"]["config"]["ticket_types"]
    assert config["settings"]["consumers"] == ["hub.ledger"]
    trace = site.client.get(f"/api/trace/{event['id']}", headers=reader).json()
    steps = [s["step"] for s in trace["steps"]]
    assert steps[0] == "retried" and "received" in steps and "emitted" in steps
    received = next(s for s in trace["steps"] if s["step"] == "received")
    assert (received["consumer"], received["event_id"]) == ("ledger", event["id"])
    assert site.client.get("/api/trace/unknown", headers=reader).json()["steps"] == []


def test_metrics_count_outcomes_per_consumer_and_type(site: Site) -> None:
    site.publish(item_event("M-1"), item_event("M-2", fail_times=1))
    site.dead_letter("M-3")
    wait_until(lambda: effects(site) == 2, what="two handled")
    # the effects are committed before the outcomes are counted: wait for the counts
    wait_until(lambda: site.hub.observer.count("handled", "ledger") == 2, what="handled counted")
    wait_until(lambda: site.hub.observer.count("dead-lettered", "ledger") == 1, what="counted")
    text = site.client.get("/metrics").text
    labels = 'consumer="ledger",event_type="test.item.created"'
    assert f'hub_messages_total{{{labels},outcome="handled"}} 2.0' in text
    assert f'hub_messages_total{{{labels},outcome="retried"}} 1.0' in text
    assert f'hub_messages_total{{{labels},outcome="dead_lettered"}} 1.0' in text
    assert f"hub_handler_duration_seconds_count{{{labels}}} 4.0" in text
    assert 'hub_queue_depth{queue="hub.ledger"} 0.0' in text
    assert 'hub_dead_letters{consumer="ledger",error_type="PermanentError"} 1.0' in text
    assert 'hub_outbox_backlog{state="due"}' in text
    assert 'hub_outbox_published_total{kind="event"}' in text
    assert "hub_outbox_relay_lag_seconds_bucket" in text
    # the in-memory counters keep working beside Prometheus
    assert site.hub.observer.count("handled", "ledger") == 2


def site_fix(site: Site, item: str) -> None:
    from tests.support import ledger

    with site.hub.uow.engine.begin() as conn:
        conn.execute(ledger.fixes.insert().values(item=item))


def effects(site: Site, item: str | None = None) -> int:
    from sqlalchemy import func, select

    from tests.support import ledger

    query = select(func.count()).select_from(ledger.ledger)
    if item is not None:
        query = query.where(ledger.ledger.c.item == item)
    with site.hub.uow.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())
