"""``hub run`` serving HTTP (a free port, ``--no-http``), ``hub tokens``, ``hub trace`` and
``hub queues`` as an operator runs them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hub.store.db import upgrade
from tests.support.harness import create_ledger_tables, item_event, wait_until
from tests.support.process import hub_env, run_cli, start_hub, stop
from tests.web.browser import console_url


def fetch(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.mark.timeout(150)
def test_hub_run_serves_the_api_on_a_free_port_and_stops_on_sigterm(
    process_tier: dict[str, str], tmp_path: Path
) -> None:
    upgrade(process_tier["database_url"])
    create_ledger_tables(process_tier["database_url"])
    env = hub_env(process_tier, HUB_CONSUMERS="tests.support.ledger:consumer")
    token = run_cli(env, "tokens", "create", "ops", "--user", "support").stdout.strip()
    log = tmp_path / "hub.log"
    proc = start_hub(env, log)
    try:
        url = console_url(log)
        assert not url.endswith(":8000/")
        assert fetch(url + "healthz") == (200, b'{"status":"ok","database":"ok","broker":"ok"}')
        assert fetch(url + "api/queues")[0] == 401
        status, body = fetch(url + "api/queues", token)
        assert status == 200 and json.loads(body)["queues"][0]["queue"] == "hub.ledger"
        event = item_event("H-1")
        events = tmp_path / "events.json"
        events.write_text(json.dumps(event))
        assert run_cli(env, "publish", str(events)).returncode == 0

        def handled() -> bool:
            text = fetch(url + "metrics")[1].decode()
            return (
                'hub_messages_total{consumer="ledger",event_type="test.item.created",outcome="handled"} 1.0'
                in text
            )

        wait_until(handled, timeout=30, what="the handled message in /metrics")
        # the CLI's trace of the chain
        traced = run_cli(env, "trace", event["id"], "--json")
        assert traced.returncode == 0, traced.stderr
        steps = [s["step"] for s in json.loads(traced.stdout)["steps"]]
        assert steps == ["received", "emitted"]
        table = run_cli(env, "trace", event["id"])
        assert "received" in table.stdout and "test.item.created" in table.stdout
        # hub queues: depth, consumers, rates
        queues = run_cli(env, "queues", "--json", "--interval", "0.5")
        row = json.loads(queues.stdout)["queues"][0]
        assert row["consumers"] == 1 and row["out_per_s"] > 0 and row["in_per_s"] is not None
        assert "out/s" in run_cli(env, "queues", "--interval", "0").stdout
    finally:
        assert stop(proc) == 0
    assert "hub stopped" in log.read_text()


@pytest.mark.timeout(90)
def test_no_http_runs_without_the_web_console(tmp_path: Path) -> None:
    tier = {
        "broker_url": f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
        "database_url": f"sqlite:///{tmp_path / 'hub.sqlite'}",
    }
    env = hub_env(tier, HUB_CONSUMERS="tests.support.ledger:consumer")
    log = tmp_path / "hub.log"
    proc = start_hub(env, log, "--no-http")
    try:
        wait_until(lambda: "hub running" in log.read_text(), timeout=60, what="hub run")
        assert "web console" not in log.read_text()
    finally:
        assert stop(proc) == 0


def test_tokens_are_created_listed_and_revoked(tmp_path: Path) -> None:
    tier = {"broker_url": "memory://x", "database_url": f"sqlite:///{tmp_path / 'hub.sqlite'}"}
    env = hub_env(tier)
    assert run_cli(env, "db", "upgrade").returncode == 0  # the demo's users, ana among them
    made = run_cli(env, "tokens", "create", "desk", "--user", "ana")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("hub_") and len(token) > 40
    listed = json.loads(run_cli(env, "tokens", "list", "--json").stdout)
    assert [(t["name"], t["user"], t["revoked_at"]) for t in listed] == [("desk", "ana", None)]
    assert token not in json.dumps(listed) and token[:10] == listed[0]["prefix"]
    again = run_cli(env, "tokens", "create", "desk", "--user", "ana")
    assert again.returncode == 2 and "already" in again.stderr
    nobody = run_cli(env, "tokens", "create", "x", "--user", "zoe")
    assert nobody.returncode == 2 and "has no user 'zoe'" in nobody.stderr
    role = run_cli(env, "tokens", "create", "x", "--role", "operator")
    assert role.returncode == 2 and "no longer carry a role" in role.stderr
    # a user may not make tokens for others without users:edit
    refused = run_cli(env, "tokens", "create", "mine", "--user", "carla", "--by", "ana")
    assert refused.returncode == 2 and "users:access and users:edit" in refused.stderr
    assert run_cli(env, "tokens", "revoke", "desk").returncode == 0
    assert json.loads(run_cli(env, "tokens", "list", "--json").stdout)[0]["revoked_at"]
    missing = run_cli(env, "tokens", "revoke", "nobody")
    assert missing.returncode == 2 and "no token named" in missing.stderr
