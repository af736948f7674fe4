"""What an operator watches: each hub queue's depth, consumers and rates, the outbox backlog,
scheduled retries and dead letters. Shared by ``hub queues``, the API and the console.

Rates: ``out`` is what the hub's consumers settled per second over the last ``window``
seconds (handled, retried or dead-lettered; read from the store, so every ``hub run`` process
counts). ``in`` is ``out`` plus the queue's growth per second between two samples, so it needs
an earlier sample (``RateSampler``); without one it is ``None``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select

from hub.runtime.deadletters import DeadLetters
from hub.runtime.transport import QueueStats, Transport
from hub.runtime.uow import UnitOfWorkFactory
from hub.store.models import DEFAULT_TENANT, DeadLetter, InboxEntry, OutboxMessage

WINDOW = 60.0


def settled_per_second(
    uow: UnitOfWorkFactory, queues: Sequence[str], window: float = WINDOW
) -> dict[str, float]:
    """Messages settled per second by each queue's consumer over the last ``window`` s."""
    since = uow.clock.now() - timedelta(seconds=window)
    counts = dict.fromkeys(queues, 0)
    names = {q.removeprefix("hub."): q for q in queues}
    with uow.sessions() as session:
        for consumer, n in session.execute(
            select(InboxEntry.consumer, func.count())
            .where(InboxEntry.handled_at >= since, InboxEntry.consumer.in_(names))
            .group_by(InboxEntry.consumer)
        ):
            counts[names[consumer]] += n
        for consumer, n in session.execute(
            select(DeadLetter.consumer, func.count())
            .where(DeadLetter.last_failed_at >= since, DeadLetter.consumer.in_(names))
            .group_by(DeadLetter.consumer)
        ):
            counts[names[consumer]] += n
        for queue, n in session.execute(
            select(OutboxMessage.routing_key, func.count())
            .where(
                OutboxMessage.kind == "retry",
                OutboxMessage.created_at >= since,
                OutboxMessage.routing_key.in_(queues),
            )
            .group_by(OutboxMessage.routing_key)
        ):
            counts[queue] += n
    return {q: n / window for q, n in counts.items()}


class RateSampler:
    """Remembers the previous depth sample of each queue to derive the inbound rate."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, tuple[float, int]] = {}

    def in_rate(self, stats: QueueStats, out_rate: float, max_age: float = 600.0) -> float | None:
        now = time.monotonic()
        with self._lock:
            previous = self._last.get(stats.name)
            self._last[stats.name] = (now, stats.depth)
        if previous is None or not 0.2 <= now - previous[0] <= max_age:
            return None
        growth = (stats.depth - previous[1]) / (now - previous[0])
        return max(0.0, out_rate + growth)


def outbox_backlog(uow: UnitOfWorkFactory, tenant: str | None = None) -> dict[str, Any]:
    """Unpublished outbox rows (``tenant``'s, or every tenant's): ``due`` now, ``scheduled``
    later (of which ``retries``), and ``oldest_due_s``: how long the oldest due row has waited
    (the relay's lag)."""
    now = uow.clock.now()
    pending: Any = OutboxMessage.sent_at.is_(None)
    if tenant is not None:
        pending = and_(pending, OutboxMessage.tenant_id == tenant)
    with uow.sessions() as session:
        due = session.scalar(select(func.count()).where(pending, OutboxMessage.available_at <= now))
        scheduled = session.scalar(
            select(func.count()).where(pending, OutboxMessage.available_at > now)
        )
        retries = session.scalar(select(func.count()).where(pending, OutboxMessage.kind == "retry"))
        oldest = session.scalar(
            select(func.min(OutboxMessage.available_at)).where(
                pending, OutboxMessage.available_at <= now
            )
        )
    lag = None
    if isinstance(oldest, datetime):
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
        lag = max(0.0, (now - oldest).total_seconds())
    return {
        "due": due or 0,
        "scheduled": scheduled or 0,
        "retries": retries or 0,
        "oldest_due_s": lag,
    }


def queue_rows(
    uow: UnitOfWorkFactory,
    transport: Transport,
    queues: Sequence[str],
    sampler: RateSampler,
) -> list[dict[str, Any]]:
    """One row per queue: depth, consumers, in flight, oldest message age, in/out rates."""
    stats = transport.stats(list(queues))
    out = settled_per_second(uow, queues)
    rows = []
    for s in stats:
        out_rate = out.get(s.name, 0.0)
        rows.append(
            {
                "queue": s.name,
                "depth": s.depth,
                "consumers": s.consumers,
                "in_flight": s.in_flight,
                "oldest_age_s": s.oldest_age,
                "in_per_s": sampler.in_rate(s, out_rate),
                "out_per_s": out_rate,
                **({"partitions": [asdict(p) for p in s.partitions]} if s.partitions else {}),
            }
        )
    return rows


def overview(
    uow: UnitOfWorkFactory,
    transport: Transport,
    queues: Sequence[str],
    sampler: RateSampler,
    *,
    tenant: str,
) -> dict[str, Any]:
    """Queues, outbox and dead letters in one document (the console's overview). The broker's
    queues are the installation's, shared by every tenant: only the default tenant (the hub's
    own operators) sees them; every tenant sees its own outbox and dead letters."""
    return {
        "queues": queue_rows(uow, transport, queues, sampler) if tenant == DEFAULT_TENANT else [],
        "outbox": outbox_backlog(uow, tenant),
        "dead_letters": [
            {**g, "last_failed_at": _iso(g["last_failed_at"])}
            for g in DeadLetters(uow, tenant).groups()
        ],
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else (str(value) if value else None)
