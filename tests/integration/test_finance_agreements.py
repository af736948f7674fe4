"""Finance agreement approval on every tier: a hub in this process with the finance consumer and
the demo workflow; the simulator of the financial module on the other side of the broker."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from consumers import finance_agreements as finance
from hub.bootstrap import Hub, build
from hub.clock import ControllableClock
from hub.finance.tables import AgreementState
from hub.runtime.transport import EVENTS_EXCHANGE, Outgoing
from hub.runtime.uow import Cause
from hub.settings import Settings
from hub.store.models import DeadLetter, OutboxMessage
from hub.workflow import service
from hub.workflow.config import WorkflowConfig, parse
from hub.workflow.errors import IllegalMove, ReasonRequired
from hub.workflow.loader import load_demo
from hub.workflow.tickets import Ticket
from hub.workflow.timers import fire_due_timers
from producers.finance_simulator import FinanceSimulator, cancelled_event, pending_event
from schemas import CloudEvent, decode
from tests.support.harness import wait_until


class FinanceHub:
    def __init__(self, hub: Hub, clock: ControllableClock, sim: FinanceSimulator) -> None:
        self.hub = hub
        self.clock = clock
        self.sim = sim

    def events(self, event_type: str | None = None) -> list[CloudEvent]:
        """Outbound events the hub recorded (its outbox), oldest first."""
        query = select(OutboxMessage).where(OutboxMessage.kind == "event")
        if event_type:
            query = query.where(OutboxMessage.event_type == event_type)
        with self.hub.uow.sessions() as s:
            return [decode(m.body) for m in s.scalars(query.order_by(OutboxMessage.id))]

    def tickets(self, agreement_id: str) -> list[Ticket]:
        with self.hub.uow(Cause.action(tenant="default")) as uow:
            return service.find_tickets_by_origin(uow, finance.ORIGIN, agreement_id)

    def ticket(self, agreement_id: str) -> Ticket:
        wait_until(lambda: len(self.tickets(agreement_id)) == 1, what=f"{agreement_id}'s ticket")
        return self.tickets(agreement_id)[0]

    def move(
        self, ticket_id: str, stage: str, by: str, reason: str | None = None, action: str = ""
    ) -> Ticket:
        """A person's move, as ``hub tickets move`` does it."""
        with self.hub.uow(Cause.action(action or None, tenant="default")) as uow:
            return service.move_ticket(
                uow, ticket_id, stage, reason=reason, by=by, action_id=action or None
            )

    def state(self, agreement_id: str) -> AgreementState | None:
        with self.hub.uow.sessions() as s:
            return s.get(AgreementState, ("default", agreement_id))

    def dead_letters(self) -> list[DeadLetter]:
        with self.hub.uow.sessions() as s:
            return list(s.scalars(select(DeadLetter).order_by(DeadLetter.id)))

    def handled(self, n: int) -> None:
        """Wait until the consumer has settled ``n`` deliveries (handled, duplicate or dead)."""
        obs = self.hub.observer
        wait_until(
            lambda: sum(obs.count(o) for o in ("handled", "duplicate", "dead-lettered")) >= n,
            what=f"{n} deliveries settled",
        )


def data(event: CloudEvent) -> dict[str, Any]:
    """An event's ``data`` as JSON values."""
    return dict(event.to_dict()["data"])


def config_with_auto_rejection() -> WorkflowConfig:
    """The demo configuration plus a template whose deadline rejects (reason ``expired``)."""
    raw = load_demo().to_json()
    raw["agreement_templates"]["auto-reject"] = {
        **raw["agreement_templates"]["default"],
        "approval_deadline": {"after": "PT24H", "on_overdue": "reject"},
    }
    return parse(raw)


@contextmanager
def finance_hub(
    tier: dict[str, str], tmp_path: Path, config: WorkflowConfig | None = None
) -> Iterator[FinanceHub]:
    clock = ControllableClock(datetime(2026, 11, 24, 12, tzinfo=UTC))
    settings = Settings(**tier, retry_base_delay=0.2, retry_max_delay=1)  # type: ignore[arg-type]
    hub = build(settings, consumers=[finance.consumer], clock=clock)
    with hub.uow(Cause.action(tenant="default")) as uow:
        service.apply_config(uow, config or load_demo(), source="test")
    hub.setup()
    sim = FinanceSimulator(tier["broker_url"], f"sqlite:///{tmp_path / 'erp.sqlite'}")
    sim.setup()
    stop = threading.Event()
    hub.start(stop)
    listener = threading.Thread(target=sim.listen, args=(stop,), daemon=True)
    listener.start()
    try:
        yield FinanceHub(hub, clock, sim)
    finally:
        stop.set()
        hub.join()
        listener.join(10)
        sim.close()
        hub.close()


@pytest.mark.timeout(60)
def test_pending_three_times_opens_one_ticket_and_approval_creates_the_agreement_once(
    tier: dict[str, str], tmp_path: Path
) -> None:
    with finance_hub(tier, tmp_path) as f:
        # Given an agreement published three times with one idempotency key, then re-sent
        pending = pending_event("A-1", amount=Decimal("1000.01"), key="A-1")
        f.sim.publish(pending, pending, pending)
        f.sim.publish(pending_event("A-1", key="A-1-resent"))
        f.handled(4)
        # Then one ticket, from the template: first stage, attendant, the agreement's data
        ticket = f.ticket("A-1")
        assert (ticket.type_id, ticket.stage, ticket.holder.id) == (
            "finance.agreement-approval",
            "analysis",
            "ana",
        )
        assert ticket.parameters["amount"] == "1000.01"
        assert [i["amount"] for i in ticket.parameters["installments"]] == [
            "333.33",
            "333.33",
            "333.35",
        ]
        assert ticket.parameters["customer"]["id"] == ticket.customer_id == "C-1"
        assert (ticket.company, ticket.branch) == ("1", "1")
        assert len(f.events("crm.ticket.created")) == 1
        assert f.sim.created() == []

        # When ana approves (and the same action is replayed; a second move is refused)
        f.move(ticket.id, "approved", "ana", action="approve-A-1")
        f.move(ticket.id, "approved", "ana", action="approve-A-1")
        with pytest.raises(IllegalMove):
            f.move(ticket.id, "approved", "carla")

        # Then exactly one approval, caused by the move and in the pending event's chain
        (approved,) = f.events("finance.agreement.approved")
        assert approved.subject == data(approved)["agreement_id"] == "A-1"
        assert approved.causationid == "approve-A-1"
        assert approved.correlationid == pending["id"]
        assert data(approved)["decided_by"] == "ana"
        # and the financial module creates the agreement, once
        wait_until(lambda: len(f.sim.created()) == 1, what="the agreement created")
        assert f.sim.created()[0]["ticket_id"] == ticket.id


@pytest.mark.timeout(60)
def test_rejection_needs_a_reason_and_is_emitted_once(tier: dict[str, str], tmp_path: Path) -> None:
    with finance_hub(tier, tmp_path) as f:
        pending = pending_event("R-1")
        f.sim.publish(pending)
        ticket = f.ticket("R-1")
        with pytest.raises(ReasonRequired):
            f.move(ticket.id, "rejected", "ana")
        with pytest.raises(ReasonRequired):
            f.move(ticket.id, "rejected", "ana", reason="   ")
        assert f.events("finance.agreement.rejected") == []

        f.move(ticket.id, "rejected", "ana", reason="installments too long", action="rej-1")
        f.move(ticket.id, "rejected", "ana", reason="installments too long", action="rej-1")

        (rejected,) = f.events("finance.agreement.rejected")
        assert data(rejected)["reason"] == "installments too long"
        assert (rejected.causationid, rejected.correlationid) == ("rej-1", pending["id"])
        assert f.events("finance.agreement.approved") == []
        assert f.tickets("R-1")[0].status == "completed"
        # the financial module never creates a rejected agreement
        f.sim.publish(pending_event("R-2"))
        f.move(f.ticket("R-2").id, "approved", "carla")
        wait_until(lambda: [a["agreement_id"] for a in f.sim.created()] == ["R-2"])


@pytest.mark.timeout(60)
def test_cancellation_before_and_after_a_decision_and_out_of_order(
    tier: dict[str, str], tmp_path: Path
) -> None:
    with finance_hub(tier, tmp_path) as f:
        # before a decision: the ticket is cancelled
        f.sim.publish(pending_event("C-1"))
        open_ticket = f.ticket("C-1")
        f.sim.publish(cancelled_event("C-1", "customer paid in full"))
        wait_until(lambda: f.tickets("C-1")[0].status == "cancelled", what="C-1 cancelled")
        (cancelled,) = f.events("crm.ticket.cancelled")
        assert data(cancelled) == {"ticket_id": open_ticket.id, "reason": "customer paid in full"}
        with pytest.raises(IllegalMove):
            f.move(open_ticket.id, "approved", "ana")

        # after a decision: nothing changes, the cancellation is recorded
        f.sim.publish(pending_event("C-2"))
        decided = f.move(f.ticket("C-2").id, "approved", "ana")
        f.sim.publish(cancelled_event("C-2", "too late"))
        wait_until(lambda: (f.state("C-2") or AgreementState()).cancelled_at is not None)
        state = f.state("C-2")
        assert state is not None and (state.outcome, state.cancel_reason) == (
            "after-decision",
            "too late",
        )
        assert f.tickets("C-2")[0].status == "completed"
        assert len(f.events("crm.ticket.cancelled")) == 1
        assert len(f.events("finance.agreement.approved")) == 1
        assert decided.status == "completed"

        # out of order: the cancellation arrives first; the later pending opens nothing
        f.sim.publish(cancelled_event("C-3", "withdrawn"))
        wait_until(lambda: f.state("C-3") is not None, what="the cancellation recorded")
        f.sim.publish(pending_event("C-3"))
        wait_until(lambda: (f.state("C-3") or AgreementState()).pending_event_id is not None)
        state = f.state("C-3")
        assert state is not None and state.outcome == "before-pending"
        assert f.tickets("C-3") == []
        created = [data(e)["origin_id"] for e in f.events("crm.ticket.created")]
        assert created == ["C-1", "C-2"]


@pytest.mark.timeout(60)
def test_deadline_escalates_or_rejects_with_reason_expired(
    tier: dict[str, str], tmp_path: Path
) -> None:
    with finance_hub(tier, tmp_path, config_with_auto_rejection()) as f:
        escalated = pending_event("D-1")
        expiring = pending_event("D-2", template="auto-reject")
        f.sim.publish(escalated, expiring)
        first, second = f.ticket("D-1"), f.ticket("D-2")
        assert first.due_at == f.clock.now() + timedelta(hours=48)
        assert second.due_at == f.clock.now() + timedelta(hours=24)

        f.clock.advance(timedelta(hours=23))
        fire_due_timers(f.hub.uow)
        assert f.events("crm.ticket.overdue") == []

        f.clock.advance(timedelta(hours=2))  # D-2 is overdue
        fire_due_timers(f.hub.uow)
        (rejected,) = f.events("finance.agreement.rejected")
        assert data(rejected)["reason"] == "expired"
        assert data(rejected)["decided_by"] == "system"
        assert rejected.correlationid == expiring["id"]
        assert f.tickets("D-2")[0].stage == "rejected"
        assert f.tickets("D-1")[0].holder.id == "ana"

        f.clock.advance(timedelta(hours=24))  # D-1 is overdue: escalated to ana's manager
        fire_due_timers(f.hub.uow)
        assert fire_due_timers(f.hub.uow) == 0  # each timer fires once
        d1 = f.tickets("D-1")[0]
        assert (d1.stage, d1.status, d1.holder.id) == ("analysis", "open", "carla")
        overdue = {data(e)["ticket_id"]: e for e in f.events("crm.ticket.overdue")}
        assert data(overdue[first.id])["action"] == "escalate"
        assert overdue[first.id].correlationid == escalated["id"]
        assert len(f.events("finance.agreement.rejected")) == 1
        # the escalated ticket is still decided by a person
        f.move(first.id, "approved", "carla")
        assert len(f.events("finance.agreement.approved")) == 1


@pytest.mark.timeout(60)
def test_an_unknown_template_or_invalid_data_is_dead_lettered_with_a_clear_reason(
    tier: dict[str, str], tmp_path: Path
) -> None:
    with finance_hub(tier, tmp_path) as f:
        f.sim.publish(pending_event("U-1", template="no-such-template"))
        invalid: dict[str, Any] = pending_event("U-2")
        invalid["data"]["amount"] = 12.5  # money must be a decimal string
        body = json.dumps(invalid).encode()
        f.sim.transport.publish([Outgoing(EVENTS_EXCHANGE, invalid["type"], body, invalid["id"])])
        wait_until(lambda: len(f.dead_letters()) == 2, what="two dead letters")
        by_type = {d.error_type: d for d in f.dead_letters()}
        unknown = by_type["UnknownAgreementTemplate"]
        assert "unknown agreement template 'no-such-template'" in unknown.error_message
        assert "known: default" in unknown.error_message
        assert unknown.attempts == 1 and unknown.consumer == "finance-agreements"
        assert "amount" in by_type["InvalidMessage"].error_message
        assert f.tickets("U-1") == [] and f.tickets("U-2") == []
        assert f.events() == []
