"""Worker processes for the fault-injection tests: ``hub run`` with the hub's own consumers."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _tier
from tests.faults.workload import CONSUMERS
from tests.support.process import hub_env, start_hub, stop


class Workers:
    """``hub run`` processes against one tier; each can be killed and started again."""

    def __init__(self, tier: dict[str, str], log: Path, **env: str) -> None:
        self.env = hub_env(tier, **{"HUB_CONSUMERS": CONSUMERS, **env})
        self.log = log
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []
        self.started = 0

    def _spawn(self) -> tuple[subprocess.Popen[bytes], Path]:
        self.started += 1
        log = self.log.with_name(f"{self.log.stem}-{self.started}.log")
        return start_hub(self.env, log), log

    def start(self, count: int = 1) -> None:
        for _ in range(count):
            proc, log = self._spawn()
            self.procs.append(proc)
            self.logs.append(log)

    def kill(self, index: int) -> None:
        """SIGKILL worker ``index`` and start a new one in its place."""
        proc = self.procs[index]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        self.procs[index], self.logs[index] = self._spawn()

    def wait_running(self, timeout: float = 60) -> None:
        """Wait until every worker has started its consumers."""
        deadline = time.monotonic() + timeout
        for log in self.logs:
            while "hub running" not in (log.read_text(errors="replace") if log.exists() else ""):
                self.alive()
                if time.monotonic() > deadline:
                    raise AssertionError(f"a worker did not start:\n{self.tail()}")
                time.sleep(0.1)

    def alive(self) -> None:
        for proc in self.procs:
            code = proc.poll()
            if code is not None:
                raise AssertionError(f"a worker exited with {code}:\n{self.tail()}")

    def tail(self, chars: int = 4000) -> str:
        return "\n".join(
            f"--- {log.name}\n" + log.read_text(errors="replace")[-chars:]
            for log in self.logs
            if log.exists()
        )

    def stop_all(self) -> list[int]:
        """SIGTERM every worker once it runs; their exit codes (0: a graceful stop)."""
        self.wait_running()
        try:
            codes = [stop(p) for p in self.procs]
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"a worker did not stop: {e}\n{self.tail()}") from None
        self.procs.clear()
        return codes


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[type[Workers]]:
    """The ``Workers`` class; every worker started through it is stopped at the end."""
    started: list[Workers] = []

    class Tracked(Workers):
        def __init__(self, tier: dict[str, str], log: Path | None = None, **env: str) -> None:
            super().__init__(tier, log or tmp_path / "hub.log", **env)
            started.append(self)

    yield Tracked
    for w in started:
        for proc in w.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


@pytest.fixture(params=["embedded", "production"])
def broker_tier(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The embedded and RabbitMQ tiers, for faults whose handling does not depend on the broker
    (a mail server down, a flood of duplicates) or whose Kafka case has its own test (a poison
    message: ``tests/e2e/test_hub_process.py``). Workers killed at random run on Kafka too."""
    with _tier(request.param, tmp_path) as urls:
        yield urls
