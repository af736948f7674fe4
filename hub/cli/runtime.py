"""``hub run``, ``hub publish``, ``hub queues``: the message runtime's verbs (``hub dlq`` is in
``hub.cli.dlq``)."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from hub.bootstrap import apply_workflow_config, build
from hub.cli.common import (
    BY_OPTION,
    TENANT_OPTION,
    actor_of,
    allow,
    console,
    fail,
    print_json,
    settings,
    tenant_store,
)
from hub.errors import HubError, InvalidMessage
from hub.logs import configure_logging
from hub.runtime.transport import EVENTS_EXCHANGE, Outgoing, Unroutable
from hub.runtime.transports import transport_for
from hub.runtime.uow import UnitOfWorkFactory
from hub.settings import Settings, redact
from hub.store.db import make_engine, upgrade
from hub.store.models import DEFAULT_TENANT
from schemas import decode
from schemas.bounds import Limits, load_json


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(publish)
    app.command()(queues)


def run(
    no_consume: bool = typer.Option(False, "--no-consume", help="Run the relay and timers only."),
    no_http: bool = typer.Option(
        False, "--no-http", help="No web console, API or /metrics in this process."
    ),
    tenant: str | None = typer.Option(
        None,
        "--tenant",
        metavar="T",
        help="The tenant HUB_WORKFLOW_CONFIG (or the demo) is applied to; the consumers serve "
        "every tenant (default: HUB_TENANT, else 'default').",
    ),
) -> None:
    """Start everything a site needs in the foreground; Ctrl-C or SIGTERM stops gracefully."""
    s = settings() if tenant is None else settings().model_copy(update={"tenant": tenant})
    configure_logging(s.log_level, s.log_format)
    log = logging.getLogger("hub")
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("stopping (%s): finishing in-flight messages", signal.Signals(signum).name)
        stop.set()

    # before start-up, so that a stop asked for while starting is a clean stop too
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    observer = None
    if not no_http:
        from hub.web.metrics import MetricsObserver

        observer = MetricsObserver()
    hub = build(s, observer=observer)
    version = apply_workflow_config(hub)
    try:
        hub.setup()
    except HubError:
        hub.close()
        raise
    except Exception as e:  # a driver's error its adapter did not translate (a timeout, say)
        hub.close()
        why = str(e).strip() or "no answer in time"
        fail(
            f"the broker at {redact(s.effective_broker_url)} did not declare the hub's "
            f"topology: {type(e).__name__}: {why}"
        )
    if stop.is_set():
        hub.close()
        log.info("hub stopped")
        return
    web = None
    if not no_http:
        from hub.web.server import WebServer

        web = WebServer(hub, s.http_host, s.http_port)
        log.info("web console and API on %s", web.start())
    hub.start(stop, consume=not no_consume)
    log.info(
        "hub running: broker %s, database %s, workflow configuration v%d, consumers %s",
        redact(s.effective_broker_url),
        redact(s.effective_database_url),
        version,
        ", ".join(c.name for c in hub.consumers) or "none",
    )
    ended: list[str] = []
    while not stop.wait(0.5):
        ended = hub.ended_threads()
        if ended:  # exit, so that the supervisor starts a whole hub again
            log.error("stopping: %s ended by an error (logged above)", ", ".join(ended))
            stop.set()
    if web is not None:
        web.stop()
    hub.join()
    hub.close()
    log.info("hub stopped")
    if ended:
        raise typer.Exit(1)


def publish(
    source: str = typer.Argument(
        ..., help="A JSON file with one event or an array, or - for stdin."
    ),
    raw: bool = typer.Option(False, "--raw", help="Send as given, without validating (tests)."),
    routing_key: str | None = typer.Option(
        None, "--routing-key", help="Route by this key instead of each event's type."
    ),
    tenant: str | None = typer.Option(
        None, "--tenant", metavar="T", help="The tenantid of events that name none."
    ),
) -> None:
    """Publish CloudEvents to hub.events as a producer would (publisher confirms)."""
    s = settings()
    text = _read_bounded(source, MAX_PUBLISH_INPUT)
    events = _parse_events(text, raw, s.limits, tenant or (s.tenant if not raw else None))
    url = s.effective_broker_url
    if url.startswith(("amqp", "pyamqp")):
        from producers.publisher import Publisher, PublishFailed
        from producers.publisher import Unroutable as NotRouted

        try:
            with Publisher(url) as pub:
                for body in events:
                    pub.publish(body, validate=not raw, routing_key=routing_key)
        except NotRouted as e:
            fail(f"{e} ({not_routed_hint(url, s)})")
        except PublishFailed as e:
            fail(str(e))
    else:
        transport = transport_for(url)
        try:
            transport.publish([_outgoing(b, routing_key) for b in events], mandatory=True)
        except Unroutable as e:
            fail(f"{e} ({not_routed_hint(url, s)})")
        finally:
            transport.close()
    typer.echo(f"published {len(events)} event(s)")


#: Largest input of ``hub publish`` (a file or stdin holding one event or an array of them).
MAX_PUBLISH_INPUT = 64 << 20


def not_routed_hint(url: str, s: Settings) -> str:
    """What to do about an event no queue took: start the hub when none of its queues has a
    consumer; otherwise no consumer of the running hub (nor anyone else) handles its type."""
    from hub.bootstrap import default_consumers

    try:
        transport = transport_for(url)
        try:
            stats = transport.stats([c.queue for c in default_consumers(s.consumers)])
        finally:
            transport.close()
    except Exception:  # the hint only: the refusal itself is the answer
        stats = []
    if any(q.consumers for q in stats):
        return (
            "the hub is running, but none of its consumers handles this type and no other "
            "queue is bound to it: check the event's type"
        )
    return "no hub consumer runs: start `hub run` once, which declares the hub's queues"


def _read_bounded(source: str, limit: int) -> str:
    """The text of ``source`` (a path, or ``-`` for stdin), refused beyond ``limit`` bytes."""
    try:
        if source == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with Path(source).open("rb") as f:
                data = f.read(limit + 1)
    except OSError as e:
        fail(f"cannot read {source}: {e.strerror}")
    if len(data) > limit:
        fail(f"{source}: more than {limit} bytes; publish it in several parts")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"{source}: not UTF-8 text ({e})")


def _parse_events(text: str, raw: bool, limits: Limits, tenant: str | None = None) -> list[bytes]:
    try:
        obj = load_json(text, Limits(max_bytes=MAX_PUBLISH_INPUT, max_depth=limits.max_depth + 1))
    except InvalidMessage as e:
        if raw:
            return [text.encode()]
        fail(f"not JSON: {e}")
    items = obj if isinstance(obj, list) else [obj]
    if tenant is not None and tenant != DEFAULT_TENANT:  # stamp the events that name none
        items = [
            {**i, "tenantid": i.get("tenantid") or tenant} if isinstance(i, dict) else i
            for i in items
        ]
    bodies = [json.dumps(i).encode() for i in items]
    if not raw:
        for n, body in enumerate(bodies):
            try:
                decode(body, limits)
            except InvalidMessage as e:
                fail(f"event {n}: {e}", [f"event {n}: {p}" for p in e.problems])
    return bodies


def _outgoing(body: bytes, routing_key: str | None = None) -> Outgoing:
    try:
        obj = json.loads(body)
        event_id, event_type = str(obj.get("id", "")), str(obj.get("type", "unknown"))
        subject = obj.get("subject")
    except (ValueError, AttributeError):
        event_id, event_type, subject = "", "unknown", None
    return Outgoing(EVENTS_EXCHANGE, routing_key or event_type, body, event_id, {}, subject)


def queues(
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    interval: float = typer.Option(
        1.0, min=0, help="Seconds between two depth samples for the inbound rate (0: skip it)."
    ),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Each hub queue's depth, consumers, in-flight messages and in/out rates, and the outbox;
    on Kafka also the lag per partition and the streaming view (counts and latency per window)."""
    import time

    from hub.bootstrap import default_consumers
    from hub.runtime.overview import RateSampler, outbox_backlog, queue_rows

    s = settings()
    with tenant_store(tenant) as (uow, chosen):
        allow(uow, chosen, actor_of(by), "operations", "view")
        if chosen != DEFAULT_TENANT:
            fail(
                "the broker's queues are the installation's: only the default tenant's "
                "operators see them (`hub dlq list` and the console show a tenant's own)"
            )
        transport = transport_for(s.effective_broker_url)
        names = [c.queue for c in default_consumers(s.consumers)]
        sampler = RateSampler()
        try:
            if interval > 0:
                for q in transport.stats(names):
                    sampler.in_rate(q, 0.0)
                time.sleep(interval)
            rows = queue_rows(uow, transport, names, sampler)
        finally:
            transport.close()
        outbox = outbox_backlog(uow)
    stream = _streaming_view(s.effective_broker_url, names)
    if json_out:
        print_json(
            {"queues": rows, "outbox": outbox, **({"stream": stream} if stream is not None else {})}
        )
        return
    table = Table("queue", "depth", "consumers", "in flight", "oldest (s)", "in/s", "out/s")
    for r in rows:
        table.add_row(
            str(r["queue"]),
            str(r["depth"]),
            _opt(r["consumers"]),
            _opt(r["in_flight"]),
            _opt(r["oldest_age_s"], "{:.1f}"),
            _opt(r["in_per_s"], "{:.2f}"),
            _opt(r["out_per_s"], "{:.2f}"),
        )
    console.print(table)
    console.print(
        f"outbox: {outbox['due']} due, {outbox['scheduled']} scheduled "
        f"({outbox['retries']} retries)"
    )
    if any(r.get("partitions") for r in rows) or stream is not None:
        from hub.cli.kafka import print_kafka_view

        print_kafka_view(rows, stream or [])


def _streaming_view(url: str, queues: list[str]) -> list[dict[str, Any]] | None:
    """The Kafka streaming view (windows of counts and latency), or None on other brokers."""
    if not url.startswith("kafka://"):
        return None
    from hub.runtime.transports.kafka.view import read_view

    return [asdict(w) for w in read_view(url, queues)]


def _opt(value: Any, fmt: str = "{}") -> str:
    return "-" if value is None else fmt.format(value)


def _uow() -> UnitOfWorkFactory:
    url = settings().effective_database_url
    upgrade(url)
    return UnitOfWorkFactory(make_engine(url))
