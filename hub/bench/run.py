"""Drive the benchmark: ``hub run`` worker processes with the hub's own consumers, fed the
realistic mix of ``hub.bench.mix`` (or its agreement-only workload), and in the same run the two
hand-written pika + psycopg loops fed the same events on the same RabbitMQ and PostgreSQL: one
message at a time (``hub.bench.baseline``) and in batches (``hub.bench.limit``).

Figures: distinct events per second from the first publish to the last answer; latency from
publishing an event (its scheduled time when a rate is offered, so a publisher falling behind
is not hidden) to receiving its answer; peak and sampled resident memory of the workers;
answers received twice; events whose effect or answer never came (lost). Each mode first
handles a warm-up of pending agreements, not counted, so that its connections, caches and
imports are in place before the measured events are sent.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import psycopg

from hub.bench.cluster import CLUSTER_URL
from hub.bench.mix import ANSWERS, Mix
from hub.runtime.transport import EVENTS_EXCHANGE, Delivery, Outgoing
from hub.runtime.transports import transport_for

ROOT = Path(__file__).resolve().parents[2]
TAP = "bench.out"
BASELINE_QUEUE = "bench.baseline"
INBOUND = ["finance.agreement.pending", "edu.request.created", "edu.enrollment.upserted"]
#: The hand-written loops: one message per transaction, and batches of up to 100.
LOOPS = ("baseline", "limit")


@dataclass
class Result:
    mode: str  # hub | baseline | limit
    broker: str  # rabbitmq | embedded
    events: int
    sends: int
    workers: int
    seconds: float
    events_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    peak_rss_mb: float
    rss_first_mb: float
    rss_last_mb: float
    duplicates_downstream: int
    lost: int
    max_ms: float = 0.0
    #: The longest time with no answer at all while events were waiting (a stall).
    longest_gap_ms: float = 0.0
    fault: str = ""
    workload: str = "mix"


@dataclass
class Target:
    """Where one mode runs: a broker URL, a database URL and how to start a worker."""

    broker: str
    broker_url: str
    database_url: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)


@contextmanager
def fresh_postgres(admin_url: str) -> Iterator[str]:
    name = "hub_bench_" + uuid.uuid4().hex[:8]
    dsn = _dsn(admin_url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def clear_queues(amqp_url: str, queues: list[str]) -> None:
    """Delete the benchmark's queues on RabbitMQ, so a mode never feeds another's queues."""
    import pika

    from producers.publisher import connection_parameters

    conn = pika.BlockingConnection(connection_parameters(amqp_url))
    try:
        for q in queues:
            ch = conn.channel()
            ch.queue_delete(q)
            ch.close()
    finally:
        conn.close()


class Collector(threading.Thread):
    """Reads the answers from the tap queue and times them against their events."""

    def __init__(self, broker_url: str, sent: dict[str, float], tag: str) -> None:
        super().__init__(daemon=True)
        self.transport = transport_for(broker_url)
        self.sent = sent
        self.tag = tag
        self.answered: dict[str, float] = {}
        self.received = 0
        self.stop = threading.Event()

    def run(self) -> None:
        self.transport.consume_batches(
            [TAP], self._batch, prefetch=500, max_batch=200, stop=self.stop
        )
        self.transport.close()

    def _batch(self, batch: list[Delivery]) -> None:
        now = time.time()
        for d in batch:
            cause = json.loads(d.body).get("causationid") or ""
            d.ack()
            if not cause.startswith(self.tag):
                continue  # an earlier run's
            self.received += 1
            self.answered.setdefault(cause, now)

    def latencies(self) -> list[float]:
        return [t - self.sent[c] for c, t in self.answered.items() if c in self.sent]


class RssSampler(threading.Thread):
    def __init__(self, pids: Callable[[], list[int]]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.samples: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            values = [_status_mb(p, "VmRSS") for p in self.pids()]
            if values:
                self.samples.append(max(values))


def _status_mb(pid: int, field_name: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return round(values[0] * 1000, 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000, 1)


def publish(broker_url: str, mix: Mix, rate: float, sent: dict[str, float]) -> None:
    """Send the mix (open loop at ``rate``/s when given; as fast as confirms allow otherwise),
    recording when each event was (due to be) sent."""
    transport = transport_for(broker_url)
    started = time.time()
    i = 0
    try:
        while i < len(mix.sends):
            if rate:
                due = int((time.time() - started) * rate) + 1
                upto = min(len(mix.sends), max(due, i + 1))
            else:
                upto = min(len(mix.sends), i + 100)
            chunk = mix.sends[i:upto]
            for n, m in enumerate(chunk, start=i):
                sent.setdefault(m.event_id, started + n / rate if rate else time.time())
            transport.publish(
                [Outgoing(EVENTS_EXCHANGE, m.routing_key, m.body, m.event_id) for m in chunk]
            )
            i = upto
            if rate and i < len(mix.sends):
                time.sleep(max(0.0, started + i / rate - time.time()))
    finally:
        transport.close()


def _wait_started(logs: list[Path], procs: list[subprocess.Popen[bytes]], marker: str) -> None:
    deadline = time.monotonic() + 60
    for log, proc in zip(logs, procs, strict=True):
        while marker not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"a worker did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)


def measure(
    mode: str,
    target: Target,
    mix: Mix,
    *,
    workers: int,
    rate: float,
    timeout: float,
    settled: Callable[[], tuple[int, int]],
    workdir: Path,
    fault: Callable[[], None] | None = None,
    fault_after: float = 0.0,
    fault_name: str = "",
    warmup: int = 0,
) -> Result:
    """Run ``workers`` processes of ``target`` against ``mix``; ``settled`` tells how many
    (enrollments, dead letters) the store holds. ``fault``, when given, runs ``fault_after``
    seconds after the first event is sent (a node loss, to measure what failover costs)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **target.env}
    logs = [workdir / f"{mode}-{target.broker}-{i}.log" for i in range(workers)]
    procs = [
        subprocess.Popen(
            target.command, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT
        )
        for log in logs
    ]
    sampler = RssSampler(lambda: [p.pid for p in procs])
    try:
        _wait_started(logs, procs, "hub running" if mode == "hub" else f"{mode} consuming")
        if warmup:
            _warm_up(
                target.broker_url, Mix(warmup, 0, tag=f"warm-{mix.tag}", workload="agreements")
            )
        sent: dict[str, float] = {}
        collector = Collector(target.broker_url, sent, mix.tag)
        collector.start()
        sampler.start()
        started = time.time()
        if fault is not None:
            timer = threading.Timer(fault_after, fault)
            timer.daemon = True
            timer.start()
        publish(target.broker_url, mix, rate, sent)
        deadline = time.monotonic() + timeout
        _wait_answered(collector, mix, deadline)
        finished = max(collector.answered.values(), default=time.time())
        while settled() != (mix.enrollments, mix.invalid) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # answers published twice would be arriving now
        collector.stop.set()
        collector.join(10)
        peak = max(_status_mb(p.pid, "VmHWM") for p in procs)
    finally:
        sampler.stop.set()
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
    enrollments, dead = settled()
    seconds = max(finished - started, 1e-9)
    latencies = collector.latencies()
    got = len(collector.answered)
    return Result(
        mode=mode,
        broker=target.broker,
        events=len(mix.distinct),
        sends=len(mix.sends),
        workers=workers,
        seconds=round(seconds, 3),
        events_per_s=round(len(mix.distinct) / seconds, 1),
        p50_ms=_percentile(latencies, 50),
        p95_ms=_percentile(latencies, 95),
        p99_ms=_percentile(latencies, 99),
        peak_rss_mb=round(peak, 1),
        rss_first_mb=round(sampler.samples[0], 1) if sampler.samples else 0.0,
        rss_last_mb=round(sampler.samples[-1], 1) if sampler.samples else 0.0,
        duplicates_downstream=collector.received - got,
        lost=(mix.expected_answers - got)
        + max(0, mix.enrollments - enrollments)
        + max(0, mix.invalid - dead),
        max_ms=round(max(latencies, default=0.0) * 1000, 1),
        longest_gap_ms=_longest_gap(sorted(collector.answered.values()), started),
        fault=fault_name,
        workload=mix.workload,
    )


def _wait_answered(collector: Collector, mix: Mix, deadline: float) -> None:
    while len(collector.answered) < mix.expected_answers and time.monotonic() < deadline:
        time.sleep(0.05)


def _warm_up(broker_url: str, mix: Mix, timeout: float = 120) -> None:
    """Send ``mix`` and wait for its answers; its collector is gone before measuring starts."""
    sent: dict[str, float] = {}
    collector = Collector(broker_url, sent, mix.tag)
    collector.start()
    try:
        publish(broker_url, mix, 0, sent)
        _wait_answered(collector, mix, time.monotonic() + timeout)
    finally:
        collector.stop.set()
        collector.join(10)


def _longest_gap(answers: list[float], started: float) -> float:
    """The longest interval without an answer, from the first send to the last answer."""
    times = [started, *answers]
    return round(max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0) * 1000, 1)


def _prepare_hub_store(database_url: str, mix: Mix) -> Callable[[], tuple[int, int]]:
    from sqlalchemy import func, select

    from hub.clock import SystemClock
    from hub.education.bulk import load, parse_lines
    from hub.education.tables import EnrollmentRow
    from hub.provisioning import ensure_default_tenant
    from hub.runtime.uow import Cause, UnitOfWorkFactory
    from hub.store.db import make_engine, upgrade
    from hub.store.models import DEFAULT_TENANT, DeadLetter
    from hub.workflow.service import ensure_config

    upgrade(database_url)
    uow = UnitOfWorkFactory(make_engine(database_url), SystemClock())
    ensure_default_tenant(uow)
    with uow(Cause.action(tenant=DEFAULT_TENANT)) as u:
        ensure_config(u)
    records, errors = parse_lines(
        json.dumps({"kind": "enrollment", **r}) for r in mix.enrollment_records()
    )
    if errors:
        raise RuntimeError(errors)
    load(uow, records, tenant=DEFAULT_TENANT)
    preloaded = len(records)

    def settled() -> tuple[int, int]:
        with uow.engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(EnrollmentRow)).scalar_one()
            dead = conn.execute(select(func.count()).select_from(DeadLetter)).scalar_one()
        return int(rows) - preloaded, int(dead)

    return settled


def _hub_target(broker: str, broker_url: str, database_url: str) -> Target:
    return Target(
        broker,
        broker_url,
        database_url,
        [sys.executable, "-m", "hub", "run"],
        {
            "HUB_BROKER_URL": broker_url,
            "HUB_DATABASE_URL": database_url,
            "HUB_LOG_LEVEL": "INFO",
            "HUB_HTTP_PORT": "0",
        },
    )


@contextmanager
def hub_site(
    broker: str,
    workdir: Path,
    *,
    amqp_url: str,
    pg_url: str,
    kafka_url: str | None = None,
    cluster_url: str | None = None,
) -> Iterator[tuple[str, str]]:
    """A broker URL and a fresh database URL for ``broker``; cleaned up afterwards. Kafka
    without ``kafka_url`` is librdkafka's mock cluster inside this process; ``rabbitmq-cluster``
    without ``cluster_url`` is the local 3-node cluster (``deploy/rabbitmq/local-cluster.sh``)."""
    from consumers import ALL

    queues = [c.queue for c in ALL]
    if broker in {"rabbitmq", "rabbitmq-cluster"}:
        if broker == "rabbitmq-cluster":
            amqp_url = cluster_url or CLUSTER_URL
        clear_queues(amqp_url, [TAP, BASELINE_QUEUE, *queues])
        try:
            with fresh_postgres(pg_url) as db:
                yield amqp_url, db
        finally:
            clear_queues(amqp_url, [TAP, *queues])
    elif broker == "embedded":
        yield f"sqla+sqlite:///{workdir / 'broker.sqlite'}", f"sqlite:///{workdir / 'hub.sqlite'}"
    elif broker == "kafka":
        from hub.bench.kafka import kafka_cluster

        with kafka_cluster(kafka_url) as url, fresh_postgres(pg_url) as db:
            yield url, db
    else:
        raise ValueError(f"no benchmark mode for broker {broker!r}")


def run_hub(
    broker: str,
    mix: Mix,
    *,
    amqp_url: str,
    pg_url: str,
    workers: int,
    rate: float,
    timeout: float,
    workdir: Path,
    kafka_url: str | None = None,
    cluster_url: str | None = None,
    stop_leader_after: float | None = None,
    warmup: int = 0,
) -> Result:
    from consumers import ALL

    site = hub_site(
        broker,
        workdir,
        amqp_url=amqp_url,
        pg_url=pg_url,
        kafka_url=kafka_url,
        cluster_url=cluster_url,
    )
    with site as (broker_url, db):
        transport = transport_for(broker_url)
        transport.setup({**{c.queue: c.event_types for c in ALL}, TAP: list(ANSWERS)})
        transport.close()
        loss = None
        if stop_leader_after is not None and broker == "rabbitmq-cluster":
            from hub.bench.cluster import LeaderLoss

            loss = LeaderLoss(broker_url, "hub.finance-agreements")
        try:
            return measure(
                "hub",
                _hub_target(broker, broker_url, db),
                mix,
                workers=workers,
                rate=rate,
                timeout=timeout,
                settled=_prepare_hub_store(db, mix),
                workdir=workdir,
                fault=loss,
                fault_after=stop_leader_after or 0.0,
                fault_name=f"leader stopped at {stop_leader_after}s" if loss else "",
                warmup=warmup,
            )
        finally:
            if loss is not None:
                loss.restore()


def run_loop(
    loop: str,
    mix: Mix,
    *,
    amqp_url: str,
    pg_url: str,
    workers: int,
    rate: float,
    timeout: float,
    workdir: Path,
    warmup: int = 0,
) -> Result:
    """One of the hand-written loops: ``baseline`` (per message) or ``limit`` (batched)."""
    from hub.bench import baseline

    clear_queues(amqp_url, [TAP, BASELINE_QUEUE])
    with fresh_postgres(pg_url) as db:
        dsn = _dsn(db)
        baseline.preload(dsn, mix.enrollment_records())
        transport = transport_for(amqp_url)
        transport.setup({BASELINE_QUEUE: INBOUND, TAP: list(ANSWERS)})
        transport.close()
        target = Target(
            "rabbitmq",
            amqp_url,
            db,
            [sys.executable, "-m", f"hub.bench.{loop}", amqp_url, dsn, BASELINE_QUEUE],
        )
        preloaded = len(mix.enrollment_records())

        def settled() -> tuple[int, int]:
            c = baseline.counts(dsn)
            return c["enrollments"] - preloaded, c["dead"]

        try:
            return measure(
                loop,
                target,
                mix,
                workers=workers,
                rate=rate,
                timeout=timeout,
                settled=settled,
                workdir=workdir,
                warmup=warmup,
            )
        finally:
            clear_queues(amqp_url, [TAP, BASELINE_QUEUE])


def bench(
    *,
    brokers: list[str],
    amqp_url: str,
    pg_url: str,
    events: int,
    workers: int | Sequence[int],
    duplicates: float,
    rate: float,
    timeout: float,
    baseline: bool = True,
    kafka_url: str | None = None,
    cluster_url: str | None = None,
    stop_leader_after: float | None = None,
    workloads: Sequence[str] = ("mix",),
    warmup: int = 0,
) -> dict[str, object]:
    """Each workload through each broker mode with each worker count, and the two hand-written
    loops beside them, in one run; ratios side by side: hub/baseline, hub/limit, N workers/1
    worker, cluster/single node."""
    counts = [workers] if isinstance(workers, int) else list(workers)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        for workload in workloads:
            for count in counts:
                runs: list[tuple[str, Callable[..., Result]]] = [
                    (
                        broker,
                        partial(
                            run_hub,
                            broker,
                            kafka_url=kafka_url,
                            cluster_url=cluster_url,
                            stop_leader_after=stop_leader_after,
                        ),
                    )
                    for broker in brokers
                ]
                runs += [(loop, partial(run_loop, loop)) for loop in (LOOPS if baseline else ())]
                for name, run in runs:
                    workdir = Path(tmp) / f"{workload}-{name}-{count}"
                    workdir.mkdir()
                    tag = f"{name}-{uuid.uuid4().hex[:6]}"
                    results.append(
                        run(
                            Mix(events, duplicates, tag=tag, workload=workload),
                            amqp_url=amqp_url,
                            pg_url=pg_url,
                            workers=count,
                            rate=rate,
                            timeout=timeout,
                            workdir=workdir,
                            warmup=warmup,
                        )
                    )
    ratios = _ratios(results)
    return {
        "results": [asdict(r) for r in results],
        "throughput_ratio": ratios,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
    }


def _ratios(results: Sequence[Result]) -> dict[str, float]:
    """Throughput ratios between results of the same run and workload."""
    rate = {(r.mode, r.broker, r.workers, r.workload): r.events_per_s for r in results}
    out: dict[str, float] = {}
    for (mode, broker, count, workload), value in rate.items():
        if mode != "hub":
            continue
        for loop in LOOPS:
            base = rate.get((loop, "rabbitmq", count, workload))
            if base:
                out[f"{broker}/{loop} {count}w {workload}"] = round(value / base, 3)
        one = rate.get(("hub", broker, 1, workload))
        if one and count != 1:
            out[f"{broker} {count}w/1w {workload}"] = round(value / one, 3)
        single = rate.get(("hub", "rabbitmq", count, workload))
        if broker == "rabbitmq-cluster" and single:
            out[f"rabbitmq-cluster/rabbitmq {count}w {workload}"] = round(value / single, 3)
    return out
