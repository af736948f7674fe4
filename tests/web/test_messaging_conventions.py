"""Spans follow the OpenTelemetry messaging semantic conventions, checked with the SDK's
in-memory exporter; the trace context comes in with the event and goes out with its effects."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from hub.bootstrap import Hub, build
from hub.runtime import tracing
from hub.runtime.transport import Delivery
from hub.runtime.transports.memory import MemoryTransport
from hub.settings import Settings
from tests.support import ledger
from tests.support.harness import item_event, outgoing, wait_until

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE}-{PARENT}-01"


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "provider", provider)
    return exporter


@pytest.fixture
def hub(tmp_path: Path, exporter: InMemorySpanExporter) -> Iterator[Hub]:
    settings = Settings(
        broker_url=f"memory://{uuid.uuid4().hex}",
        database_url=f"sqlite:///{tmp_path / 'hub.sqlite'}",
        retry_base_delay=0.05,
        retry_max_delay=0.1,
    )
    ledger._failures_seen.clear()
    built = build(settings, consumers=[ledger.consumer])
    ledger.metadata.create_all(built.uow.engine)
    built.setup()
    built.transport.setup({"test.downstream": ["crm.ticket.cancelled"]})
    stop = threading.Event()
    built.start(stop)
    try:
        yield built
    finally:
        stop.set()
        built.join()
        built.close()


def spans(exporter: InMemorySpanExporter, name: str, count: int = 1) -> list[ReadableSpan]:
    wait_until(
        lambda: len([s for s in exporter.get_finished_spans() if s.name == name]) >= count,
        what=f"{count} span(s) {name!r}",
    )
    return [s for s in exporter.get_finished_spans() if s.name == name]


def test_a_process_span_has_the_conventions_name_kind_attributes_and_parent(
    hub: Hub, exporter: InMemorySpanExporter
) -> None:
    event = item_event("T-1")
    event["traceparent"] = TRACEPARENT
    hub.transport.publish([outgoing(event)])
    (span,) = spans(exporter, "process hub.ledger")
    assert span.kind is SpanKind.CONSUMER
    attrs = dict(span.attributes or {})
    assert attrs["messaging.system"] == "hub.memory"
    assert attrs["messaging.operation.name"] == "process"
    assert attrs["messaging.operation.type"] == "process"
    assert attrs["messaging.destination.name"] == "hub.ledger"
    assert attrs["messaging.consumer.group.name"] == "ledger"
    assert attrs["messaging.message.id"] == event["id"]
    assert "error.type" not in attrs
    assert span.status.status_code is not StatusCode.ERROR
    assert span.parent is not None and format(span.parent.span_id, "016x") == PARENT
    assert format(span.context.trace_id, "032x") == TRACE


def test_a_failing_handler_sets_error_type_and_the_error_status(
    hub: Hub, exporter: InMemorySpanExporter
) -> None:
    hub.transport.publish([outgoing(item_event("T-2", fail_times=1))])
    first, *_ = spans(exporter, "process hub.ledger", count=2)
    failed = [s for s in exporter.get_finished_spans() if s.attributes and "error.type" in s.attributes]
    assert failed, [dict(s.attributes or {}) for s in exporter.get_finished_spans()]
    assert failed[0].status.status_code is StatusCode.ERROR
    assert str(failed[0].attributes["error.type"]).endswith("TransientError")  # type: ignore[index]
    assert first.name == "process hub.ledger"


def test_emitted_events_go_out_in_a_send_span_carrying_the_trace_both_ways(
    hub: Hub, exporter: InMemorySpanExporter
) -> None:
    received: list[Delivery] = []
    transport = hub.transport
    assert isinstance(transport, MemoryTransport)
    event = item_event("T-3")  # the ledger emits crm.ticket.cancelled for it
    event["traceparent"] = TRACEPARENT
    transport.publish([outgoing(event)])
    (process,) = spans(exporter, "process hub.ledger")
    sends = spans(exporter, "send hub.events")
    send = sends[0]
    assert send.kind is SpanKind.PRODUCER
    attrs = dict(send.attributes or {})
    assert attrs["messaging.system"] == "hub.memory"
    assert attrs["messaging.operation.name"] == "send"
    assert attrs["messaging.destination.name"] == "hub.events"
    # the send span is linked to the handling that caused the message
    assert any(link.context.span_id == process.context.span_id for link in send.links)
    stop = threading.Event()
    threading.Thread(
        target=transport.consume,
        args=(["test.downstream"], lambda d: (received.append(d), d.ack(), stop.set())),
        kwargs={"prefetch": 10, "stop": stop},
        daemon=True,
    ).start()
    wait_until(lambda: bool(received), what="the outbound event downstream")
    out = received[0]
    body = json.loads(out.body)
    own = format(process.context.span_id, "016x")
    assert body["traceparent"] == f"00-{TRACE}-{own}-01"  # the event's own extension
    _, trace_id, span_id, _flags = out.headers["traceparent"].split("-")
    assert (trace_id, span_id) == (
        format(send.context.trace_id, "032x"),
        format(send.context.span_id, "016x"),
    )


def test_the_messaging_system_is_named_from_the_broker_url() -> None:
    assert tracing.messaging_system("amqp://g:g@h1:5672//;amqp://g:g@h2:5673//") == "rabbitmq"
    assert tracing.messaging_system("kafka://127.0.0.1:9092") == "kafka"
    assert tracing.messaging_system("sqla+sqlite:///x") == "hub.embedded"
