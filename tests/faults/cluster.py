"""The local 3-node RabbitMQ cluster (``deploy/rabbitmq/local-cluster.sh``) as the fault tests
drive it: start it once, give each test a vhost of its own, find a queue's leader, stop and
start nodes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.services import IN_CI, answers

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "rabbitmq" / "local-cluster.sh"
PORT_BASE = int(os.environ.get("HUB_RMQ_PORT_BASE", "5680"))
NODES = (1, 2, 3)


def node_name(n: int) -> str:
    return f"hub-rmq{n}@localhost"


def why_it_cannot_start() -> str | None:
    """Why this machine cannot run the cluster, or ``None``."""
    if shutil.which("rabbitmq-server") is None and not Path("/usr/lib/rabbitmq/bin").is_dir():
        return "RabbitMQ is not installed"
    if os.geteuid() != 0:
        return "the cluster's nodes run as the rabbitmq user: starting them needs root"
    try:
        import pwd

        pwd.getpwnam("rabbitmq")
    except KeyError:
        return "there is no rabbitmq user"
    return None


class LocalCluster:
    def __init__(self) -> None:
        self.started_here = False

    def script(self, *args: str, timeout: float = 240) -> str:
        out = subprocess.run(
            ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout
        )
        if out.returncode != 0:
            raise RuntimeError(f"local-cluster.sh {' '.join(args)}: {out.stderr.strip()[-2000:]}")
        return out.stdout

    def ctl(self, n: int, *args: str, timeout: float = 120) -> str:
        return self.script("ctl", str(n), "-q", *args, timeout=timeout)

    def running(self) -> list[int]:
        return [n for n in NODES if answers("127.0.0.1", PORT_BASE + n)]

    def start(self) -> None:
        if len(self.running()) < len(NODES):
            self.started_here = True
        self.script("start", timeout=400)

    def url(self, vhost: str) -> str:
        return self.script("urls", vhost).strip()

    @contextmanager
    def vhost(self) -> Iterator[str]:
        """A fresh vhost on the cluster for guest; yields the cluster's failover URL for it."""
        self.heal()
        name = "hub-cluster-" + uuid.uuid4().hex[:8]
        self.ctl(1, "add_vhost", name)
        self.ctl(1, "set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        try:
            yield self.url(name)
        finally:
            try:
                self.ctl(self.running()[0], "delete_vhost", name)
            except Exception:
                pass

    def queues(self, vhost: str) -> list[dict[str, object]]:
        n = self.running()[0]
        rows = json.loads(
            self.ctl(n, "list_queues", "-p", vhost, "name", "leader", "members", "online",
                     "--formatter", "json")
        )
        return list(rows)

    def leader(self, vhost: str, queue: str) -> int:
        row = next(r for r in self.queues(vhost) if r["name"] == queue)
        return int(str(row["leader"]).split("@")[0].removeprefix("hub-rmq"))

    def stop_node(self, n: int) -> None:
        """Stop node ``n``; one that has not stopped within a minute (a loaded machine) is
        killed, which the hub must survive just the same."""
        try:
            self.script("stop-node", str(n), timeout=60)
        except (RuntimeError, subprocess.TimeoutExpired):
            self.script("kill-node", str(n), timeout=30)
        deadline = time.monotonic() + 30
        while n in self.running():
            if time.monotonic() > deadline:
                raise AssertionError(f"node {n} still answers after being stopped and killed")
            time.sleep(0.2)

    def heal(self) -> None:
        """Bring back every node a test left stopped (a failed test does not undo its fault)."""
        for n in NODES:
            if n not in self.running():
                self.start_node(n)

    def start_node(self, n: int) -> None:
        self.script("start-node", str(n), timeout=240)

    def wait_all_online(self, vhost: str, queues: Sequence[str], timeout: float = 90) -> None:
        """Wait until each queue has all three members online (its replicas caught up)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = {str(r["name"]): r for r in self.queues(vhost)}
            if all(len(rows.get(q, {}).get("online", [])) == len(NODES) for q in queues):  # type: ignore[arg-type]
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"queue members not all online after {timeout}s: {rows}")
            time.sleep(0.5)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """The local cluster, started once for the module (and stopped again if it started it);
    skipped with the reason where it cannot start, a failure under ``CI=true``."""
    reason = why_it_cannot_start()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"the local RabbitMQ cluster cannot start: {reason}", pytrace=False)
        pytest.skip(f"the local RabbitMQ cluster cannot start: {reason}")
    c = LocalCluster()
    try:
        c.start()
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        if IN_CI:
            pytest.fail(f"the local RabbitMQ cluster did not start: {e}", pytrace=False)
        pytest.skip(f"the local RabbitMQ cluster did not start: {e}")
    yield c
    if c.started_here:
        c.script("stop", timeout=240)
    else:
        c.heal()  # leave it as it was found: every node up
