"""The services around the hub fail during a realistic run: RabbitMQ restarts, PostgreSQL
connections are killed, the SMTP server is down, a message kills its worker. Each run ends with
the workload's audit."""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from hub.errors import HubError
from tests.faults.workload import Workload
from tests.services import IN_CI
from tests.support.education import Mailbox, free_port, smtp_server
from tests.support.harness import create_ledger_tables, item_event, outgoing, wait_until


def _publish_through_outages(work: Workload, broker_url: str, rate: float) -> threading.Thread:
    """Publish the workload in a thread, as an ERP module does: a batch the broker did not
    confirm is sent again (the same event ids) until it is."""

    def run() -> None:
        from hub.runtime.transports import transport_for

        transport = transport_for(broker_url)
        started = time.monotonic()
        chunk = 20
        try:
            for i in range(0, work.size, chunk):
                while True:
                    try:
                        transport.publish(work.order[i : i + chunk])
                        break
                    except HubError:
                        time.sleep(0.5)
                ahead = started + (i + chunk) / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        finally:
            transport.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _run_with_two_workers(
    amqp_url: str, postgres_url: str, workers: type
) -> tuple[Workload, Any, threading.Thread]:
    """The workload under way: two workers running, the producer publishing at 100/s."""
    work = Workload(agreements=200)
    work.prepare(amqp_url, postgres_url)
    pool = workers(
        {"broker_url": amqp_url, "database_url": postgres_url},
        HUB_RETRY_BASE_DELAY="0.2",
        HUB_RETRY_MAX_DELAY="2",
    )
    pool.start(2)
    pool.wait_running()
    return work, pool, _publish_through_outages(work, amqp_url, rate=100)


def _wait_under_way(work: Workload, database_url: str, pool: Any) -> None:
    """Until the workers have settled some of the workload (so the fault meets a run)."""

    def under_way() -> bool:
        pool.alive()
        return work.settled(database_url)[0] >= 20

    wait_until(under_way, timeout=60, what="the workload under way")


def _mail_rows(database_url: str) -> tuple[int, int, int]:
    """Mail rows in the outbox: all, unsent, and the most tries any of them has had."""
    from sqlalchemy import func, select

    from hub.store.db import make_engine
    from hub.store.models import OutboxMessage

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            mail = OutboxMessage.kind == "mail"
            return (
                conn.execute(select(func.count()).where(mail)).scalar_one(),
                conn.execute(
                    select(func.count()).where(mail, OutboxMessage.sent_at.is_(None))
                ).scalar_one(),
                conn.execute(
                    select(func.coalesce(func.max(OutboxMessage.publish_attempts), 0)).where(mail)
                ).scalar_one(),
            )
    finally:
        engine.dispose()


def _poison_set_aside(database_url: str) -> bool:
    from sqlalchemy import select

    from hub.store.db import make_engine
    from hub.store.models import DeadLetter

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                select(DeadLetter.id).where(DeadLetter.consumer == "ledger").limit(1)
            ).first()
    finally:
        engine.dispose()
    return found is not None


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


@pytest.mark.disruptive
@pytest.mark.timeout(300)
def test_rabbitmq_stopped_and_started_during_a_run(
    amqp_url: str, postgres_url: str, workers: type
) -> None:
    if shutil.which("rabbitmqctl") is None:
        if IN_CI:
            pytest.fail("rabbitmqctl is needed")
        pytest.skip("rabbitmqctl not found")
    work, pool, publisher = _run_with_two_workers(amqp_url, postgres_url, workers)
    _wait_under_way(work, postgres_url, pool)
    _rabbitmqctl("stop_app")
    try:
        time.sleep(3)  # how long the outage lasts (it proves nothing by itself)
    finally:
        _rabbitmqctl("start_app")
        _rabbitmqctl("await_startup")
    publisher.join(120)
    assert not publisher.is_alive()
    work.wait_settled(postgres_url, timeout=180, alive=pool.alive)
    assert pool.stop_all() == [0, 0], pool.tail()
    work.audit(amqp_url, postgres_url)


@pytest.mark.timeout(300)
def test_postgresql_connections_killed_during_a_run(
    amqp_url: str, postgres_url: str, workers: type
) -> None:
    work, pool, publisher = _run_with_two_workers(amqp_url, postgres_url, workers)
    database = urlsplit(postgres_url).path.lstrip("/")
    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0]
    killed = 0
    with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
        while publisher.is_alive() or killed < 20:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            ).fetchall()
            killed += sum(1 for (ok,) in rows if ok)
            time.sleep(0.4)
            if killed >= 60:
                break
    publisher.join(120)
    assert killed >= 20, f"only {killed} connections were killed; the test proves little"
    work.wait_settled(postgres_url, timeout=180, alive=pool.alive)
    assert pool.stop_all() == [0, 0], pool.tail()
    work.audit(amqp_url, postgres_url)


@pytest.mark.timeout(240)
def test_smtp_server_down_delays_mail_and_loses_none(
    broker_tier: dict[str, str], workers: type
) -> None:
    port = free_port()
    work = Workload(agreements=20, requests=30, upserts=10, mail=True)
    work.prepare(broker_tier["broker_url"], broker_tier["database_url"])
    pool = workers(
        broker_tier,
        HUB_SMTP_URL=f"smtp://127.0.0.1:{port}",
        HUB_RETRY_BASE_DELAY="0.2",
        HUB_RETRY_MAX_DELAY="1",
    )
    pool.start(1)
    work.publish(broker_tier["broker_url"])
    deadline = time.monotonic() + 120
    while work.settled(broker_tier["database_url"])[0] < work.expected_settled:
        pool.alive()
        assert time.monotonic() < deadline, "the workload was not handled while SMTP was down"
        time.sleep(0.25)
    # every mail is queued and unsent, and the relay has failed on the server and tried again
    # after its back-off (a try is counted on the row; the relay probes with one row at a time
    # once the server has failed, so that a down server is not hammered)
    def kept_and_retried() -> bool:
        queued, unsent, tries = _mail_rows(broker_tier["database_url"])
        return queued == unsent == work.requests and tries >= 2

    wait_until(kept_and_retried, timeout=60, what="every mail kept, and a retry after a failure")
    with smtp_server(port, Mailbox()) as mailbox:
        work.wait_settled(broker_tier["database_url"], timeout=120, alive=pool.alive)
        assert pool.stop_all() == [0], pool.tail()
    ids = [m["X-Hub-Mail-Id"] for m in mailbox.messages]
    assert len(set(ids)) == work.requests, "a mail is missing"
    assert len(ids) == len(set(ids)), "a mail was sent twice"
    work.audit(broker_tier["broker_url"], broker_tier["database_url"])


@pytest.mark.timeout(240)
def test_a_poison_message_in_a_run_is_set_aside_and_the_rest_flows(
    broker_tier: dict[str, str], workers: type, tmp_path: Path
) -> None:
    from hub.runtime.transports import transport_for
    from tests.faults.workload import CONSUMERS
    from tests.support.ledger import consumer as ledger

    work = Workload(agreements=60, requests=20, upserts=20, poison=1)
    work.prepare(broker_tier["broker_url"], broker_tier["database_url"])
    create_ledger_tables(broker_tier["database_url"])
    transport = transport_for(broker_tier["broker_url"])
    transport.setup({ledger.queue: ledger.event_types})
    transport.publish([outgoing(item_event("poison", crash=True))])
    transport.close()
    pool = workers(
        broker_tier,
        HUB_CONSUMERS=f"{CONSUMERS},tests.support.ledger:consumer",
        HUB_DELIVERY_LIMIT="2",
    )
    work.publish(broker_tier["broker_url"])
    restarts = 0
    url = broker_tier["database_url"]
    while True:  # a supervisor's job: start the worker again when it dies
        pool.start(1)
        # until the worker dies, or the poison message is set aside (in the dead-letter store)
        wait_until(
            lambda: pool.procs[-1].poll() is not None or _poison_set_aside(url),
            timeout=120,
            what="the worker to die or the poison message to be set aside",
        )
        if _poison_set_aside(url):
            break
        code = pool.procs[-1].wait(10)
        assert code == -signal.SIGKILL, pool.tail()
        pool.procs.pop()
        pool.logs.pop()
        restarts += 1
        assert restarts <= 5, "the poison message was never set aside"
    assert restarts >= 1
    work.wait_settled(broker_tier["database_url"], timeout=120, alive=pool.alive)
    assert pool.stop_all() == [0], pool.tail()
    work.audit(broker_tier["broker_url"], broker_tier["database_url"])
