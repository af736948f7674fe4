"""``hub bench``: throughput, latency and memory of the hub on a realistic mix of events, and on
pending agreements alone, next to two hand-written pika + psycopg loops doing the same essential
work: one message per transaction (baseline), and batches of 100 (limit)."""

from __future__ import annotations

import typer
from rich.table import Table

from hub.bench.mix import WORKLOADS
from hub.cli.common import console, print_json

BROKERS = ("rabbitmq", "rabbitmq-cluster", "embedded", "kafka")


def register(app: typer.Typer) -> None:
    app.command()(bench)


def bench(
    events: int = typer.Option(5000, min=1, max=10_000_000, help="Distinct events per mode."),
    workers: list[int] = typer.Option(
        [1], min=1, max=16, help="Worker processes per mode (repeat for several: 1, 2, 4)."
    ),
    duplicates: float = typer.Option(0.05, min=0, max=1, help="Share of events sent twice."),
    rate: float = typer.Option(
        0, min=0, help="Offered events/s (open loop); 0: as fast as possible."
    ),
    broker: list[str] = typer.Option(
        ["rabbitmq"],
        "--broker",
        help=f"Hub mode(s) to run: {', '.join(BROKERS)} (repeat for several).",
    ),
    workload: list[str] = typer.Option(
        list(WORKLOADS),
        "--workload",
        help=f"Workload(s): {', '.join(WORKLOADS)} (repeat for several).",
    ),
    warmup: int = typer.Option(
        300, min=0, max=100_000, help="Pending agreements handled before each mode is measured."
    ),
    baseline: bool = typer.Option(
        True,
        "--baseline/--no-baseline",
        help="Also run the hand-written loops, per message and batched (RabbitMQ).",
    ),
    kafka_url: str | None = typer.Option(
        None, help="Kafka for --broker kafka (kafka://host:port); default: a mock cluster."
    ),
    amqp_url: str = typer.Option("amqp://guest:guest@127.0.0.1:5672/%2F", help="RabbitMQ."),
    cluster_url: str | None = typer.Option(
        None,
        help="RabbitMQ cluster for --broker rabbitmq-cluster (';'-separated URLs); "
        "default: the local cluster of deploy/rabbitmq/local-cluster.sh.",
    ),
    stop_leader_after: float | None = typer.Option(
        None,
        help="rabbitmq-cluster: stop the node leading hub.finance-agreements this many "
        "seconds into the run (it is started again afterwards), to measure failover.",
    ),
    pg_url: str = typer.Option(
        "postgresql+psycopg://root@127.0.0.1:5432/postgres",
        help="PostgreSQL server (a database is created and dropped for each mode).",
    ),
    timeout: float = typer.Option(600, help="Give up waiting after this many seconds."),
    statements: bool = typer.Option(
        False,
        "--statements",
        help="Instead: count the store's statements and commits per batch of 100, in this "
        "process, on SQLite and on PostgreSQL (no broker).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Push a realistic mix (pending agreements, student requests, reference-data upserts,
    duplicates, invalid events), and pending agreements alone, through the hub with all
    guarantees on, and through the hand-written loops in the same run; print events/s,
    latency, memory and the ratios."""
    from hub.bench.run import bench as run_bench

    if statements:
        _statements(events, pg_url, json_out)
        return
    unknown = [b for b in broker if b not in BROKERS]
    if unknown:
        raise typer.BadParameter(
            f"unknown broker {unknown[0]!r} (choose from {', '.join(BROKERS)})",
            param_hint="--broker",
        )
    strange = [w for w in workload if w not in WORKLOADS]
    if strange:
        raise typer.BadParameter(
            f"unknown workload {strange[0]!r} (choose from {', '.join(WORKLOADS)})",
            param_hint="--workload",
        )
    report = run_bench(
        brokers=broker,
        amqp_url=amqp_url,
        pg_url=pg_url,
        events=events,
        workers=workers,
        duplicates=duplicates,
        rate=rate,
        timeout=timeout,
        baseline=baseline,
        kafka_url=kafka_url,
        cluster_url=cluster_url,
        stop_leader_after=stop_leader_after,
        workloads=list(dict.fromkeys(workload)),
        warmup=warmup,
    )
    if json_out:
        print_json(report)
        return
    columns = [
        "workload",
        "mode",
        "broker",
        "workers",
        "events/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "longest gap ms",
        "peak RSS MB",
        "RSS first/last MB",
        "dups downstream",
        "lost",
        "seconds",
    ]
    table = Table(*columns)
    for r in report["results"]:  # type: ignore[attr-defined]
        table.add_row(
            r["workload"],
            r["mode"],
            r["broker"],
            str(r["workers"]),
            str(r["events_per_s"]),
            str(r["p50_ms"]),
            str(r["p95_ms"]),
            str(r["p99_ms"]),
            str(r["max_ms"]),
            str(r["longest_gap_ms"]),
            str(r["peak_rss_mb"]),
            f"{r['rss_first_mb']}/{r['rss_last_mb']}",
            str(r["duplicates_downstream"]),
            str(r["lost"]),
            str(r["seconds"]),
        )
    console.print(table)
    for r in report["results"]:  # type: ignore[attr-defined]
        if r["fault"]:
            console.print(f"{r['broker']} {r['workers']}w: {r['fault']}")
    for name, ratio in report["throughput_ratio"].items():  # type: ignore[attr-defined]
        console.print(f"throughput {name}: {ratio}")


def _statements(events: int, pg_url: str, json_out: bool) -> None:
    import tempfile
    from dataclasses import asdict

    from hub.bench.run import fresh_postgres
    from hub.bench.statements import count

    counted: dict[str, list[dict[str, object]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        counted["sqlite"] = [asdict(c) for c in count(f"sqlite:///{tmp}/hub.sqlite", events)]
    with fresh_postgres(pg_url) as url:
        counted["postgresql"] = [asdict(c) for c in count(url, events)]
    if json_out:
        print_json(counted)
        return
    table = Table("database", "events", "kind", "batches", "statements", "per event", "commits")
    for database, rows in counted.items():
        for c in rows:
            per_event = int(c["statements"]) / max(1, int(c["events"]))  # type: ignore[call-overload]
            table.add_row(
                database,
                str(c["events"]),
                str(c["kind"]),
                str(c["batches"]),
                str(c["statements"]),
                f"{per_event:.2f}",
                str(c["commits"]),
            )
    console.print(table)
