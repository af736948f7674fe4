"""Run ``hub`` as a separate process, as a user does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from hub.runtime.transport import Delivery
from hub.runtime.transports import transport_for

ROOT = Path(__file__).resolve().parents[2]


def hub_env(tier: dict[str, str], **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("HUB_") or k.startswith("HUB_TEST_")
    }
    env.update(
        {
            "HUB_BROKER_URL": tier["broker_url"],
            "HUB_DATABASE_URL": tier["database_url"],
            "PYTHONPATH": str(ROOT),
            "HUB_LOG_LEVEL": os.environ.get("HUB_TEST_LOG_LEVEL", "INFO"),
            # a free port: several test runs share this machine
            "HUB_HTTP_PORT": "0",
        }
    )
    env.update(extra)
    return env


def start_hub(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "hub", "run", *args],
        env=env,
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    return proc.wait(timeout)


Drained = list[tuple[str, bytes]]  # (message id, body) of each message taken


def drain(
    broker_url: str,
    queue: str,
    until: Callable[[Drained], bool],
    limit: float = 60,
) -> Drained:
    """Take (and acknowledge) the messages of ``queue`` until ``until(taken)`` holds and the
    queue has nothing left, or ``limit`` seconds pass: what was taken. Nothing is inferred from
    a quiet moment: the queue itself says when it is empty (once this consumer has stopped,
    anything it had not yet taken is back in the queue, and is taken in the next round)."""
    taken: Drained = []
    deadline = time.monotonic() + limit
    while True:
        left = _drain_round(broker_url, queue, until, taken, deadline)
        if (until(taken) and left == 0) or time.monotonic() >= deadline:
            return taken


def _drain_round(
    broker_url: str,
    queue: str,
    until: Callable[[Drained], bool],
    taken: Drained,
    deadline: float,
) -> int:
    """One consumer's round of ``drain``; returns what the queue holds once it has stopped."""
    transport = transport_for(broker_url)
    stop_event = threading.Event()

    def collect(d: Delivery) -> None:
        taken.append((d.message_id or "", d.body))
        d.ack()

    thread = threading.Thread(
        target=lambda: transport.consume([queue], collect, prefetch=100, stop=stop_event),
        daemon=True,
    )
    thread.start()
    try:
        while time.monotonic() < deadline:
            if until(taken) and transport.stats([queue])[0].depth == 0:
                break
            time.sleep(0.1)
    finally:
        stop_event.set()
        thread.join(10)
    try:
        return transport.stats([queue])[0].depth
    finally:
        transport.close()


def drain_ids(
    broker_url: str, queue: str, expect: int | Collection[str], limit: float = 60
) -> list[str]:
    """Every message id waiting in ``queue`` (taken and acknowledged), once ``expect`` (a
    number of distinct ids, or the ids themselves) have been seen and the queue is empty; after
    ``limit`` seconds, what was seen (the caller's assertion says what is missing)."""

    def enough(taken: Drained) -> bool:
        seen = {mid for mid, _ in taken}
        return len(seen) >= expect if isinstance(expect, int) else set(expect) <= seen

    return [mid for mid, _ in drain(broker_url, queue, enough, limit)]


def queue_counts(broker_url: str, queues: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Per queue: messages waiting and messages delivered but not yet settled. RabbitMQ tells
    the second only through ``rabbitmqctl``; Kafka has lag (settled = committed) instead."""
    if broker_url.startswith("amqp"):
        vhost = unquote(urlsplit(broker_url).path.lstrip("/")) or "/"
        out = subprocess.run(
            [
                "rabbitmqctl",
                "list_queues",
                "-p",
                vhost,
                "-q",
                "--no-table-headers",
                "name",
                "messages_ready",
                "messages_unacknowledged",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        found = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] in queues:
                found[parts[0]] = (int(parts[1]), int(parts[2]))
        return {q: found.get(q, (0, 0)) for q in queues}
    transport = transport_for(broker_url)
    try:
        return {s.name: (s.depth, s.in_flight or 0) for s in transport.stats(list(queues))}
    finally:
        transport.close()


def wait_settled(broker_url: str, queues: Sequence[str], timeout: float = 60) -> None:
    """Wait until every message of ``queues`` was settled (handled, retried or dead-lettered,
    then acknowledged): none waiting, none delivered and unsettled."""
    deadline = time.monotonic() + timeout
    counts: dict[str, tuple[int, int]] = {}
    while time.monotonic() < deadline:
        counts = queue_counts(broker_url, queues)
        if all(c == (0, 0) for c in counts.values()):
            return
        time.sleep(0.2)
    raise AssertionError(f"queues not settled after {timeout}s (waiting, unsettled): {counts}")


def run_cli(
    env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
