"""Consumers: a name, the event types each handles and how. Handlers never see a transport.

A consumer module declares::

    consumer = Consumer("finance-agreements")

    @consumer.handles("finance.agreement.pending")
    def on_pending(event: CloudEvent, uow: UnitOfWork) -> None: ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hub.runtime.policy import RetryPolicy
from hub.runtime.transport import queue_name

if TYPE_CHECKING:
    from hub.runtime.uow import UnitOfWork
    from schemas import CloudEvent

Handler = Callable[["CloudEvent", "UnitOfWork"], None]


@dataclass
class Consumer:
    """A named hub consumer with one queue, ``hub.<name>``. ``retry`` overrides the hub's
    default retry policy for this consumer."""

    name: str
    retry: RetryPolicy | None = None
    handlers: dict[str, Handler] = field(default_factory=dict)

    @property
    def queue(self) -> str:
        return queue_name(self.name)

    @property
    def event_types(self) -> list[str]:
        return sorted(self.handlers)

    def handles(self, *event_types: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            for t in event_types:
                if t in self.handlers:
                    raise ValueError(f"{self.name} already handles {t}")
                self.handlers[t] = fn
            return fn

        return register

    def add(self, event_type: str, handler: Handler) -> Consumer:
        self.handles(event_type)(handler)
        return self


def by_queue(consumers: Iterable[Consumer]) -> dict[str, Consumer]:
    out: dict[str, Consumer] = {}
    for c in consumers:
        if c.queue in out:
            raise ValueError(f"two consumers named {c.name!r}")
        out[c.queue] = c
    return out
