"""OpenTelemetry trace context carried in the events' ``traceparent`` extension.

When an OpenTelemetry SDK is configured (a tracer provider is set), handling a message runs in
a span whose parent is the inbound event's ``traceparent``, and the events the handler emits
carry that span's context. Without an SDK the API is a no-op: the inbound ``traceparent`` is
copied forward unchanged, as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from schemas import CloudEvent

#: The tracer provider to use; ``None``: the global one (``trace.set_tracer_provider``).
provider: trace.TracerProvider | None = None
_propagator = TraceContextTextMapPropagator()


@contextmanager
def handling_span(consumer: str, queue: str, event: CloudEvent) -> Iterator[None]:
    """Run the block in a consumer span, child of the event's ``traceparent``."""
    tracer = trace.get_tracer("hub.runtime", tracer_provider=provider)
    parent = _propagator.extract({"traceparent": event.traceparent}) if event.traceparent else None
    with tracer.start_as_current_span(
        f"{queue} process",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        attributes={
            "messaging.system": "hub",
            "messaging.operation": "process",
            "messaging.destination.name": queue,
            "messaging.message.id": event.id,
            "hub.consumer": consumer,
            "hub.event_type": event.type,
            "hub.correlation_id": event.chain,
        },
    ):
        yield


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, if there is a valid one."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")
