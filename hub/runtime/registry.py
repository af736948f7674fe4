"""Consumers: a name, the event types each handles and how. Handlers never see a transport.

A consumer module declares::

    consumer = Consumer("finance-agreements")

    @consumer.handles("finance.agreement.pending")
    def on_pending(event: CloudEvent, uow: UnitOfWork) -> None: ...

and, to spare its handler one query per message in a batch, what those messages will look up::

    @consumer.reads_ahead("finance.agreement.pending")
    def states(events: Sequence[CloudEvent], session: Session) -> None:
        preload(session, AgreementState, data_keys(events, "agreement_id"))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from hub.runtime.policy import RetryPolicy
from hub.runtime.transport import queue_name

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hub.runtime.uow import UnitOfWork
    from schemas import CloudEvent

Handler = Callable[["CloudEvent", "UnitOfWork"], None]
#: Reads ahead, in a batch's session, the rows its messages' handlers will look up (see
#: ``hub.store.batch``). It must tolerate data the handler will refuse.
ReadAhead = Callable[[Sequence["CloudEvent"], "Session"], None]
F = TypeVar("F", Handler, ReadAhead)


@dataclass
class Consumer:
    """A named hub consumer with one queue, ``hub.<name>``. ``retry`` overrides the hub's
    default retry policy for this consumer."""

    name: str
    retry: RetryPolicy | None = None
    handlers: dict[str, Handler] = field(default_factory=dict)
    read_aheads: dict[str, ReadAhead] = field(default_factory=dict)

    @property
    def queue(self) -> str:
        return queue_name(self.name)

    @property
    def event_types(self) -> list[str]:
        return sorted(self.handlers)

    def handles(self, *event_types: str) -> Callable[[Handler], Handler]:
        return _registrar(self.handlers, event_types, f"{self.name} already handles")

    def reads_ahead(self, *event_types: str) -> Callable[[ReadAhead], ReadAhead]:
        return _registrar(self.read_aheads, event_types, f"{self.name} already reads ahead for")

    def add(self, event_type: str, handler: Handler) -> Consumer:
        self.handles(event_type)(handler)
        return self


def _registrar(table: dict[str, F], event_types: tuple[str, ...], taken: str) -> Callable[[F], F]:
    def register(fn: F) -> F:
        for t in event_types:
            if t in table:
                raise ValueError(f"{taken} {t}")
            table[t] = fn
        return fn

    return register


def data_keys(events: Iterable[CloudEvent], *paths: str) -> list[tuple[str, ...]]:
    """``(tenant, value, ...)`` of each event whose data (a dict or its data model) has a string
    at every dotted path (``"student.ra"``); events without one are left out (their handler
    refuses them)."""
    out: list[tuple[str, ...]] = []
    for event in events:
        values = [event.tenantid]
        for path in paths:
            value: Any = event.data
            for part in path.split("."):
                if isinstance(value, dict):
                    value = value.get(part)
                else:  # the event type's data model, when decoding found one
                    value = getattr(value, part, None)
            if not isinstance(value, str):
                break
            values.append(value)
        else:
            out.append(tuple(values))
    return out


def by_queue(consumers: Iterable[Consumer]) -> dict[str, Consumer]:
    out: dict[str, Consumer] = {}
    for c in consumers:
        if c.queue in out:
            raise ValueError(f"two consumers named {c.name!r}")
        out[c.queue] = c
    return out
