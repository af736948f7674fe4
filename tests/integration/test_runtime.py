"""The runtime's promises, on every tier: exactly-once effects, retries, dead letters, replay."""

from __future__ import annotations

import json
import logging
import signal
from pathlib import Path

import pytest

from hub.runtime.deadletters import DeadLetters
from hub.runtime.processor import ATTEMPT
from hub.settings import Settings
from tests.support.harness import DOWNSTREAM, Running, item_event, running_hub, wait_until


def fast(tier: dict[str, str], **overrides: object) -> Settings:
    values: dict[str, object] = {
        "retry_base_delay": 0.2,
        "retry_max_delay": 2,
        "retry_attempts": 4,
        **tier,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def downstream(hub: Running) -> int:
    return hub.hub.transport.stats([DOWNSTREAM])[0].depth


def retry_delays(hub: Running, event_id: str) -> list[float]:
    """The delay each retry of ``event_id`` was scheduled with, oldest first."""
    from sqlalchemy import select

    from hub.store.models import OutboxMessage

    with hub.hub.uow.sessions() as s:
        rows = s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "retry", OutboxMessage.event_id == event_id)
            .order_by(OutboxMessage.id)
        )
        return [(r.available_at - r.created_at).total_seconds() for r in rows]


def test_an_event_published_three_times_has_one_effect_and_one_outbound_event(
    tier: dict[str, str],
) -> None:
    with running_hub(fast(tier)) as hub:
        event = item_event("A-1", key="order-A-1")
        hub.publish(event, event, event)
        # a re-send with a new id but the same idempotency key is a duplicate too
        hub.publish(item_event("A-1", key="order-A-1"))
        hub.publish(item_event("A-2"))
        wait_until(lambda: hub.effects("A-2") == 1, what="A-2 handled")
        wait_until(lambda: hub.hub.observer.count("duplicate") == 3, what="3 duplicates")
        wait_until(lambda: downstream(hub) == 2, what="2 outbound events")
        assert hub.effects("A-1") == 1
        assert hub.dead_letters() == []


def test_a_handler_failing_twice_is_retried_with_growing_delays_then_succeeds(
    tier: dict[str, str],
) -> None:
    with running_hub(fast(tier)) as hub:
        event = item_event("B-1", fail_times=2)
        hub.publish(event)
        wait_until(lambda: hub.effects("B-1") == 1, what="B-1 handled after retries")
        # the effect is committed before the outcome is counted: wait for the count itself
        # (the retries were counted before, by the same consumer thread)
        wait_until(lambda: hub.hub.observer.count("handled") == 1, what="the handling counted")
        assert hub.hub.observer.count("retried") == 2
        # the two delays, as the retry rows scheduled them: 0.16-0.2 s, then 0.32-0.4 s
        first, second = retry_delays(hub, event["id"])
        assert 0.16 <= first <= 0.2 and 0.32 <= second <= 0.4, (first, second)
        wait_until(lambda: downstream(hub) == 1, what="one outbound event")
        assert hub.dead_letters() == []


def test_retries_are_bounded_then_dead_lettered_with_attempts(tier: dict[str, str]) -> None:
    with running_hub(fast(tier, retry_attempts=3)) as hub:
        hub.publish(item_event("C-1", fail_times=10))
        wait_until(lambda: len(hub.dead_letters()) == 1, what="dead letter")
        dl = hub.dead_letters()[0]
        assert (dl.error_type, dl.attempts, dl.consumer) == ("TransientError", 3, "ledger")
        assert dl.first_failed_at < dl.last_failed_at
        assert "failure 3 of 10" in dl.error_message
        assert hub.effects("C-1") == 0


def test_a_permanent_failure_is_dead_lettered_and_replayed_once_fixed(
    tier: dict[str, str],
) -> None:
    with running_hub(fast(tier)) as hub:
        original = item_event("D-1", permanent=True)
        hub.publish(original)
        wait_until(lambda: len(hub.dead_letters()) == 1, what="dead letter")
        dl = hub.dead_letters()[0]
        assert dl.error_type == "PermanentError"
        assert dl.attempts == 1  # never retried
        assert "item D-1 cannot be booked" in dl.error_message
        assert "Traceback" in (dl.traceback or "")
        assert json.loads(dl.body) == original
        assert hub.hub.observer.count("retried") == 0

        hub.fix("D-1")
        assert DeadLetters(hub.hub.uow, "default").replay([dl.id]) == [dl.id]
        wait_until(lambda: hub.effects("D-1") == 1, what="D-1 handled after replay")
        assert hub.dead_letters()[0].status == "replayed"
        # replaying again does nothing: it is no longer awaiting action
        assert DeadLetters(hub.hub.uow, "default").replay(None) == []


MALFORMED = {
    "malformed JSON": (b'{"specversion": "1.0", "id": ', "body is not JSON"),
    "not a CloudEvent": (b'{"hello": "world"}', "not a CloudEvent"),
    "schema violation": (
        json.dumps(
            {
                **item_event("x"),
                "type": "finance.agreement.cancelled",
                "data": {"agreement_id": "AG-1"},
            }
        ).encode(),
        "data.reason: Field required",
    ),
}


def test_malformed_messages_are_dead_lettered_never_retried_and_the_consumer_goes_on(
    tier: dict[str, str],
) -> None:
    with running_hub(fast(tier)) as hub:
        for body, _ in MALFORMED.values():
            hub.publish(body)
        hub.publish(item_event("E-1"))
        wait_until(lambda: len(hub.dead_letters()) == 3, what="3 dead letters")
        wait_until(lambda: hub.effects("E-1") == 1, what="E-1 handled")
        # matched by body: on Kafka they travel on different topics, in no set order
        letters = {dl.body: dl for dl in hub.dead_letters()}
        assert set(letters) == {body for body, _ in MALFORMED.values()}
        for body, expected in MALFORMED.values():
            dl = letters[body]
            assert dl.error_type == "InvalidMessage"
            assert expected in dl.error_message
            assert dl.attempts == 1
            assert ATTEMPT not in dl.headers
        assert hub.hub.observer.count("retried") == 0


def test_the_relay_outlives_its_store_connection_killed_at_each_of_its_statements(
    postgres_url: str,
) -> None:
    """PostgreSQL ends the relay's connection (``pg_terminate_backend``) just before the
    relay's 1st, 2nd, ... 6th statement in turn, so every statement of its cycle (due broker
    rows, due mail rows, when to wake) meets a dead connection once; each time, the relay
    pauses and then relays what is committed next."""
    import threading
    import uuid

    import psycopg
    from sqlalchemy import event

    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    settings = fast({"broker_url": f"memory://{uuid.uuid4().hex}", "database_url": postgres_url})
    with running_hub(settings) as hub, psycopg.connect(admin, autocommit=True) as killer:
        armed = {"countdown": 0, "killed": 0}

        @event.listens_for(hub.engine, "before_cursor_execute")
        def _kill(conn, _cursor, _statement, _params, _context, _many):  # type: ignore[no-untyped-def]
            if threading.current_thread().name != "hub-relay" or armed["countdown"] <= 0:
                return
            armed["countdown"] -= 1
            if armed["countdown"] == 0:
                pid = conn.connection.dbapi_connection.info.backend_pid
                killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
                armed["killed"] += 1

        for position in range(1, 7):
            armed["countdown"] = position
            wait_until(lambda p=position: armed["killed"] == p, what=f"statement {position}")
            hub.publish(item_event(f"K-{position}"))
            wait_until(
                lambda p=position: downstream(hub) == p, timeout=30, what=f"K-{position} relayed"
            )
        assert hub.hub.ended_threads() == []


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_hub_run_exits_with_an_error_when_one_of_its_threads_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A thread that ended by an unexpected error stops the whole process (exit code 1) so
    that its supervisor starts a whole hub again, instead of a hub that looks alive."""
    from typer.testing import CliRunner

    from hub.cli import app
    from hub.runtime.relay import OutboxRelay

    def broken(self: OutboxRelay) -> int:
        raise RuntimeError("a defect in the relay")

    monkeypatch.setattr(OutboxRelay, "run_once", broken)
    monkeypatch.setenv("HUB_BROKER_URL", f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}")
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path / 'hub.sqlite'}")
    assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    root = logging.getLogger()
    logging_was = (root.handlers[:], root.level)
    try:
        result = CliRunner().invoke(app, ["run", "--no-http"])
    finally:  # `hub run` installs its own signal handlers, and a log handler on its stream
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        root.handlers[:], root.level = logging_was
    assert result.exit_code == 1, result.output
