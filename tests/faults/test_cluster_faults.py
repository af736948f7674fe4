"""The hub on a 3-node RabbitMQ cluster (quorum queues replicated on every node) while nodes
fail: the leader of its queues stops, a follower stops and comes back, all three restart one at
a time, and PostgreSQL restarts. Each run ends with the workload's audit: nothing lost, no
effect twice.

The cluster is ``deploy/rabbitmq/local-cluster.sh``, started once for the module; where it
cannot start the tests are skipped with the reason (a failure under ``CI=true``). Run them, as
every fault test, under the exclusive lock: ``flock -x /tmp/hub-services.lock pytest ...``.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hub.runtime.broker_url import parse_amqp
from tests.faults.cluster import NODES, LocalCluster, cluster
from tests.faults.test_service_faults import _publish_through_outages
from tests.faults.workload import Workload

__all__ = ["cluster"]  # the module's fixture
HUB_QUEUES = ["hub.finance-agreements", "hub.edu-refdata", "hub.edu-requests"]
#: Long enough for a fault to land while events still arrive.
PUBLISH_SECONDS = 12.0


@pytest.fixture
def cluster_url(cluster: LocalCluster) -> Iterator[str]:
    with cluster.vhost() as url:
        yield url


def vhost_of(url: str) -> str:
    return parse_amqp(url)[0].vhost


def run_with_fault(
    url: str,
    postgres_url: str,
    workers: type,
    fault: Callable[[], None],
    *,
    publish_seconds: float = PUBLISH_SECONDS,
) -> None:
    """The workload under way on the cluster with two workers; ``fault`` runs once a tenth of
    it is handled, then the run goes to its end and is audited."""
    work = Workload(agreements=100, requests=30, upserts=20)
    work.prepare(url, postgres_url)
    pool = workers(
        {"broker_url": url, "database_url": postgres_url},
        HUB_RETRY_BASE_DELAY="0.2",
        HUB_RETRY_MAX_DELAY="2",
    )
    pool.start(2)
    pool.wait_running()
    publisher = _publish_through_outages(work, url, rate=work.size / publish_seconds)
    deadline = time.monotonic() + 60
    while work.settled(postgres_url)[0] < work.expected_settled // 10:
        pool.alive()
        assert time.monotonic() < deadline, "the run did not get under way"
        time.sleep(0.1)
    fault()
    publisher.join(180)
    assert not publisher.is_alive(), "the producer could not publish through the fault"
    work.wait_settled(postgres_url, timeout=180, alive=pool.alive)
    assert pool.stop_all() == [0, 0], pool.tail()
    work.audit(url, postgres_url)


@pytest.mark.disruptive
@pytest.mark.timeout(300, func_only=True)
def test_the_leader_of_the_hubs_queues_stops_mid_run(
    cluster: LocalCluster, cluster_url: str, postgres_url: str, workers: type
) -> None:
    vhost = vhost_of(cluster_url)
    stopped: list[int] = []

    def stop_the_leader() -> None:
        replicas = {str(r["name"]): r["members"] for r in cluster.queues(vhost)}
        assert all(len(replicas[q]) == len(NODES) for q in HUB_QUEUES), replicas  # type: ignore[arg-type]
        leader = cluster.leader(vhost, "hub.finance-agreements")
        cluster.stop_node(leader)
        stopped.append(leader)

    try:
        run_with_fault(cluster_url, postgres_url, workers, stop_the_leader)
        assert stopped
        assert cluster.leader(vhost, "hub.finance-agreements") != stopped[0]
    finally:
        for n in stopped:
            cluster.start_node(n)
    cluster.wait_all_online(vhost, HUB_QUEUES)


@pytest.mark.disruptive
@pytest.mark.timeout(300, func_only=True)
def test_a_follower_stops_and_comes_back_mid_run(
    cluster: LocalCluster, cluster_url: str, postgres_url: str, workers: type
) -> None:
    vhost = vhost_of(cluster_url)
    done = threading.Event()

    def stop_a_follower_then_bring_it_back() -> None:
        leader = cluster.leader(vhost, "hub.finance-agreements")
        follower = next(n for n in NODES if n != leader)
        cluster.stop_node(follower)
        try:
            time.sleep(2)  # events flow on two nodes meanwhile (no assertion rests on it)
        finally:
            cluster.start_node(follower)
        done.set()

    run_with_fault(cluster_url, postgres_url, workers, stop_a_follower_then_bring_it_back)
    assert done.is_set()
    cluster.wait_all_online(vhost, HUB_QUEUES)


@pytest.mark.disruptive
@pytest.mark.timeout(420, func_only=True)
def test_a_rolling_restart_of_all_three_nodes_mid_run(
    cluster: LocalCluster, cluster_url: str, postgres_url: str, workers: type
) -> None:
    vhost = vhost_of(cluster_url)
    restarted: list[int] = []

    def rolling_restart() -> None:
        for n in NODES:
            # as an operator does: only stop a node whose loss leaves every queue a quorum
            cluster.script("upgrade", str(n), "-q", "await_online_quorum_plus_one", "-t", "120")
            cluster.stop_node(n)
            cluster.start_node(n)
            cluster.wait_all_online(vhost, HUB_QUEUES)
            restarted.append(n)

    run_with_fault(
        cluster_url, postgres_url, workers, rolling_restart, publish_seconds=PUBLISH_SECONDS * 2
    )
    assert restarted == list(NODES)


def _postgres_cluster() -> list[str]:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]


@pytest.mark.disruptive
@pytest.mark.postgres
@pytest.mark.timeout(300, func_only=True)
def test_postgresql_restarted_fully_mid_run(
    cluster: LocalCluster, cluster_url: str, postgres_url: str, workers: type
) -> None:
    if not Path("/etc/postgresql").is_dir():
        pytest.skip("PostgreSQL here is not a Debian cluster (pg_ctlcluster)")

    def restart_postgresql() -> None:
        subprocess.run([*_postgres_cluster(), "restart"], check=True, capture_output=True, timeout=120)

    run_with_fault(cluster_url, postgres_url, workers, restart_postgresql)
