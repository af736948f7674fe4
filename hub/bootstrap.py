"""Wires settings, store, transport and consumers into a running hub. Tests call it with fakes."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hub.clock import Clock, SystemClock
from hub.errors import ConfigurationError
from hub.runtime import tracing
from hub.runtime.housekeeping import prune
from hub.runtime.observe import Observer
from hub.runtime.policy import RetryPolicy
from hub.runtime.processor import Processor
from hub.runtime.registry import Consumer, by_queue
from hub.runtime.relay import Deliverer, OutboxRelay
from hub.runtime.transport import POISON_QUEUE, Transport
from hub.runtime.transports import transport_for
from hub.runtime.uow import UnitOfWorkFactory
from hub.settings import Settings
from hub.store.db import make_engine, upgrade
from hub.workflow.timers import fire_due_timers

log = logging.getLogger("hub")

#: A periodic job run by ``hub run`` (deadline timers, housekeeping): called every ``period`` s.
Tick = Callable[[], object]


@dataclass
class Hub:
    settings: Settings
    uow: UnitOfWorkFactory
    transport: Transport
    consumers: list[Consumer]
    processor: Processor
    relay: OutboxRelay
    observer: Observer
    ticks: list[tuple[str, float, Tick]] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    @property
    def queues(self) -> list[str]:
        return [c.queue for c in self.consumers]

    def setup(self) -> None:
        """Declare the broker topology (idempotent)."""
        self.transport.setup({c.queue: c.event_types for c in self.consumers})

    def start(self, stop: threading.Event, *, consume: bool = True, relay: bool = True) -> None:
        """Start the hub's threads; they run until ``stop`` is set (see ``join``)."""
        if consume and self.consumers:
            queues = [*self.queues, *self._poison_queue()]
            self._spawn(
                "consumer",
                lambda: self.transport.consume_batches(
                    queues,
                    self.processor.handle_batch,
                    prefetch=self.settings.prefetch,
                    max_batch=self.settings.batch,
                    stop=stop,
                ),
            )
        if relay:
            self._spawn("relay", lambda: self.relay.run(stop))
        for name, period, tick in self.ticks:
            self._spawn(name, functools.partial(_every, period, tick, stop, name))

    def _poison_queue(self) -> list[str]:
        # RabbitMQ's own delivery limit dead-letters to hub.poison; other transports count
        # deliveries themselves and have no such queue.
        from hub.runtime.transports.amqp import AmqpTransport

        return [POISON_QUEUE] if isinstance(self.transport, AmqpTransport) else []

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=_logged(name, target), name=f"hub-{name}", daemon=True)
        thread.start()
        self.threads.append(thread)

    def ended_threads(self) -> list[str]:
        """Names of the hub's threads that are no longer running (before a stop, each of
        them is a failure: its work is no longer done in this process)."""
        return [t.name for t in self.threads if not t.is_alive()]

    def join(self, timeout: float = 30.0) -> None:
        for thread in self.threads:
            thread.join(timeout)
        self.threads.clear()

    def close(self) -> None:
        self.transport.close()
        self.uow.engine.dispose()


def _logged(name: str, target: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            target()
        except Exception:
            log.exception("hub thread %s stopped by an error", name)
            raise

    return run


def _every(period: float, tick: Tick, stop: threading.Event, name: str) -> None:
    while not stop.wait(period):
        try:
            tick()
        except Exception:
            log.exception("periodic job %s failed; trying again in %.1fs", name, period)


def default_consumers(selection: Sequence[str] | None = None) -> list[Consumer]:
    """The hub's consumers, or those named in ``selection`` (a consumer's name, or
    ``module:attribute`` for a consumer defined elsewhere)."""
    import importlib

    from consumers import ALL

    if not selection:
        return list(ALL)
    known = {c.name: c for c in ALL}
    chosen = []
    for item in selection:
        if ":" in item:
            module, attr = item.split(":", 1)
            try:
                found = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as e:
                raise ConfigurationError(f"HUB_CONSUMERS: cannot load {item!r}: {e}") from None
            if not isinstance(found, Consumer):
                raise ConfigurationError(f"HUB_CONSUMERS: {item!r} is not a Consumer")
            chosen.append(found)
        elif item in known:
            chosen.append(known[item])
        else:
            raise ConfigurationError(
                f"HUB_CONSUMERS: no consumer named {item!r} (known: {', '.join(known) or 'none'})"
            )
    return chosen


def build(
    settings: Settings,
    *,
    consumers: Sequence[Consumer] | None = None,
    transport: Transport | None = None,
    clock: Clock | None = None,
    observer: Observer | None = None,
    migrate: bool = True,
) -> Hub:
    """A hub from ``settings``; pass ``consumers``, ``transport``, ``clock`` to replace the
    defaults (the consumers of the ``consumers`` package, the broker of ``HUB_BROKER_URL``)."""
    url = settings.effective_database_url
    if migrate:
        upgrade(url)
    observer = observer or Observer()
    uow = UnitOfWorkFactory(make_engine(url), clock or SystemClock())
    if migrate:
        from hub.provisioning import ensure_default_tenant

        ensure_default_tenant(uow)
    chosen = list(default_consumers(settings.consumers) if consumers is None else consumers)
    observer.expect(t for c in chosen for t in c.handlers)
    transport = transport or transport_for(settings.effective_broker_url)
    tracing.configure(settings.effective_broker_url)
    relay = OutboxRelay(uow, transport, observer=observer, deliverers=_deliverers(uow, settings))
    uow.on_commit = relay.wake.set
    processor = Processor(
        by_queue(chosen),
        uow,
        default_retry=RetryPolicy(
            attempts=settings.retry_attempts,
            base_delay=settings.retry_base_delay,
            max_delay=settings.retry_max_delay,
        ),
        delivery_limit=settings.delivery_limit,
        observer=observer,
        on_commit=relay.wake.set,
        limits=settings.limits,
    )
    hub = Hub(settings, uow, transport, chosen, processor, relay, observer)
    hub.ticks.append(("timers", 1.0, lambda: fire_due_timers(uow)))
    hub.ticks.append(
        (
            "housekeeping",
            300.0,
            lambda: prune(
                uow,
                outbox_days=settings.outbox_retention_days,
                inbox_days=settings.inbox_retention_days,
                audit_days=settings.audit_retention_days,
            ),
        )
    )
    return hub


def _deliverers(uow: UnitOfWorkFactory, settings: Settings) -> dict[str, Deliverer]:
    """Outbox deliverers besides the broker: e-mail, through the tenants' SMTP settings and
    ``HUB_SMTP_URL``."""
    from hub.mail.outbox import MAIL_KIND, SmtpDeliverer

    smtp = SmtpDeliverer(
        uow,
        settings,
        retry_base=settings.retry_base_delay,
        retry_max=settings.retry_max_delay,
    )
    return {MAIL_KIND: smtp}


def apply_workflow_config(hub: Hub) -> int:
    """Apply ``HUB_WORKFLOW_CONFIG`` to ``HUB_TENANT`` (a new version only when it changed),
    or the demo configuration when that tenant has none yet. Returns the version in force."""
    return apply_settings_config(hub.uow, hub.settings)


def apply_settings_config(factory: UnitOfWorkFactory, settings: Settings) -> int:
    from hub.runtime.uow import Cause
    from hub.workflow.service import apply_config_file, ensure_config

    with factory(Cause.action(tenant=settings.tenant)) as uow:
        if settings.workflow_config is not None:
            return apply_config_file(uow, settings.workflow_config)[0]
        return ensure_config(uow)
