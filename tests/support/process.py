"""Run ``hub`` as a separate process, as a user does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

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
            "HUB_LOG_LEVEL": "INFO",
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


def drain_ids(broker_url: str, queue: str, quiet: float = 1.5, limit: float = 60) -> list[str]:
    """Every message id waiting in ``queue`` (consumed and acknowledged)."""
    transport = transport_for(broker_url)
    ids: list[str] = []
    last = [time.monotonic()]
    stop_event = threading.Event()

    def collect(d: Delivery) -> None:
        ids.append(d.message_id or "")
        last[0] = time.monotonic()
        d.ack()

    thread = threading.Thread(
        target=lambda: transport.consume([queue], collect, prefetch=100, stop=stop_event),
        daemon=True,
    )
    # a Kafka consumer group needs a few seconds to join before its first message
    first_within = 20.0 if broker_url.startswith("kafka") else quiet
    thread.start()
    started = time.monotonic()
    while (
        time.monotonic() - last[0] < (quiet if ids else first_within)
        and time.monotonic() - started < limit
    ):
        time.sleep(0.1)
    stop_event.set()
    thread.join(10)
    transport.close()
    return ids


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
