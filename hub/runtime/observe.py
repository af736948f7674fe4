"""What the runtime reports as it works. The default keeps counters in memory; the metrics
module exports the same facts to Prometheus."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable


class Observer:
    """Receives one call per settled message and per relay batch. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.outcomes: Counter[tuple[str, str, str]] = Counter()
        self.published: Counter[str] = Counter()

    def expect(self, event_types: Iterable[str]) -> None:
        """The event types this process has handlers for (called once, at start-up); an
        exporter labels other types as one ``other``, so that its label set stays bounded."""

    def outcome(self, consumer: str, event_type: str, outcome: str, seconds: float) -> None:
        with self._lock:
            self.outcomes[(consumer, event_type, outcome)] += 1

    def relayed(self, kind: str, count: int, lag_seconds: float) -> None:
        with self._lock:
            self.published[kind] += count

    def count(self, outcome: str, consumer: str | None = None) -> int:
        with self._lock:
            return sum(
                n
                for (c, _, o), n in self.outcomes.items()
                if o == outcome and (consumer is None or c == consumer)
            )
