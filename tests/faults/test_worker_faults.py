"""Workers killed at random points, and floods of duplicates, during a realistic run."""

from __future__ import annotations

import random
import threading
import time

import pytest

from tests.faults.workload import Workload


@pytest.mark.timeout(240)
def test_workers_killed_at_random_points_lose_and_duplicate_nothing(
    process_tier: dict[str, str], workers: type, tmp_path: object
) -> None:
    work = Workload(agreements=200)
    work.prepare(process_tier["broker_url"], process_tier["database_url"])
    pool = workers(process_tier)
    pool.start(2)
    rnd = random.Random(work.seed)
    publisher = threading.Thread(
        target=work.publish, args=(process_tier["broker_url"],), kwargs={"rate": 100}
    )
    publisher.start()
    kills = 0
    while publisher.is_alive() or kills < 4:
        time.sleep(rnd.uniform(0.3, 1.5))
        pool.alive()
        pool.kill(rnd.randrange(2))
        kills += 1
        if kills >= 8:
            break
    publisher.join(60)
    assert kills >= 4
    work.wait_settled(process_tier["database_url"], timeout=150, alive=pool.alive)
    assert pool.stop_all() == [0, 0], pool.tail()
    report = work.audit(process_tier["broker_url"], process_tier["database_url"])
    assert report.outbound > 0


@pytest.mark.timeout(240)
def test_a_flood_of_duplicates_yields_each_effect_once(
    broker_tier: dict[str, str], workers: type
) -> None:
    work = Workload(agreements=60, requests=20, upserts=20, copies=6, resend=0.5)
    work.prepare(broker_tier["broker_url"], broker_tier["database_url"])
    pool = workers(broker_tier)
    pool.start(2)
    work.publish(broker_tier["broker_url"])
    work.wait_settled(broker_tier["database_url"], timeout=150, alive=pool.alive)
    assert pool.stop_all() == [0, 0], pool.tail()
    work.audit(broker_tier["broker_url"], broker_tier["database_url"])
