"""``hub run`` as a process: killed mid-stream, stopped gracefully, fed a poison message."""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.runtime.transports import transport_for
from hub.store.db import make_engine, upgrade
from tests.support.harness import DOWNSTREAM, create_ledger_tables, item_event, outgoing, wait_until
from tests.support.ledger import ledger
from tests.support.process import drain_ids, hub_env, run_cli, start_hub, stop, wait_settled

CONSUMER = "tests.support.ledger:consumer"


def _prepare(process_tier: dict[str, str]) -> None:
    upgrade(process_tier["database_url"])
    create_ledger_tables(process_tier["database_url"])
    transport = transport_for(process_tier["broker_url"])
    from tests.support.ledger import consumer

    transport.setup({consumer.queue: consumer.event_types, DOWNSTREAM: ["crm.ticket.cancelled"]})
    transport.close()


def _dead_letters(database_url: str) -> int:
    from hub.store.models import DeadLetter

    engine = make_engine(database_url)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(DeadLetter)).scalar_one()
    engine.dispose()
    return int(count)


def _effects(database_url: str) -> Counter[str]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(select(ledger.c.item)).scalars().all()
    engine.dispose()
    return Counter(rows)


@pytest.mark.timeout(180)
def test_sigkill_mid_stream_then_restart_loses_nothing_and_duplicates_nothing(
    process_tier: dict[str, str], tmp_path: Path
) -> None:
    _prepare(process_tier)
    # the whole backlog is waiting at once: one message a transaction, so that the kill lands
    # mid-stream rather than after a few large batches
    env = hub_env(process_tier, HUB_CONSUMERS=CONSUMER, HUB_BATCH="1")
    log = tmp_path / "hub.log"
    n = 400
    transport = transport_for(process_tier["broker_url"])
    transport.publish([outgoing(item_event(f"K-{i}")) for i in range(n)])
    transport.close()

    proc = start_hub(env, log)
    wait_until(
        lambda: sum(_effects(process_tier["database_url"]).values()) >= 60,
        timeout=60,
        what="the hub to handle some events",
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    killed_at = sum(_effects(process_tier["database_url"]).values())
    assert killed_at < n, "the hub finished before it was killed; the test proves nothing"

    proc = start_hub(env, log)
    try:
        wait_for_items(process_tier, "K-", n, log, timeout=90)
        # every delivery settled: a second effect of a redelivered event would be committed
        wait_settled(process_tier["broker_url"], ["hub.ledger"], timeout=60)
        effects = _effects(process_tier["database_url"])
        assert set(effects) == {f"K-{i}" for i in range(n)}
        assert max(effects.values()) == 1, "an event had two effects"
        wait_until(
            lambda: _outbox_unsent(process_tier["database_url"]) == 0,
            timeout=30,
            what="the outbox to drain",
        )
    finally:
        assert stop(proc) == 0, log.read_text()[-3000:]
    ids = drain_ids(process_tier["broker_url"], DOWNSTREAM, n)
    assert len(set(ids)) == n, "an outbound event is missing"


def _outbox_unsent(database_url: str) -> int:
    from hub.store.models import OutboxMessage

    engine = make_engine(database_url)
    with engine.connect() as conn:
        count = conn.execute(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        ).scalar_one()
    engine.dispose()
    return int(count)


@pytest.mark.timeout(180)
def test_a_poison_message_that_kills_the_worker_ends_in_the_dead_letter_store(
    process_tier: dict[str, str], tmp_path: Path
) -> None:
    _prepare(process_tier)
    env = hub_env(process_tier, HUB_CONSUMERS=CONSUMER, HUB_DELIVERY_LIMIT="2")
    log = tmp_path / "hub.log"
    transport = transport_for(process_tier["broker_url"])
    transport.publish([outgoing(item_event("P-1", crash=True)), outgoing(item_event("P-2"))])
    transport.close()
    url = process_tier["database_url"]

    def past_the_poison() -> bool:
        return _dead_letters(url) == 1 and _effects(url)["P-2"] == 1

    restarts = 0
    while True:  # what a supervisor (systemd, Kubernetes) does: restart the dead worker
        proc = start_hub(env, log)
        wait_until(
            lambda p=proc: p.poll() is not None or past_the_poison(),
            timeout=60,
            what="the worker to die, or to set the poison message aside and go on",
        )
        if proc.poll() is None:
            break  # it survives now
        assert proc.returncode == -signal.SIGKILL, log.read_text()[-3000:]
        restarts += 1
        assert restarts <= 5, "the poison message was never set aside"
    try:
        assert restarts >= 2
        listed = run_cli(env, "dlq", "list", "--json")
        letters = json.loads(listed.stdout)
        assert len(letters) == 1
        assert (
            "poison" in letters[0]["error_message"]
            or "delivery limit" in letters[0]["error_message"]
        )
        assert _effects(process_tier["database_url"])["P-1"] == 0
    finally:
        if proc.poll() is None:
            assert stop(proc) == 0


@pytest.mark.timeout(120)
def test_sigterm_stops_gracefully(process_tier: dict[str, str], tmp_path: Path) -> None:
    _prepare(process_tier)
    env = hub_env(process_tier, HUB_CONSUMERS=CONSUMER)
    log = tmp_path / "hub.log"
    transport = transport_for(process_tier["broker_url"])
    transport.publish([outgoing(item_event(f"G-{i}")) for i in range(200)])
    transport.close()
    proc = start_hub(env, log)
    wait_until(
        lambda: sum(_effects(process_tier["database_url"]).values()) >= 20,
        timeout=60,
        what="some events handled",
    )
    assert stop(proc, signal.SIGTERM) == 0
    assert "hub stopped" in log.read_text()
    proc = start_hub(env, log)
    try:
        wait_for_items(process_tier, "G-", 200, log, timeout=60)
        assert max(_effects(process_tier["database_url"]).values()) == 1
    finally:
        stop(proc)


def wait_for_items(tier: dict[str, str], prefix: str, n: int, log: Path, *, timeout: float) -> None:
    """Wait until ``n`` effects are committed; if they never are, fail saying which items are
    missing, what the broker holds and how the hub's log ends."""
    try:
        wait_until(
            lambda: sum(_effects(tier["database_url"]).values()) >= n,
            timeout=timeout,
            what=f"{n} items {prefix}* handled",
        )
    except AssertionError as e:
        raise AssertionError(_why_missing(tier, prefix, n, log)) from e


def _why_missing(tier: dict[str, str], prefix: str, n: int, log: Path) -> str:
    """What a test that waited in vain prints: the items missing, what the broker still holds
    for the consumer, and the end of the hub's log."""
    effects = _effects(tier["database_url"])
    missing = [f"{prefix}{i}" for i in range(n) if f"{prefix}{i}" not in effects]
    from tests.support.ledger import consumer

    transport = transport_for(tier["broker_url"])
    try:
        stats = transport.stats([consumer.queue])
    finally:
        transport.close()
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    return f"missing {missing[:20]} ({len(missing)} in all); broker: {stats}\nlog:\n{tail}"
