"""The local 3-node RabbitMQ cluster (``deploy/rabbitmq/local-cluster.sh``) for the benchmark:
its URL, and a node loss on demand (the leader of a queue stopped mid-run, then started again).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from hub.runtime.broker_url import parse_amqp

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "rabbitmq" / "local-cluster.sh"
#: ``local-cluster.sh urls``: the three nodes on 127.0.0.1:5681..5683, default vhost.
CLUSTER_URL = ";".join(f"amqp://guest:guest@127.0.0.1:{5680 + n}/%2F" for n in (1, 2, 3))


def _script(*args: str, timeout: float = 240) -> str:
    out = subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout
    )
    if out.returncode != 0:
        raise RuntimeError(f"local-cluster.sh {' '.join(args)}: {out.stderr.strip()[-500:]}")
    return out.stdout


def node_of(host_port: int) -> int:
    return host_port - 5680


class LeaderLoss:
    """Stops the node leading ``queue`` (on ``url``'s vhost) when called; ``restore`` starts
    it again and waits until it is back in the cluster."""

    def __init__(self, url: str, queue: str) -> None:
        self.vhost = parse_amqp(url)[0].vhost
        self.queue = queue
        self.stopped: int | None = None

    def leader(self) -> int:
        for n in (1, 2, 3):
            try:
                rows = json.loads(
                    _script("ctl", str(n), "-q", "list_queues", "-p", self.vhost, "name",
                            "leader", "--formatter", "json")
                )
            except RuntimeError:
                continue
            for row in rows:
                if row["name"] == self.queue:
                    return int(str(row["leader"]).split("@")[0].removeprefix("hub-rmq"))
        raise RuntimeError(f"no node of the local cluster knows {self.queue!r}")

    def __call__(self) -> None:
        self.stopped = self.leader()
        _script("stop-node", str(self.stopped))

    def restore(self) -> None:
        if self.stopped is not None:
            _script("start-node", str(self.stopped))
            self.stopped = None
