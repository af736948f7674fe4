"""Run a hub in-process against a chosen tier and watch what it does."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select

from hub.bootstrap import Hub, build
from hub.runtime.transport import EVENTS_EXCHANGE, Outgoing
from hub.settings import Settings
from hub.store.db import make_engine
from hub.store.models import DeadLetter
from tests.support import ledger

DOWNSTREAM = "downstream.audit"


def item_event(
    item: str, *, event_id: str | None = None, key: str | None = None, **data: Any
) -> dict[str, Any]:
    event = {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": "urn:test",
        "type": ledger.ITEM,
        "time": "2026-11-24T12:00:00Z",
        "subject": item,
        "datacontenttype": "application/json",
        "data": {"item": item, **data},
    }
    if key:
        event["idempotencykey"] = key
    return event


def outgoing(body: bytes | dict[str, Any], routing_key: str = ledger.ITEM) -> Outgoing:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    mid = body.get("id", "") if isinstance(body, dict) else ""
    return Outgoing(EVENTS_EXCHANGE, routing_key, raw, mid)


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


class Running:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.engine = hub.uow.engine

    def publish(self, *events: bytes | dict[str, Any], routing_key: str = ledger.ITEM) -> None:
        self.hub.transport.publish([outgoing(e, routing_key) for e in events])

    def effects(self, item: str | None = None) -> int:
        query = select(func.count()).select_from(ledger.ledger)
        if item is not None:
            query = query.where(ledger.ledger.c.item == item)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def dead_letters(self) -> list[DeadLetter]:
        with self.hub.uow.sessions() as s:
            return list(s.scalars(select(DeadLetter).order_by(DeadLetter.id)))

    def fix(self, item: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(ledger.fixes.insert().values(item=item))


@contextmanager
def running_hub(settings: Settings, **kwargs: Any) -> Iterator[Running]:
    ledger._failures_seen.clear()
    hub = build(settings, consumers=[ledger.consumer], **kwargs)
    ledger.metadata.create_all(hub.uow.engine)
    hub.setup()
    hub.transport.setup({DOWNSTREAM: ["crm.ticket.cancelled"]})
    stop = threading.Event()
    hub.start(stop)
    try:
        yield Running(hub)
    finally:
        stop.set()
        hub.join()
        hub.close()


def create_ledger_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    ledger.metadata.create_all(engine)
    engine.dispose()
