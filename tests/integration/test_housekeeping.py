from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from hub.clock import ControllableClock
from hub.runtime.housekeeping import prune
from hub.runtime.uow import Cause, UnitOfWorkFactory
from hub.store import make_engine, upgrade
from hub.store.models import InboxEntry, OutboxMessage
from schemas import decode
from schemas.examples import example_event


def test_prune_removes_only_what_is_past_its_retention(database_url: str) -> None:
    upgrade(database_url)
    clock = ControllableClock()
    uow = UnitOfWorkFactory(make_engine(database_url), clock)
    event = decode(example_event("finance.agreement.cancelled"))
    with uow.handling("c", event) as work:
        work.emit("crm.ticket.cancelled", "T-1", {"ticket_id": "T-1", "reason": "r"})
    with uow(Cause.action("a-1", tenant="default")) as work:
        work.emit("crm.ticket.cancelled", "T-2", {"ticket_id": "T-2", "reason": "r"})
    with uow.sessions.begin() as s:
        first = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
        assert first is not None
        first.sent_at = clock.now()

    clock.advance(timedelta(days=8))
    assert prune(uow, outbox_days=7, inbox_days=30) == (1, 0)
    clock.advance(timedelta(days=30))
    assert prune(uow, outbox_days=7, inbox_days=30) == (0, 1)
    with uow.sessions() as s:
        # the unpublished row stays, however old
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        assert s.scalar(select(func.count()).select_from(InboxEntry)) == 0
    uow.engine.dispose()
