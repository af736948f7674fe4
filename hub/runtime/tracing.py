"""OpenTelemetry spans named and described by the messaging semantic conventions, with the trace
context carried in the events' ``traceparent`` extension.

- Handling a message is a CONSUMER span ``process <queue>`` (``process hub.finance-agreements``)
  whose parent is the inbound event's ``traceparent``; the events its handler emits carry that
  span's context in their own ``traceparent``.
- The relay's publication of a batch is a PRODUCER span ``send <destination>``
  (``send hub.events``) linked to each message's trace; each message leaves with the send span's
  context in its ``traceparent`` header (the event keeps its own extension).
- Attributes: ``messaging.system`` (``rabbitmq``, ``kafka``, or the embedded broker's name),
  ``messaging.operation.name`` and ``.type``, ``messaging.destination.name``,
  ``messaging.message.id``, ``messaging.consumer.group.name``, ``error.type`` on failure.

Without an SDK (no tracer provider set) the API is a no-op: the inbound ``traceparent`` is copied
forward unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace import Link, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from schemas import CloudEvent

#: The tracer provider to use; ``None``: the global one (``trace.set_tracer_provider``).
provider: trace.TracerProvider | None = None
#: ``messaging.system`` of this process's broker (``configure`` sets it from the broker URL).
system = "hub"
_propagator = TraceContextTextMapPropagator()
#: Exceptions that end a span without being a failure (a duplicate skipped by the inbox).
_NOT_FAILURES = {"Duplicate"}


def messaging_system(broker_url: str) -> str:
    """The semantic conventions' ``messaging.system`` for a broker URL."""
    scheme = broker_url.split("://", 1)[0].lower()
    if scheme in {"amqp", "amqps", "pyamqp"}:
        return "rabbitmq"
    if scheme == "kafka":
        return "kafka"
    return "hub.embedded" if scheme.startswith("sqla+") else "hub.memory"


def configure(broker_url: str) -> None:
    global system
    system = messaging_system(broker_url)


def active() -> bool:
    """Whether an SDK records spans (a provider set here or globally)."""
    return provider is not None or not isinstance(
        trace.get_tracer_provider(), trace.ProxyTracerProvider
    )


def _tracer() -> trace.Tracer:
    return trace.get_tracer("hub.runtime", tracer_provider=provider)


@contextmanager
def handling_span(consumer: str, queue: str, event: CloudEvent) -> Iterator[None]:
    """Run the block in a ``process`` span, child of the event's ``traceparent``; an exception
    out of the block sets ``error.type`` and the error status, and goes on."""
    parent = _propagator.extract({"traceparent": event.traceparent}) if event.traceparent else None
    with _tracer().start_as_current_span(
        f"process {queue}",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        record_exception=False,
        set_status_on_exception=False,
        attributes={
            "messaging.system": system,
            "messaging.operation.name": "process",
            "messaging.operation.type": "process",
            "messaging.destination.name": queue,
            "messaging.consumer.group.name": consumer,
            "messaging.message.id": event.id,
            "messaging.message.conversation_id": event.chain,
            "cloudevents.event_id": event.id,
            "cloudevents.event_type": event.type,
            "cloudevents.event_source": event.source,
            "cloudevents.event_subject": event.subject,
        },
    ) as span:
        try:
            yield
        except BaseException as error:
            if type(error).__name__ not in _NOT_FAILURES:
                span.set_attribute("error.type", _error_type(error))
                span.set_status(StatusCode.ERROR, str(error)[:200])
            raise


@contextmanager
def sending_span(
    destination: str, message_ids: Sequence[str], traceparents: Sequence[str | None]
) -> Iterator[str | None]:
    """Run a publication in a ``send`` span linked to each message's own trace; yields the
    ``traceparent`` to put in the messages' headers (``None`` without an SDK)."""
    links = []
    for tp in traceparents:
        if tp:
            ctx = trace.get_current_span(_propagator.extract({"traceparent": tp})).get_span_context()
            if ctx.is_valid:
                links.append(Link(ctx))
    attributes: dict[str, str | int] = {
        "messaging.system": system,
        "messaging.operation.name": "send",
        "messaging.operation.type": "send",
        "messaging.destination.name": destination,
    }
    if len(message_ids) == 1:
        attributes["messaging.message.id"] = message_ids[0]
    else:
        attributes["messaging.batch.message_count"] = len(message_ids)
    with _tracer().start_as_current_span(
        f"send {destination}",
        context=trace.set_span_in_context(trace.INVALID_SPAN),  # a root: links carry the causes
        kind=trace.SpanKind.PRODUCER,
        links=links,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield current_traceparent()
        except BaseException as error:
            span.set_attribute("error.type", _error_type(error))
            span.set_status(StatusCode.ERROR, str(error)[:200])
            raise


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, if there is a valid one."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def _error_type(error: BaseException) -> str:
    kind = type(error)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
