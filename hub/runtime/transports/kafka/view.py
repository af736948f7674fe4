"""The operators' streaming view on Kafka, kept in faust tables.

Each consumer group's agent sends, per settled batch and event type, one observation (count of
messages settled and returned, summed and highest latency from the message's append to the log
until it was settled) to the topic ``<queue>.view`` (key = event type). A second agent of the
same faust app folds the observations into a windowed table, ``view``: tumbling windows of
``WINDOW`` seconds, kept ``EXPIRES`` seconds, key = event type. The table's changelog topic,
``<queue>-view-changelog``, *is* the view: any process reads it (``read_view``) without joining
the group, which is how ``hub queues`` shows it.

Accessors for a metrics endpoint: ``snapshot()`` (the windows held by the running consumer
groups of this process) and ``read_view(broker_url, queues)`` (every window, from the
changelogs). Both return ``WindowStats`` rows.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import faust
from faust.types import EventT, StreamT

from hub.runtime.transports.kafka.options import KafkaOptions
from hub.runtime.transports.kafka.topology import (
    VIEW_TABLE,
    changelog_topic,
    read_topic,
    view_topic,
)

WINDOW = 60.0
EXPIRES = 3600.0

_live: dict[str, StreamView] = {}
_live_lock = threading.Lock()


@dataclass(frozen=True)
class WindowStats:
    consumer: str  # the queue, hub.<consumer>
    event_type: str
    window_start: float  # epoch seconds
    window_end: float
    settled: int
    returned: int
    latency_avg_ms: float
    latency_max_ms: float


class StreamView:
    def __init__(self, app: faust.App, queue: str) -> None:
        self.queue = queue
        self.topic = app.topic(view_topic(queue), key_serializer="raw", value_serializer="json")
        self.table: Any = app.Table(
            VIEW_TABLE,
            default=dict,
            schema=faust.Schema(key_serializer="json", value_serializer="json"),
        )
        self.windows: Any = self.table.tumbling(WINDOW, expires=EXPIRES)
        app.agent(self.topic, name=f"{queue}.view")(self._fold)
        with _live_lock:
            _live[queue] = self

    async def record(self, queue: str, batch: Sequence[EventT], states: dict[int, str]) -> None:
        """Send one observation per event type of a settled batch (best effort)."""
        now = time.time()
        per_type: dict[str, dict[str, float]] = {}
        for i, ev in enumerate(batch):
            obs = per_type.setdefault(
                _event_type(ev, queue),
                {"settled": 0, "returned": 0, "latency_sum": 0.0, "latency_max": 0.0},
            )
            if states.get(i) == "ack":
                obs["settled"] += 1
                latency = max(0.0, now - (ev.message.timestamp or now))
                obs["latency_sum"] += latency
                obs["latency_max"] = max(obs["latency_max"], latency)
            else:
                obs["returned"] += 1
        for event_type, obs in per_type.items():
            await self.topic.send(key=event_type.encode(), value=obs)

    async def _fold(self, stream: StreamT) -> None:
        async for event in stream.events():
            key = event.key.decode() if isinstance(event.key, bytes) else str(event.key)
            obs: dict[str, Any] = event.value
            current = dict(self.windows[key].current())
            self.windows[key] = _merge(current, obs)

    def close(self) -> None:
        with _live_lock:
            if _live.get(self.queue) is self:
                del _live[self.queue]

    def snapshot(self) -> list[WindowStats]:
        for _ in range(3):  # the event loop may change the table meanwhile
            try:
                items = list(self.table.data.items())
                break
            except RuntimeError:
                continue
        else:
            return []
        return [_row(self.queue, k, v) for k, v in items]


def _merge(current: dict[str, Any], obs: dict[str, Any]) -> dict[str, Any]:
    return {
        "settled": int(current.get("settled", 0)) + int(obs.get("settled", 0)),
        "returned": int(current.get("returned", 0)) + int(obs.get("returned", 0)),
        "latency_sum": float(current.get("latency_sum", 0.0)) + float(obs.get("latency_sum", 0)),
        "latency_max": max(
            float(current.get("latency_max", 0.0)), float(obs.get("latency_max", 0))
        ),
    }


def _event_type(ev: EventT, queue: str) -> str:
    topic = ev.message.topic
    if topic != queue:
        return str(topic)
    try:  # the retry topic carries every type the consumer reads
        return str(json.loads(ev.message.value or b"{}").get("type") or "?")
    except (ValueError, AttributeError, TypeError):
        return "?"


def _row(queue: str, key: Any, value: Any) -> WindowStats:
    event_type, (start, end) = key
    settled = int(value.get("settled", 0))
    return WindowStats(
        queue,
        str(event_type),
        float(start),
        float(end),
        settled,
        int(value.get("returned", 0)),
        round(1000 * float(value.get("latency_sum", 0.0)) / settled, 2) if settled else 0.0,
        round(1000 * float(value.get("latency_max", 0.0)), 2),
    )


def snapshot() -> list[WindowStats]:
    """The windows of the consumer groups running in this process, newest first."""
    with _live_lock:
        views = list(_live.values())
    return _newest_first(row for v in views for row in v.snapshot())


def read_view(broker_url: str, queues: Sequence[str]) -> list[WindowStats]:
    """Every window of ``queues`` still in their table changelogs, newest first
    (``broker_url``: the ``kafka://`` URL)."""
    options = KafkaOptions.parse(broker_url)
    rows: dict[tuple[str, str, float], WindowStats] = {}
    for queue in queues:
        for raw_key, raw_value in read_topic(options, changelog_topic(queue)):
            if not raw_value:
                continue
            try:
                row = _row(queue, json.loads(raw_key), json.loads(raw_value))
            except (ValueError, TypeError):
                continue
            rows[(queue, row.event_type, row.window_start)] = row  # the last value wins
    cutoff = time.time() - EXPIRES
    return _newest_first(r for r in rows.values() if r.window_end >= cutoff)


def _newest_first(rows: Iterable[WindowStats]) -> list[WindowStats]:
    return sorted(rows, key=lambda r: (-r.window_start, r.consumer, r.event_type))
