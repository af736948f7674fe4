"""Finance agreement approval as it runs in production: RabbitMQ + PostgreSQL, ``hub run`` as a
process, events published by a plain pika client, tickets moved with the ``hub tickets`` CLI and
the financial module's simulator creating approved agreements."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
import yaml

from producers.finance_simulator import cancelled_event, pending_event
from tests.support.harness import wait_until
from tests.support.process import ROOT, hub_env, run_cli, start_hub, stop

AUDIT = "test.finance.audit"
OUTBOUND = ["crm.ticket.#", "finance.agreement.approved", "finance.agreement.rejected"]


def workflow_file(tmp_path: Path) -> Path:
    """The demo configuration plus a template whose deadline (2 s) rejects automatically."""
    from hub.workflow.loader import DEMO_CONFIG, read_raw

    raw = read_raw(DEMO_CONFIG)
    raw["agreement_templates"]["quick"] = {
        **raw["agreement_templates"]["default"],
        "approval_deadline": {"after": "2s", "on_overdue": "reject"},
    }
    path = tmp_path / "workflow.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


class Wire:
    """A plain pika client: publishes like an ERP module, reads the audit queue like a
    downstream system."""

    def __init__(self, url: str) -> None:
        self.conn = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.conn.channel()
        self.channel.confirm_delivery()
        self.channel.exchange_declare("hub.events", exchange_type="topic", durable=True)
        self.channel.queue_declare(AUDIT, durable=True)
        for key in OUTBOUND:
            self.channel.queue_bind(AUDIT, "hub.events", key)
        self.seen: list[dict[str, Any]] = []

    def publish(self, *events: dict[str, Any]) -> None:
        for event in events:
            self.channel.basic_publish(
                "hub.events",
                event["type"],
                json.dumps(event).encode(),
                pika.BasicProperties(
                    content_type="application/cloudevents+json",
                    delivery_mode=2,
                    message_id=event["id"],
                ),
                mandatory=True,
            )

    def drain(self) -> list[dict[str, Any]]:
        """Every outbound event received so far (the queue is read and acknowledged)."""
        while True:
            method, _props, body = self.channel.basic_get(AUDIT, auto_ack=True)
            if method is None:
                return self.seen
            self.seen.append(json.loads(body))

    def of(self, event_type: str, subject: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.drain()
            if e["type"] == event_type and subject in (None, e["subject"], e["data"]["ticket_id"])
        ]

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def wire(amqp_url: str) -> Iterator[Wire]:
    w = Wire(amqp_url)
    yield w
    w.close()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(env, *args)


def tickets_of(env: dict[str, str], agreement_id: str) -> list[dict[str, Any]]:
    """The agreement's tickets as ``hub tickets list --json`` prints them (read in-process:
    polling through a new process each time would be slow)."""
    from hub.runtime.uow import Cause, UnitOfWorkFactory
    from hub.store.db import make_engine
    from hub.workflow.service import find_tickets_by_origin
    from hub.workflow.views import ticket_json

    engine = make_engine(env["HUB_DATABASE_URL"])
    try:
        with UnitOfWorkFactory(engine)(Cause.action(tenant="default")) as uow:
            found = find_tickets_by_origin(uow, "finance.agreement.pending", agreement_id)
            return [ticket_json(t) for t in found]
    finally:
        engine.dispose()


def one_ticket(env: dict[str, str], agreement_id: str) -> dict[str, Any]:
    wait_until(lambda: len(tickets_of(env, agreement_id)) == 1, what=f"{agreement_id}'s ticket")
    return tickets_of(env, agreement_id)[0]


def move_to_purpose(
    env: dict[str, str], ticket_id: str, purpose: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    """Find the move with ``purpose`` in ``hub tickets show --json`` and make it."""
    shown = cli(env, "tickets", "show", ticket_id, "--json")
    assert shown.returncode == 0, shown.stderr
    (target,) = [m for m in json.loads(shown.stdout)["allowed_moves"] if m["purpose"] == purpose]
    return cli(env, "tickets", "move", ticket_id, target["stage"], *extra)


@pytest.mark.timeout(150)
def test_finance_approval_loop_on_rabbitmq_and_postgresql(
    amqp_url: str, postgres_url: str, wire: Wire, tmp_path: Path
) -> None:
    tier = {"broker_url": amqp_url, "database_url": postgres_url}
    env = hub_env(
        tier,
        HUB_CONSUMERS="finance-agreements",
        HUB_WORKFLOW_CONFIG=str(workflow_file(tmp_path)),
    )
    erp_db = f"sqlite:///{tmp_path / 'erp.sqlite'}"
    simulator = [sys.executable, "-m", "producers.finance_simulator"]
    sim_args = ["--broker", amqp_url, "--database", erp_db]
    listener = subprocess.Popen(
        [*simulator, *sim_args, "listen", "--seconds", "120"],
        env=env,
        cwd=ROOT,
        stdout=(tmp_path / "sim.log").open("ab"),
        stderr=subprocess.STDOUT,
    )
    log = tmp_path / "hub.log"
    hub = start_hub(env, log)
    try:
        wait_until(lambda: "hub running" in log.read_text(), timeout=60, what="hub running")

        listed = cli(env, "tickets", "list", "--json")
        assert listed.returncode == 0 and json.loads(listed.stdout) == [], listed.stderr
        # pending x3 with one idempotency key -> one ticket, one crm.ticket.created
        pending = pending_event("E-1", key="erp-E-1")
        wire.publish(pending, pending, pending)
        ticket = one_ticket(env, "E-1")
        assert (ticket["stage"], ticket["holder"]["id"]) == ("analysis", "ana")
        assert ticket["parameters"]["amount"] == "1200.00"

        # approve: one finance.agreement.approved linked to the pending event
        approved = move_to_purpose(env, ticket["id"], "approval", "--by", "ana")
        assert approved.returncode == 0, approved.stderr
        again = move_to_purpose_or_none(env, ticket["id"])
        assert again == []  # a decided ticket allows no further moves
        wait_until(lambda: len(wire.of("finance.agreement.approved")) == 1, what="approval")
        (decision,) = wire.of("finance.agreement.approved")
        assert decision["data"]["agreement_id"] == "E-1"
        assert decision["correlationid"] == pending["id"]
        assert decision["causationid"] not in (None, pending["id"])
        assert len(wire.of("crm.ticket.created", ticket["id"])) == 1

        # reject without a reason -> refused; with one -> one finance.agreement.rejected
        wire.publish(pending_event("E-2"))
        second = one_ticket(env, "E-2")
        refused = move_to_purpose(env, second["id"], "rejection", "--by", "ana")
        assert refused.returncode == 2 and "needs a reason" in refused.stderr
        rejected = move_to_purpose(
            env, second["id"], "rejection", "--by", "ana", "--reason", "debt too high"
        )
        assert rejected.returncode == 0, rejected.stderr

        # cancellation before a decision cancels; after a decision it changes nothing
        wire.publish(pending_event("E-3"))
        third = one_ticket(env, "E-3")
        wire.publish(cancelled_event("E-3", "paid"), cancelled_event("E-1", "too late"))
        wait_until(lambda: tickets_of(env, "E-3")[0]["status"] == "cancelled", what="E-3")

        # out of order: the cancellation first (recorded: the consumer's own row says so),
        # then the pending event -> no ticket
        wire.publish(cancelled_event("E-4", "withdrawn"))
        wait_until(
            lambda: "E-4" in agreement_outcomes(postgres_url), what="the cancellation recorded"
        )
        late = pending_event("E-4")
        wire.publish(late)

        # a deadline of 2 s rejects with reason expired (timers run inside `hub run`)
        expiring = pending_event("E-5", template="quick")
        wire.publish(expiring)
        fifth = one_ticket(env, "E-5")

        # an unknown template is dead-lettered with a clear reason
        wire.publish(pending_event("E-6", template="no-such-template"))

        wait_until(lambda: len(wire.of("finance.agreement.rejected")) == 2, what="2 rejections")
        reasons = {e["data"]["agreement_id"]: e for e in wire.of("finance.agreement.rejected")}
        assert reasons["E-2"]["data"]["reason"] == "debt too high"
        assert reasons["E-5"]["data"]["reason"] == "expired"
        assert reasons["E-5"]["correlationid"] == expiring["id"]
        shown = json.loads(cli(env, "tickets", "show", fifth["id"], "--json").stdout)
        assert (shown["stage"], shown["status"]) == ("rejected", "completed")
        assert (shown["history"][-1]["by"], shown["history"][-1]["reason"]) == (
            "system",
            "expired",
        )

        def dead() -> list[dict[str, Any]]:
            out = cli(env, "dlq", "list", "--json")
            assert out.returncode == 0, out.stderr
            return list(json.loads(out.stdout))

        wait_until(lambda: len(dead()) == 1, what="the unknown template dead-lettered")
        (dl,) = dead()
        assert dl["error_type"] == "UnknownAgreementTemplate"
        assert "unknown agreement template 'no-such-template'" in dl["error_message"]

        # the late pending event was handled (its id is on the agreement's row), opening nothing
        wait_until(lambda: pending_seen(postgres_url, "E-4") == late["id"], what="E-4 handled")
        assert tickets_of(env, "E-4") == []
        assert agreement_outcomes(postgres_url) == {
            "E-1": "after-decision",
            "E-3": "ticket-cancelled",
            "E-4": "before-pending",
        }
        assert tickets_of(env, "E-1")[0]["status"] == "completed"
        cancelled = wire.of("crm.ticket.cancelled")
        assert [e["data"]["ticket_id"] for e in cancelled] == [third["id"]]
        assert len(wire.of("finance.agreement.approved")) == 1
        created = [e["data"]["origin_id"] for e in wire.of("crm.ticket.created")]
        assert sorted(created) == ["E-1", "E-2", "E-3", "E-5"]

        # the financial module created the approved agreement, and only that one
        def agreements() -> list[str]:
            out = subprocess.run(
                [*simulator, *sim_args, "agreements", "--json"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert out.returncode == 0, out.stderr
            return [a["agreement_id"] for a in json.loads(out.stdout)]

        wait_until(lambda: agreements() == ["E-1"], what="E-1 created by the ERP")
    finally:
        assert stop(hub) == 0, log.read_text()[-3000:]
        listener.terminate()
        listener.wait(10)


def move_to_purpose_or_none(env: dict[str, str], ticket_id: str) -> list[dict[str, Any]]:
    shown = cli(env, "tickets", "show", ticket_id, "--json")
    assert shown.returncode == 0, shown.stderr
    return list(json.loads(shown.stdout)["allowed_moves"])


def pending_seen(database_url: str, agreement_id: str) -> str | None:
    """The id of the pending event the finance consumer handled for ``agreement_id``."""
    from sqlalchemy import select

    from hub.finance.tables import AgreementState
    from hub.store.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                select(AgreementState.pending_event_id).where(
                    AgreementState.agreement_id == agreement_id
                )
            ).scalar()
    finally:
        engine.dispose()


def agreement_outcomes(database_url: str) -> dict[str, str | None]:
    """What each cancellation did, from the consumer's own table."""
    from sqlalchemy import select

    from hub.finance.tables import AgreementState
    from hub.store.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(AgreementState.agreement_id, AgreementState.outcome).where(
                    AgreementState.cancelled_at.is_not(None)
                )
            ).all()
    finally:
        engine.dispose()
    return {r.agreement_id: r.outcome for r in rows}
