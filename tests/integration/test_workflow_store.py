"""The workflow engine on a real store: SQLite and PostgreSQL (``database_url``)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.clock import ControllableClock
from hub.runtime.uow import Cause, UnitOfWorkFactory
from hub.store.db import make_engine, upgrade
from hub.store.models import OutboxMessage
from hub.workflow import service
from hub.workflow.attachments import LocalAttachmentStore
from hub.workflow.errors import Conflict, IllegalMove
from hub.workflow.loader import load_demo
from hub.workflow.repository import TicketRepository
from hub.workflow.tables import TimerRow
from hub.workflow.timers import fire_due_timers

AGREEMENT = {
    "agreement_id": "AG-7",
    "customer": {"id": "C-1", "name": "Maria"},
    "company": "1",
    "branch": "1",
    "amount": "1500.00",
}


@pytest.fixture
def clock() -> ControllableClock:
    return ControllableClock()


@pytest.fixture
def factory(database_url: str, clock: ControllableClock) -> Iterator[UnitOfWorkFactory]:
    upgrade(database_url)
    engine = make_engine(database_url)
    f = UnitOfWorkFactory(engine, clock)
    with f(Cause.action(tenant="default")) as uow:
        service.apply_config(uow, load_demo(), source="demo")
    yield f
    engine.dispose()


def outbox(f: UnitOfWorkFactory) -> list[dict]:
    with f.sessions() as s:
        return [
            json.loads(m.body) for m in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]


def open_agreement(f: UnitOfWorkFactory, cause: Cause | None = None) -> str:
    with f(cause or Cause.action(tenant="default")) as uow:
        return service.open_ticket_from_agreement_template(
            uow,
            "default",
            parameters=AGREEMENT,
            customer_id="C-1",
            company="1",
            branch="1",
            origin_id="AG-7",
        ).id


def test_configuration_versions_and_tickets_keep_theirs(factory: UnitOfWorkFactory) -> None:
    tid = open_agreement(factory)
    changed = load_demo().model_copy(update={"classifications": {}})
    with factory(Cause.action(tenant="default")) as uow:
        assert service.apply_config(uow, load_demo(), source="demo") == (1, False)
        assert service.apply_config(uow, changed, source="edit") == (2, True)
    with factory(Cause.action(tenant="default")) as uow:
        assert service.get_ticket(uow, tid).config_version == 1
        assert service.current_config(uow)[0] == 2


def test_a_ticket_keeps_the_classification_its_template_chose(
    factory: UnitOfWorkFactory,
) -> None:
    demo = load_demo()
    tpl = demo.agreement_templates["default"].model_copy(update={"classification": "special"})
    config = demo.model_copy(
        update={
            "classifications": {
                **demo.classifications,
                "special": demo.classifications["agreement"].model_copy(update={"name": "S"}),
            },
            "agreement_templates": {"default": tpl},
        }
    )
    by_type = open_agreement(factory)
    with factory(Cause.action(tenant="default")) as uow:
        service.apply_config(uow, config, source="a template with its own classification")
    by_template = open_agreement(factory)
    with factory(Cause.action(tenant="default")) as uow:
        first = service.get_ticket(uow, by_type)
        second = service.get_ticket(uow, by_template)
    assert (first.group, first.classification) == ("finance-approvals", "agreement")
    assert (second.group, second.classification) == ("finance-approvals", "special")


def test_open_and_approve_record_events_with_causation_and_correlation(
    factory: UnitOfWorkFactory,
) -> None:
    tid = open_agreement(factory, Cause.action("open-1", correlation_id="chain-1", tenant="default"))
    with factory(Cause.action("approve-1", correlation_id="chain-1", tenant="default")) as uow:
        service.move_ticket(uow, tid, "approved", reason=None, by="ana", action_id="approve-1")
    events = outbox(factory)
    assert [e["type"] for e in events] == [
        "crm.ticket.created",
        "crm.ticket.stage-changed",
        "finance.agreement.approved",
    ]
    assert all(e["correlationid"] == "chain-1" for e in events)
    assert [e["causationid"] for e in events] == ["open-1", "approve-1", "approve-1"]
    assert events[2]["subject"] == "AG-7" and events[2]["data"]["ticket_id"] == tid
    with factory(Cause.action(tenant="default")) as uow:
        assert [
            t.id for t in service.find_tickets_by_origin(uow, "finance.agreement.pending", "AG-7")
        ] == [tid]
        history = TicketRepository(uow.session, uow.tenant).history(tid)
        assert [(h.kind, h.from_stage, h.to_stage, h.by) for h in history] == [
            ("open", None, "analysis", "system"),
            ("move", "analysis", "approved", "ana"),
        ]


def test_a_repeated_action_does_not_act_twice(factory: UnitOfWorkFactory) -> None:
    tid = open_agreement(factory)
    for _ in range(2):
        with factory(Cause.action("key-1", tenant="default")) as uow:
            ticket = service.move_ticket(
                uow, tid, "approved", reason=None, by="ana", action_id="key-1"
            )
            assert ticket.stage == "approved"
    assert [e["type"] for e in outbox(factory)].count("finance.agreement.approved") == 1


def test_concurrent_moves_one_wins_the_other_conflicts(factory: UnitOfWorkFactory) -> None:
    tid = open_agreement(factory)
    # two people load version 1, then both move
    with factory(Cause.action(tenant="default")) as uow:
        version = service.get_ticket(uow, tid).version
    with factory(Cause.action(tenant="default")) as uow:
        service.move_ticket(uow, tid, "approved", reason=None, by="ana", expected_version=version)
    with pytest.raises(Conflict, match="reload"), factory(Cause.action(tenant="default")) as uow:
        service.move_ticket(uow, tid, "rejected", reason="no", by="carla", expected_version=version)
    # a stale in-memory ticket is refused by the optimistic save, too
    with factory(Cause.action(tenant="default")) as uow:
        repo = TicketRepository(uow.session, uow.tenant)
        stale = repo.get(tid)
        stale.version -= 1
        with pytest.raises(Conflict):
            repo.save(stale, uow.now())


def test_overdue_escalates_to_the_manager_and_survives_a_restart(
    factory: UnitOfWorkFactory, database_url: str, clock: ControllableClock
) -> None:
    tid = open_agreement(factory)
    assert fire_due_timers(factory) == 0
    clock.advance(timedelta(hours=49))
    restarted = UnitOfWorkFactory(make_engine(database_url), clock)  # a new process, same store
    assert fire_due_timers(restarted) == 1
    assert fire_due_timers(restarted) == 0  # fires once
    with restarted(Cause.action(tenant="default")) as uow:
        ticket = service.get_ticket(uow, tid)
    assert (ticket.holder.kind, ticket.holder.id, ticket.stage) == (
        "attendant",
        "carla",
        "analysis",
    )
    overdue = [e for e in outbox(factory) if e["type"] == "crm.ticket.overdue"]
    assert overdue and overdue[0]["data"]["action"] == "escalate"
    restarted.engine.dispose()


def test_overdue_moves_to_rejection_with_the_configured_reason(
    factory: UnitOfWorkFactory, clock: ControllableClock
) -> None:
    with factory(Cause.action(tenant="default")) as uow:
        tid = service.open_ticket(
            uow, "edu.second-call-exam", parameters={"discipline": "MAT101"}, customer_id="RA-1"
        ).id
        service.move_ticket(uow, tid, "awaiting-student", reason="certificate?", by="bruno")
    clock.advance(timedelta(days=8))
    assert fire_due_timers(factory) >= 1
    with factory(Cause.action(tenant="default")) as uow:
        ticket = service.get_ticket(uow, tid)
    assert (ticket.stage, ticket.status) == ("rejected", "completed")
    types = [e["type"] for e in outbox(factory)]
    assert types[-2:] == ["crm.ticket.overdue", "crm.ticket.stage-changed"]


def test_moving_on_cancels_the_stage_timer(
    factory: UnitOfWorkFactory, clock: ControllableClock
) -> None:
    tid = open_agreement(factory)
    with factory(Cause.action(tenant="default")) as uow:
        service.move_ticket(uow, tid, "approved", reason=None, by="ana")
    clock.advance(timedelta(days=10))
    assert fire_due_timers(factory) == 0
    with factory.sessions() as s:
        timer = s.scalars(select(TimerRow).where(TimerRow.ticket_id == tid)).one()
        assert timer.cancelled_at is not None and timer.fired_at is None


def test_comments_attachments_and_cancel(factory: UnitOfWorkFactory, tmp_path: Path) -> None:
    tid = open_agreement(factory)
    store = LocalAttachmentStore(tmp_path / "files")
    with factory(Cause.action(tenant="default")) as uow:
        service.comment_ticket(uow, tid, "checking the installments", by="ana")
        row = service.attach_file(
            uow, tid, "proof.pdf", io.BytesIO(b"%PDF-1"), by="C-1", store=store
        )
        service.cancel_ticket(uow, tid, reason="agreement cancelled", by="system")
    assert b"".join(store.get(row.storage_key)) == b"%PDF-1"
    with factory(Cause.action(tenant="default")) as uow:
        repo = TicketRepository(uow.session, uow.tenant)
        assert [c.text for c in repo.comments(tid)] == ["checking the installments"]
        assert repo.attachments(tid)[0].size == 6
        with pytest.raises(IllegalMove):
            service.comment_ticket(uow, tid, "late", by="ana")
    assert outbox(factory)[-1]["type"] == "crm.ticket.cancelled"
