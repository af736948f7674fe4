"""The benchmark's consumer: the essential work of an integration (dedupe, write, answer)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from hub.runtime.registry import Consumer
from hub.runtime.uow import UnitOfWork
from schemas import CloudEvent

IN_TYPE = "bench.item.created"
OUT_TYPE = "bench.item.booked"
metadata = MetaData()
effects = Table(
    "bench_effects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item", String(100), nullable=False),
    Column("event_id", String(100), nullable=False),
)

consumer = Consumer("bench")


@consumer.handles(IN_TYPE)
def book(event: CloudEvent, uow: UnitOfWork) -> None:
    data = event.data
    uow.session.execute(insert(effects).values(item=str(data["item"]), event_id=event.id))
    uow.emit(OUT_TYPE, event.subject, {"item": data["item"], "sent_at": data["sent_at"]})
