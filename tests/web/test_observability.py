"""JSON logs carry the event and correlation ids of the message being handled; with an
OpenTelemetry SDK, handling continues the event's trace and outbound events carry it on."""

from __future__ import annotations

import io
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select

from hub.bootstrap import Hub, build
from hub.logs import JsonFormatter
from hub.runtime import tracing
from hub.settings import Settings
from hub.store.models import OutboxMessage
from tests.support import ledger
from tests.support.harness import item_event, outgoing, wait_until

INBOUND_TRACE = "0af7651916cd43dd8448eb211c80319c"
INBOUND_SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{INBOUND_TRACE}-{INBOUND_SPAN}-01"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    settings = Settings(
        broker_url=f"memory://{uuid.uuid4().hex}",
        database_url=f"sqlite:///{tmp_path / 'hub.sqlite'}",
        retry_base_delay=0.1,
        retry_max_delay=0.2,
    )
    ledger._failures_seen.clear()
    built = build(settings, consumers=[ledger.consumer])
    ledger.metadata.create_all(built.uow.engine)
    built.setup()
    stop = threading.Event()
    built.start(stop)
    try:
        yield built
    finally:
        stop.set()
        built.join()
        built.close()


def outbound_traceparent(hub: Hub, event_id: str) -> str | None:
    def sent() -> list[OutboxMessage]:
        with hub.uow.sessions() as s:
            return list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "event")))

    wait_until(lambda: len(sent()) == 1, what="the outbound event")
    body = json.loads(sent()[0].body)
    assert body["causationid"] == event_id
    return body.get("traceparent")


def test_handling_log_lines_carry_event_and_correlation_ids(hub: Hub) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("hub")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        event = item_event("L-1", fail_times=1)
        event["correlationid"] = "chain-7"
        hub.transport.publish([outgoing(event)])
        wait_until(lambda: hub.observer.count("handled") == 1, what="handled after a retry")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    retrying = [r for r in lines if r["message"].startswith("retrying")]
    assert retrying, lines
    assert retrying[0]["event_id"] == event["id"]
    assert retrying[0]["correlation_id"] == "chain-7"
    assert retrying[0]["consumer"] == "ledger"


def test_without_an_sdk_the_inbound_traceparent_is_copied_forward(hub: Hub) -> None:
    event = item_event("O-1")
    event["traceparent"] = TRACEPARENT
    hub.transport.publish([outgoing(event)])
    assert outbound_traceparent(hub, event["id"]) == TRACEPARENT


def test_with_an_sdk_handling_is_a_child_span_and_outbound_events_carry_it(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "provider", provider)
    event = item_event("O-2")
    event["traceparent"] = TRACEPARENT
    hub.transport.publish([outgoing(event)])
    carried = outbound_traceparent(hub, event["id"])
    def handling() -> list[Any]:
        return [s for s in exporter.get_finished_spans() if s.name.startswith("process ")]

    wait_until(lambda: len(handling()) == 1, what="one finished handling span")
    span = handling()[0]
    assert span.name == "process hub.ledger"
    assert span.parent is not None and format(span.parent.span_id, "016x") == INBOUND_SPAN
    assert format(span.context.trace_id, "032x") == INBOUND_TRACE
    assert span.attributes is not None and span.attributes["messaging.message.id"] == event["id"]
    own_span = format(span.context.span_id, "016x")
    assert carried == f"00-{INBOUND_TRACE}-{own_span}-01"
