"""Statements and commits per batch on the hub's write path, counted in this process.

The benchmark's mix is handed to the hub's own processor and consumers in batches, as a
worker's consumer thread hands them over, on one database; every statement the driver is given
and every commit is counted. No broker takes part: what is measured is the store's share of a
batch, the part that decides how many round-trips an event costs.

Run it with ``hub bench statements`` (SQLite by default; ``--database-url`` for PostgreSQL).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event

from hub.bench.mix import Message, Mix


@dataclass(frozen=True)
class Count:
    kind: str  # a kind of the mix, or "mix" for all of them
    events: int
    batches: int
    statements: int
    commits: int
    verbs: tuple[tuple[str, int], ...] = ()

    @property
    def per_event(self) -> float:
        return self.statements / self.events if self.events else 0.0

    @property
    def per_batch(self) -> float:
        return self.statements / self.batches if self.batches else 0.0


@contextmanager
def counting(engine: Engine) -> Iterator[Counter[str]]:
    """Counts the statements (``executemany`` counts once: one round-trip) and commits on
    ``engine`` while the block runs."""
    seen: Counter[str] = Counter()

    def statement(conn: Any, cursor: Any, text: str, params: Any, context: Any, many: bool) -> None:
        seen["statements"] += 1
        seen[text.split(None, 1)[0].upper()] += 1

    def commit(conn: Any) -> None:
        seen["commits"] += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


def count(database_url: str, events: int = 1000, batch: int = 100) -> list[Count]:
    """The mix's statements, then each kind's on its own, ``batch`` messages at a time."""
    from consumers import ALL
    from hub.bench.run import _prepare_hub_store
    from hub.clock import SystemClock
    from hub.runtime.policy import RetryPolicy
    from hub.runtime.processor import Processor
    from hub.runtime.registry import by_queue
    from hub.runtime.transport import Delivery
    from hub.runtime.uow import UnitOfWorkFactory
    from hub.store.db import make_engine

    mix = Mix(events, duplicates=0.04, tag="statements")
    _prepare_hub_store(database_url, mix)
    engine = make_engine(database_url)
    processor = Processor(
        by_queue(ALL),
        UnitOfWorkFactory(engine, SystemClock()),
        default_retry=RetryPolicy(),
        delivery_limit=5,
    )
    readers = {c.queue: set(c.handlers) for c in ALL}

    def deliveries(messages: list[Message]) -> list[Delivery]:
        out = []
        for m in messages:
            for queue, types in readers.items():
                if m.routing_key in types:
                    out.append(
                        Delivery(queue, m.routing_key, m.body, {}, m.event_id, 1, _none, _none)
                    )
        return out

    def run(kind: str, messages: list[Message]) -> Count:
        todo = deliveries(messages)
        batches = 0
        with counting(engine) as seen:
            for start in range(0, len(todo), batch):
                by_queue_: dict[str, list[Delivery]] = {}
                for d in todo[start : start + batch]:
                    by_queue_.setdefault(d.queue, []).append(d)
                for group in by_queue_.values():
                    processor.handle_batch(group)
                    batches += 1
        verbs = tuple(
            sorted(((v, n) for v, n in seen.items() if v not in ("statements", "commits")))
        )
        return Count(kind, len(messages), batches, seen["statements"], seen["commits"], verbs)

    results = [run("mix", mix.sends)]
    for kind in ("agreement", "request", "enrollment", "invalid"):
        # the same events again: the second time is all duplicates, so a fresh mix per kind
        fresh = Mix(events, duplicates=0.0, tag=f"statements-{kind}", seed=11)
        _prepare_hub_store(database_url, fresh)
        chosen = [m for m in fresh.sends if m.kind == kind]
        results.append(run(kind, chosen))
    engine.dispose()
    return results


def _none() -> None:
    pass
