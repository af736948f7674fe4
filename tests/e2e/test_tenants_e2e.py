"""Two tenants as a user runs them, on the embedded default and on RabbitMQ + PostgreSQL:
``hub tenants create``, ``hub run``, ``hub publish``, ``hub tickets``, ``hub users``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.identity.permissions import DEFAULT_ROLES
from hub.store.db import make_engine
from hub.store.models import OutboxMessage
from schemas.examples import example_event
from tests.conftest import _tier
from tests.support.harness import wait_until
from tests.support.process import hub_env, run_cli, start_hub, stop


@pytest.fixture(params=["embedded", "production"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    with _tier(request.param, tmp_path) as urls:
        env = hub_env(urls, HUB_DATA_DIR=str(tmp_path / "data"))
        assert run_cli(env, "db", "upgrade").returncode == 0
        yield env


def cli_json(env: dict[str, str], *args: str) -> Any:
    out = run_cli(env, *args)
    assert out.returncode == 0, (args, out.stderr)
    return json.loads(out.stdout)


def sent(env: dict[str, str], event_type: str) -> list[dict[str, Any]]:
    """Outbound events of ``event_type`` the relay has published."""
    engine = make_engine(env["HUB_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(OutboxMessage.body).where(
                    OutboxMessage.event_type == event_type, OutboxMessage.sent_at.is_not(None)
                )
            )
            return [json.loads(body) for (body,) in rows]
    finally:
        engine.dispose()


@pytest.mark.timeout(180)
def test_two_tenants_fed_the_same_agreement_each_see_only_their_own(
    site: dict[str, str], tmp_path: Path
) -> None:
    env = site
    steps = cli_json(
        env, "tenants", "create", "acme", "--name", "Acme", "--plan", "starter", "--demo", "--json"
    )["steps"]
    roles = [s["status"] for s in steps if s["step"].startswith("role")]
    assert roles == ["created"] * len(DEFAULT_ROLES)
    again = cli_json(
        env, "tenants", "create", "acme", "--name", "Other", "--plan", "advanced", "--json"
    )
    assert again["changed"] is False and again["plan"] == "starter"  # nothing else changes
    log = tmp_path / "hub.log"
    proc = start_hub(env, log)
    try:
        wait_until(lambda: "hub running" in log.read_text(), timeout=60, what="hub run")
        # Given the same agreement, with the same id and idempotency key, for each tenant
        event = example_event("finance.agreement.pending")
        event["idempotencykey"] = "AG-SAME"
        path = tmp_path / "pending.json"
        path.write_text(json.dumps(event))
        assert run_cli(env, "publish", str(path)).returncode == 0
        assert run_cli(env, "publish", str(path), "--tenant", "acme").returncode == 0
        created = lambda: sent(env, "crm.ticket.created")  # noqa: E731
        wait_until(lambda: len(created()) == 2, timeout=60, what="a ticket in each tenant")
        # Then each tenant lists one ticket, its own
        [ours] = cli_json(env, "tickets", "list", "--json")
        [theirs] = cli_json(env, "tickets", "list", "--json", "--tenant", "acme")
        assert ours["id"] != theirs["id"]
        missing = run_cli(env, "tickets", "show", theirs["id"])
        assert missing.returncode == 2 and f"no ticket '{theirs['id']}'" in missing.stderr
        # When acme's ana approves acme's ticket
        moved = run_cli(
            env, "tickets", "move", theirs["id"], "approved", "--by", "ana", "--tenant", "acme"
        )
        assert moved.returncode == 0, moved.stderr
        # Then its decision goes out with acme's tenantid, and only that one
        wait_until(lambda: sent(env, "finance.agreement.approved"), timeout=60, what="decision")
        [decision] = sent(env, "finance.agreement.approved")
        assert decision["tenantid"] == "acme" and decision["data"]["ticket_id"] == theirs["id"]
        # A user the platform sends to a starter tenant waits for an administrator
        user = example_event("platform.user.upserted")
        user["data"]["user_id"] = "zoe"
        path.write_text(json.dumps(user))
        assert run_cli(env, "publish", str(path), "--tenant", "acme").returncode == 0

        def zoe() -> dict[str, Any] | None:
            out = run_cli(env, "users", "show", "zoe", "--json", "--tenant", "acme")
            return json.loads(out.stdout) if out.returncode == 0 else None

        wait_until(lambda: zoe() is not None, timeout=60, what="zoe synced")
        assert zoe()["status"] == "pending"  # type: ignore[index]
        refused = run_cli(env, "users", "activate", "zoe", "--by", "ana", "--tenant", "acme")
        assert refused.returncode == 2 and "users:edit" in refused.stderr
        assert (
            run_cli(
                env, "users", "activate", "zoe", "--by", "support", "--tenant", "acme"
            ).returncode
            == 0
        )
        assert zoe()["status"] == "active"  # type: ignore[index]
        wait_until(lambda: sent(env, "crm.user.activated"), timeout=60, what="crm.user.activated")
        # and, as a User, cannot replay a dead letter: one line naming the permission
        replay = run_cli(env, "dlq", "replay", "1", "--by", "zoe", "--tenant", "acme")
        assert replay.returncode == 2
        assert replay.stderr.strip() == (
            "error: zoe may not change dead letters "
            "(needs the permission dead_letters:access and dead_letters:edit)"
        )
    finally:
        assert stop(proc) == 0, log.read_text()[-3000:]
