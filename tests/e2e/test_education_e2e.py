"""The educational loop as a site runs it, on RabbitMQ and PostgreSQL: ``hub run`` and the
billing simulator as processes, an SMTP server on loopback, and every inbound event delivered
three times."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from consumers import edu_refdata, edu_requests
from hub.education.tables import ChargeRow
from hub.runtime.transports import transport_for
from hub.store.db import make_engine, upgrade
from hub.store.models import OutboxMessage
from hub.workflow.tables import CommentRow, StageHistoryRow, TicketRow
from producers.billing_simulator import BillingRules, BillingSimulator
from tests.support.education import Mailbox, debt, enrollment, free_port, request, smtp_server
from tests.support.harness import outgoing, wait_until
from tests.support.process import ROOT, drain, hub_env, run_cli, start_hub, stop, wait_settled

CHARGES = "audit.charges"
ANSWERS = "audit.answers"


def drain_bodies(broker_url: str, queue: str, expect: int) -> list[bytes]:
    """The bodies waiting in ``queue``, once ``expect`` were taken and the queue is empty."""
    return [body for _, body in drain(broker_url, queue, lambda got: len(got) >= expect)]


@pytest.mark.timeout(150)
def test_the_loop_with_billing_each_event_three_times_charges_once(
    amqp_url: str, postgres_url: str, tmp_path: Path
) -> None:
    tier = {"broker_url": amqp_url, "database_url": postgres_url}
    upgrade(postgres_url)
    transport = transport_for(amqp_url)
    transport.setup(
        {
            edu_refdata.consumer.queue: edu_refdata.consumer.event_types,
            edu_requests.consumer.queue: edu_requests.consumer.event_types,
            CHARGES: ["billing.charge.requested"],
            ANSWERS: ["billing.charge.created", "billing.charge.failed"],
        }
    )
    BillingSimulator(transport, BillingRules()).setup()
    port = free_port()
    env = hub_env(
        tier,
        HUB_CONSUMERS="edu-refdata,edu-requests",
        HUB_SMTP_URL=f"smtp://127.0.0.1:{port}?from=secretaria@example.edu",
        HUB_RETRY_BASE_DELAY="0.2",
    )
    log = tmp_path / "hub.log"
    sim_log = (tmp_path / "simulator.log").open("ab")
    simulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "producers.billing_simulator",
            "--broker",
            amqp_url,
            "--fail-contract",
            "CT-CLOSED",
        ],
        cwd=ROOT,
        env=env,
        stdout=sim_log,
        stderr=subprocess.STDOUT,
    )
    with smtp_server(port, Mailbox()) as mailbox:
        hub = start_hub(env, log)
        try:
            inbound = [
                enrollment("RA-A", fixed_due_day=31),
                enrollment("RA-B", contract_id="CT-CLOSED"),
                debt("RA-A"),
                debt("RA-B"),
            ]
            for e in inbound:  # reference data first, three times each
                transport.publish([outgoing(e, e["type"])] * 3)
            requests = [
                request(
                    "R-A",
                    ra="RA-A",
                    email_address="a@example.com",
                    requested_at="2027-02-03T10:00:00Z",
                ),
                request(
                    "R-B",
                    "edu.second-call-exam",
                    ra="RA-B",
                    parameters={"discipline": "MAT101"},
                    email_address="b@example.com",
                ),
                request("R-C", ra="RA-UNKNOWN"),
            ]
            wait_until(
                lambda: _refdata_ready(postgres_url),
                timeout=40,
                what="refdata",
            )
            for e in requests:
                transport.publish([outgoing(e, e["type"])] * 3)
            # the exam is charged once the student accepts its fee
            wait_until(lambda: "R-B" in _ticket_ids(postgres_url), timeout=40, what="R-B")
            tid = _ticket_ids(postgres_url)["R-B"]
            for stage, extra in (("awaiting-fee", ["--reason", "R$ 45,00"]), ("fee-accepted", [])):
                moved = run_cli(env, "tickets", "move", tid, stage, "--by", "support", *extra)
                assert moved.returncode == 0, moved.stderr

            wait_until(
                lambda: _charge_statuses(postgres_url) == {"R-A": "created", "R-B": "failed"},
                timeout=60,
                what="both charges answered",
            )
            wait_until(lambda: len(mailbox.messages) == 2, timeout=30, what="two e-mails")
            # billing's answers (exactly the two it gave), delivered twice more
            answers = drain_bodies(amqp_url, ANSWERS, 2)
            assert len(answers) == 2
            for body in answers:
                transport.publish([outgoing(body, json.loads(body)["type"])] * 2)
            # every delivery settled, and everything it caused published: a second charge
            # request would be in the outbox, and then in CHARGES, by now
            wait_settled(amqp_url, [edu_requests.consumer.queue], timeout=60)
            wait_until(lambda: _unsent(postgres_url) == 0, timeout=30, what="the outbox sent")

            # exactly one charge requested per opened request
            charge_bodies = drain_bodies(amqp_url, CHARGES, _count_sent(postgres_url))
            charged = Counter(json.loads(b)["data"]["request_id"] for b in charge_bodies)
            assert charged == Counter({"R-A": 1, "R-B": 1})
            charges = _charges(postgres_url)
            assert {c.request_id: (c.amount, c.due_date.isoformat()) for c in charges} == {
                "R-A": (Decimal("35.00"), "2027-02-13"),
                "R-B": (Decimal("45.00"), "2026-12-10"),
            }
            # one e-mail per opened ticket, none for the rejected request
            assert sorted(str(m["To"]) for m in mailbox.messages) == [
                "a@example.com",
                "b@example.com",
            ]
            engine = make_engine(postgres_url)
            with engine.connect() as conn:
                rejected = (
                    conn.execute(
                        select(OutboxMessage.subject).where(
                            OutboxMessage.event_type == "edu.request.rejected"
                        )
                    )
                    .scalars()
                    .all()
                )
                tickets = {r.origin_id: r for r in conn.execute(select(TicketRow)).all()}
                comments = Counter(conn.execute(select(CommentRow.ticket_id)).scalars().all())
                moves = (
                    conn.execute(
                        select(StageHistoryRow.to_stage).where(
                            StageHistoryRow.ticket_id == tickets["R-B"].id,
                            StageHistoryRow.kind == "move",
                        )
                    )
                    .scalars()
                    .all()
                )
            engine.dispose()
            assert rejected == ["R-C"]
            assert set(tickets) == {"R-A", "R-B"}
            assert comments == Counter({tickets["R-A"].id: 1, tickets["R-B"].id: 1})
            assert moves == ["awaiting-fee", "fee-accepted", "rejected"]
            assert (tickets["R-B"].stage, tickets["R-B"].status) == ("rejected", "completed")
        finally:
            assert stop(hub) == 0
            simulator.terminate()
            simulator.wait(20)
            transport.close()


def _unsent(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        n = len(conn.execute(select(OutboxMessage.id).where(OutboxMessage.sent_at.is_(None))).all())
    engine.dispose()
    return n


def _count_sent(url: str, event_type: str = "billing.charge.requested") -> int:
    """Outbox rows of ``event_type`` published: what the CHARGES tap queue must hold."""
    engine = make_engine(url)
    with engine.connect() as conn:
        n = len(
            conn.execute(
                select(OutboxMessage.id).where(
                    OutboxMessage.event_type == event_type, OutboxMessage.sent_at.is_not(None)
                )
            ).all()
        )
    engine.dispose()
    return n


def _count(url: str, table: type) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        n = len(conn.execute(select(table)).all())
    engine.dispose()
    return n


def _refdata_ready(url: str) -> bool:
    from hub.education.tables import CustomerDebtRow, EnrollmentRow

    return _count(url, EnrollmentRow) == 2 and _count(url, CustomerDebtRow) == 2


def _charges(url: str) -> list[ChargeRow]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = list(conn.execute(select(ChargeRow).order_by(ChargeRow.request_id)).all())
    engine.dispose()
    return rows  # type: ignore[return-value]


def _charge_statuses(url: str) -> dict[str, str]:
    return {c.request_id: c.status for c in _charges(url)}


def _ticket_ids(url: str) -> dict[str, str]:
    """Opened tickets' ids by their request's id."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {r.origin_id: r.id for r in conn.execute(select(TicketRow)).all()}
    finally:
        engine.dispose()
