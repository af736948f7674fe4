"""Drive the benchmark: the hub (a ``hub run`` process) and the hand-written baseline, side by
side in one run, on RabbitMQ + PostgreSQL, each fed the same events by the same publisher."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import pika
import psycopg

from hub.bench.consumer import IN_TYPE, OUT_TYPE, metadata
from hub.store.db import make_engine, upgrade

ROOT = Path(__file__).resolve().parents[2]
OUT_QUEUE = "bench.out"
BASELINE_QUEUE = "bench.baseline"
BASELINE_KEY = "bench.baseline.item"
HUB_QUEUE = "hub.bench"


@dataclass
class Result:
    mode: str
    events: int
    duplicates_sent: int
    workers: int
    seconds: float
    events_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    peak_rss_mb: float
    duplicates_downstream: int
    lost: int


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    name = "hub_bench_" + uuid.uuid4().hex[:8]
    dsn = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _channel(amqp_url: str) -> tuple[pika.BlockingConnection, object]:
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    return conn, conn.channel()


def declare(amqp_url: str) -> None:
    conn, ch = _channel(amqp_url)
    ch.exchange_declare("hub.events", exchange_type="topic", durable=True)  # type: ignore[attr-defined]
    for queue, key in ((OUT_QUEUE, OUT_TYPE), (BASELINE_QUEUE, BASELINE_KEY)):
        ch.queue_declare(queue, durable=True)  # type: ignore[attr-defined]
        ch.queue_bind(queue, "hub.events", key)  # type: ignore[attr-defined]
        ch.queue_purge(queue)  # type: ignore[attr-defined]
    conn.close()
    conn, ch = _channel(amqp_url)
    try:  # left over by an interrupted run
        ch.queue_purge(HUB_QUEUE)  # type: ignore[attr-defined]
    except pika.exceptions.ChannelClosedByBroker:
        pass  # not declared yet
    if conn.is_open:
        conn.close()


def publish(
    amqp_url: str, routing_key: str, n: int, duplicates: float, rate: float, tag: str
) -> int:
    """Publish ``n`` distinct events (plus re-sends of a share of them) at ``rate``/s (0: as
    fast as confirms allow). Returns the number of duplicates sent."""
    conn, ch = _channel(amqp_url)
    ch.confirm_delivery()  # type: ignore[attr-defined]
    every = int(1 / duplicates) if duplicates > 0 else 0
    dups = 0
    started = time.perf_counter()
    for i in range(n):
        if rate > 0:
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        event = {
            "specversion": "1.0",
            "id": f"{tag}-{i}",
            "source": "urn:bench",
            "type": IN_TYPE,
            "time": "2026-11-24T12:00:00Z",
            "subject": f"{tag}-{i}",
            "datacontenttype": "application/json",
            "data": {"item": f"{tag}-{i}", "sent_at": time.time()},
        }
        body = json.dumps(event).encode()
        props = pika.BasicProperties(
            delivery_mode=2, message_id=event["id"], content_type="application/cloudevents+json"
        )
        ch.basic_publish("hub.events", routing_key, body, props)  # type: ignore[attr-defined]
        if every and i % every == 0:
            ch.basic_publish("hub.events", routing_key, body, props)  # type: ignore[attr-defined]
            dups += 1
    conn.close()
    return dups


class Collector(threading.Thread):
    def __init__(self, amqp_url: str, expected: int, timeout: float, tag: str) -> None:
        super().__init__(daemon=True)
        self.amqp_url, self.expected, self.timeout = amqp_url, expected, timeout
        self.tag = tag
        self.latencies: list[float] = []
        self.items: set[str] = set()
        self.received = 0
        self.last = 0.0

    def run(self) -> None:
        conn, ch = _channel(self.amqp_url)
        ch.basic_qos(prefetch_count=500)  # type: ignore[attr-defined]
        deadline = time.monotonic() + self.timeout
        for method, _props, body in ch.consume(OUT_QUEUE, inactivity_timeout=0.5):  # type: ignore[attr-defined]
            if method is not None:
                data = json.loads(body)["data"]
                now = time.time()
                ch.basic_ack(method.delivery_tag)  # type: ignore[attr-defined]
                if not str(data["item"]).startswith(self.tag):
                    continue  # not from this run
                self.received += 1
                if data["item"] not in self.items:
                    self.items.add(data["item"])
                    self.latencies.append(now - float(data["sent_at"]))
                self.last = now
            if len(self.items) >= self.expected or time.monotonic() > deadline:
                break
        conn.close()


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0] * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


def measure(
    mode: str,
    amqp_url: str,
    database_url: str,
    *,
    events: int,
    workers: int,
    duplicates: float,
    rate: float,
    timeout: float,
) -> Result:
    declare(amqp_url)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HUB_BROKER_URL": amqp_url,
        "HUB_DATABASE_URL": database_url,
        "HUB_LOG_LEVEL": "WARNING",
        "HUB_CONSUMERS": "hub.bench.consumer:consumer",
    }
    if mode == "hub":
        upgrade(database_url)
        engine = make_engine(database_url)
        metadata.create_all(engine)
        engine.dispose()
        cmd = [sys.executable, "-m", "hub", "run"]
        key = IN_TYPE
    else:
        dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
        cmd = [sys.executable, "-m", "hub.bench.baseline", amqp_url, dsn, BASELINE_QUEUE]
        key = BASELINE_KEY
    procs = [subprocess.Popen(cmd, env=env, cwd=ROOT) for _ in range(workers)]
    try:
        time.sleep(3.0)  # start-up: imports, topology, connections
        tag = f"{mode}-{uuid.uuid4().hex[:6]}"
        collector = Collector(amqp_url, events, timeout, tag)
        collector.start()
        started = time.time()
        dups = publish(amqp_url, key, events, duplicates, rate, tag)
        collector.join(timeout)
        seconds = max(collector.last - started, 1e-9)
        rss = max(peak_rss_mb(p.pid) for p in procs)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
    got = len(collector.items)
    return Result(
        mode=mode,
        events=events,
        duplicates_sent=dups,
        workers=workers,
        seconds=round(seconds, 3),
        events_per_s=round(got / seconds, 1),
        p50_ms=round(_percentile(collector.latencies, 50), 1),
        p95_ms=round(_percentile(collector.latencies, 95), 1),
        p99_ms=round(_percentile(collector.latencies, 99), 1),
        peak_rss_mb=round(rss, 1),
        duplicates_downstream=collector.received - got,
        lost=events - got,
    )


def bench(
    amqp_url: str,
    pg_admin_url: str,
    *,
    events: int,
    workers: int,
    duplicates: float,
    rate: float,
    timeout: float,
) -> dict[str, object]:
    results = []
    for mode in ("hub", "baseline"):
        with fresh_database(pg_admin_url) as db:
            results.append(
                measure(
                    mode,
                    amqp_url,
                    db,
                    events=events,
                    workers=workers,
                    duplicates=duplicates,
                    rate=rate,
                    timeout=timeout,
                )
            )
    hub, base = results
    return {
        "results": [asdict(r) for r in results],
        "throughput_ratio": round(hub.events_per_s / base.events_per_s, 3)
        if base.events_per_s
        else None,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
    }
