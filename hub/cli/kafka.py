"""``hub queues`` on Kafka: consumer lag per partition and the streaming view."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rich.table import Table

from hub.cli.common import console


def print_kafka_view(rows: Sequence[dict[str, Any]], stream: Sequence[dict[str, Any]]) -> None:
    """Lag per partition (from the queue rows of ``hub queues``) and the streaming view."""
    lag = Table("consumer group", "topic", "partition", "lag", "end offset", title="lag")
    for q in rows:
        for p in q.get("partitions", []):
            lag.add_row(
                q["queue"], p["topic"], str(p["partition"]), str(p["lag"]), str(p["end_offset"])
            )
    console.print(lag)
    view = Table(
        "window (UTC)",
        "consumer group",
        "event type",
        "settled",
        "returned",
        "avg latency ms",
        "max latency ms",
        title="streaming view",
    )
    for w in stream:
        start = datetime.fromtimestamp(w["window_start"], UTC).strftime("%H:%M:%S")
        end = datetime.fromtimestamp(w["window_end"], UTC).strftime("%H:%M:%S")
        view.add_row(
            f"{start}-{end}",
            w["consumer"],
            w["event_type"],
            str(w["settled"]),
            str(w["returned"]),
            str(w["latency_avg_ms"]),
            str(w["latency_max_ms"]),
        )
    console.print(view)
