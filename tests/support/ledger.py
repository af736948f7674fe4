"""A test consumer with a visible effect: each ``test.item.created`` adds a row to ``ledger``
and emits ``crm.ticket.cancelled`` for the item, in the same unit of work.

Behaviour is steered through the item's ``data``: ``fail_times`` (transient failures before
success, counted in this process), ``permanent``
(fails until the table ``ledger_fixes`` holds the item), ``crash`` (kills the process),
``constraint`` (breaks a constraint of the store, as a buggy handler does).
"""

from __future__ import annotations

import os
import signal

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from hub.errors import PermanentError, TransientError
from hub.runtime.registry import Consumer
from hub.runtime.uow import UnitOfWork
from schemas import CloudEvent

ITEM = "test.item.created"
metadata = MetaData()
ledger = Table(
    "ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item", String(100), nullable=False),
    Column("event_id", String(100)),
)
fixes = Table("ledger_fixes", metadata, Column("item", String(100), primary_key=True))

consumer = Consumer("ledger")


@consumer.handles(ITEM)
def on_item(event: CloudEvent, uow: UnitOfWork) -> None:
    data = event.data
    item = str(data["item"])
    if data.get("crash") and not os.environ.get("LEDGER_NO_CRASH"):
        os.kill(os.getpid(), signal.SIGKILL)
    if data.get("permanent"):
        fixed = uow.session.execute(select(fixes).where(fixes.c.item == item)).first()
        if fixed is None:
            raise PermanentError(f"item {item} cannot be booked")
    if data.get("constraint"):  # a bug: an ORM row breaking a NOT NULL constraint at flush
        from hub.store.models import InboxEntry

        uow.session.add(
            InboxEntry(
                tenant_id="default", consumer="ledger-bug", idempotency_key=item, event_type="x"
            )
        )
        uow.session.flush()
    wanted = int(data.get("fail_times", 0))
    if wanted:
        _count_failure(uow, item, wanted)
    uow.session.execute(insert(ledger).values(item=item, event_id=event.id))
    uow.emit("crm.ticket.cancelled", item, {"ticket_id": item, "reason": "booked"})


_failures_seen: dict[str, int] = {}


def _count_failure(uow: UnitOfWork, item: str, wanted: int) -> None:
    seen = _failures_seen.get(item, 0)
    if seen >= wanted:
        return
    _failures_seen[item] = seen + 1
    raise TransientError(f"item {item}: failure {seen + 1} of {wanted}")
