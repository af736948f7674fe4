"""Prometheus metrics: the runtime's ``Observer`` feeding counters and histograms, and a
collector that reads queue depths, the outbox and the dead-letter store at each scrape."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from hub.runtime.deadletters import DeadLetters
from hub.runtime.observe import Observer
from hub.runtime.overview import outbox_backlog
from hub.runtime.transport import Transport
from hub.runtime.uow import UnitOfWorkFactory
from schemas.registry import EVENT_MODELS

log = logging.getLogger("hub.web")

#: The runtime's outcomes (``Outcome.value``) as the ``outcome`` label says them.
OUTCOMES = {
    "handled": "handled",
    "duplicate": "duplicate",
    "retried": "retried",
    "dead-lettered": "dead_lettered",
    "returned": "returned",
}
#: The ``event_type`` label of a type that is neither in the contract nor handled here.
OTHER = "other"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

# a counter's ``_created`` companion doubles the series and no dashboard reads it
disable_created_metrics()


class MetricsObserver(Observer):
    """The in-memory ``Observer`` that also exports to a Prometheus registry.

    Names follow Prometheus conventions (seconds, ``_total`` on counters) and every label set
    is bounded: ``event_type`` is a type of the contract or one this process handles, and any
    other type (a stranger's, a typo's) is counted as ``other``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        super().__init__()
        self.registry = registry or CollectorRegistry()
        self.known_types: frozenset[str] = frozenset(EVENT_MODELS)
        self.messages = Counter(
            "hub_messages",
            "Messages delivered to a consumer and settled, by outcome "
            "(handled, duplicate, retried, dead_lettered, returned).",
            ["consumer", "event_type", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hub_handler_duration_seconds",
            "Time to settle one message.",
            ["consumer", "event_type"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.relayed_total = Counter(
            "hub_outbox_published",
            "Outbox rows published by the relay.",
            ["kind"],
            registry=self.registry,
        )
        self.relay_lag = Histogram(
            "hub_outbox_relay_lag_seconds",
            "Time from an outbox row falling due to its publication (per batch, the largest).",
            ["kind"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )

    def expect(self, event_types: Iterable[str]) -> None:
        self.known_types = self.known_types | frozenset(event_types)

    def label(self, event_type: str) -> str:
        """``event_type`` itself when it is known, else ``other``."""
        return event_type if event_type in self.known_types else OTHER

    def outcome(self, consumer: str, event_type: str, outcome: str, seconds: float) -> None:
        super().outcome(consumer, event_type, outcome, seconds)
        label = self.label(event_type)
        self.messages.labels(consumer, label, OUTCOMES.get(outcome, OTHER)).inc()
        self.latency.labels(consumer, label).observe(seconds)

    def relayed(self, kind: str, count: int, lag_seconds: float) -> None:
        super().relayed(kind, count, lag_seconds)
        self.relayed_total.labels(kind).inc(count)
        self.relay_lag.labels(kind).observe(max(0.0, lag_seconds))


class StoreCollector(Collector):
    """Queue depth and consumers (the transport's ``stats``), the outbox backlog and the dead
    letters awaiting action, read at each scrape."""

    def __init__(self, uow: UnitOfWorkFactory, transport: Transport, queues: Sequence[str]) -> None:
        self.uow = uow
        self.transport = transport
        self.queues = list(queues)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "hub_queue_depth", "Messages waiting in a hub queue.", labels=["queue"]
        )
        consumers = GaugeMetricFamily(
            "hub_queue_consumers", "Consumers attached to a hub queue.", labels=["queue"]
        )
        try:
            for s in self.transport.stats(self.queues):
                depth.add_metric([s.name], s.depth)
                if s.consumers is not None:
                    consumers.add_metric([s.name], s.consumers)
        except Exception as e:
            log.warning("metrics: queue stats unavailable: %s", e)
        yield depth
        yield consumers
        try:
            backlog = outbox_backlog(self.uow)
            groups = DeadLetters(self.uow, None).groups()
        except Exception as e:
            log.warning("metrics: store unavailable: %s", e)
            return
        outbox = GaugeMetricFamily(
            "hub_outbox_backlog",
            "Unpublished outbox rows (due now / scheduled later).",
            labels=["state"],
        )
        outbox.add_metric(["due"], backlog["due"])
        outbox.add_metric(["scheduled"], backlog["scheduled"])
        yield outbox
        yield GaugeMetricFamily(
            "hub_retries_scheduled",
            "Delayed retries waiting in the outbox.",
            value=backlog["retries"],
        )
        yield GaugeMetricFamily(
            "hub_outbox_oldest_due_seconds",
            "How long the oldest due outbox row has waited for the relay.",
            value=backlog["oldest_due_s"] or 0.0,
        )
        dead = GaugeMetricFamily(
            "hub_dead_letters", "Dead letters awaiting action.", labels=["consumer", "error_type"]
        )
        for g in groups:
            dead.add_metric([g["consumer"], g["error_type"]], g["count"])
        yield dead


def exposition(observer: Observer, store: CollectorRegistry) -> bytes:
    """The ``/metrics`` document: the observer's metrics (when it exports) and the store's."""
    from prometheus_client import generate_latest

    own = generate_latest(observer.registry) if isinstance(observer, MetricsObserver) else b""
    return own + generate_latest(store)


def store_registry(
    uow: UnitOfWorkFactory, transport: Transport, queues: Sequence[str]
) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(StoreCollector(uow, transport, queues))
    return registry
