"""``hub bench``: throughput and latency against a hand-written pika + psycopg loop."""

from __future__ import annotations

import typer
from rich.table import Table

from hub.cli.common import console, print_json


def register(app: typer.Typer) -> None:
    app.command()(bench)


def bench(
    events: int = typer.Option(5000, min=1, help="Distinct events per mode."),
    workers: int = typer.Option(1, min=1, max=16, help="Worker processes per mode."),
    duplicates: float = typer.Option(0.05, min=0, max=1, help="Share of events sent twice."),
    rate: float = typer.Option(
        0, min=0, help="Offered events/s (open loop); 0: as fast as possible."
    ),
    amqp_url: str = typer.Option("amqp://guest:guest@127.0.0.1:5672/%2F", help="RabbitMQ."),
    pg_url: str = typer.Option(
        "postgresql+psycopg://root@127.0.0.1:5432/postgres",
        help="PostgreSQL server (a database is created and dropped for each mode).",
    ),
    timeout: float = typer.Option(600, help="Give up waiting after this many seconds."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Push events through RabbitMQ + PostgreSQL with all guarantees on, next to a hand-written
    loop doing the same essential work, and print events/s, latency and the ratio."""
    from hub.bench.run import bench as run_bench

    report = run_bench(
        amqp_url,
        pg_url,
        events=events,
        workers=workers,
        duplicates=duplicates,
        rate=rate,
        timeout=timeout,
    )
    if json_out:
        print_json(report)
        return
    table = Table(
        "mode",
        "events/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "peak RSS MB",
        "dups downstream",
        "lost",
        "seconds",
    )
    for r in report["results"]:  # type: ignore[attr-defined]
        table.add_row(
            r["mode"],
            str(r["events_per_s"]),
            str(r["p50_ms"]),
            str(r["p95_ms"]),
            str(r["p99_ms"]),
            str(r["peak_rss_mb"]),
            str(r["duplicates_downstream"]),
            str(r["lost"]),
            str(r["seconds"]),
        )
    console.print(table)
    console.print(f"hub / hand-written throughput: {report['throughput_ratio']}")
