"""RabbitMQ stopped and started while events flow: the hub reconnects by itself, loses nothing."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import pytest

from hub.settings import Settings
from tests.services import IN_CI
from tests.support.harness import DOWNSTREAM, item_event, running_hub, wait_until
from tests.support.process import drain_ids, wait_settled


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


@pytest.mark.disruptive
@pytest.mark.timeout(240)
def test_rabbitmq_stop_app_and_start_app_while_events_flow(
    amqp_url: str, postgres_url: str
) -> None:
    if shutil.which("rabbitmqctl") is None:
        if IN_CI:
            pytest.fail("rabbitmqctl is needed")
        pytest.skip("rabbitmqctl not found")
    n = 300
    settings = Settings(broker_url=amqp_url, database_url=postgres_url, retry_base_delay=0.2)
    published: list[str] = []
    with running_hub(settings) as hub:
        from producers.publisher import Publisher

        def produce() -> None:
            with Publisher(amqp_url, retry_for=120) as pub:
                for i in range(n):
                    pub.publish(item_event(f"R-{i}"))
                    published.append(f"R-{i}")
                    time.sleep(0.01)

        producer = threading.Thread(target=produce)
        producer.start()
        wait_until(lambda: hub.effects() >= 50, timeout=60, what="events flowing")
        rabbitmqctl("stop_app")
        try:
            time.sleep(2)  # how long the outage lasts (it proves nothing by itself)
        finally:
            rabbitmqctl("start_app")
            rabbitmqctl("await_startup")
        producer.join(180)
        assert len(published) == n
        wait_until(lambda: hub.effects() >= n, timeout=120, what="every event handled")
        # every delivery settled (none waiting, none unacknowledged): a second effect of a
        # redelivered event would be committed by now
        wait_settled(amqp_url, ["hub.ledger"], timeout=60)
        assert hub.effects() == n
        for i in (0, n // 2, n - 1):
            assert hub.effects(f"R-{i}") == 1
        wait_until(lambda: hub.hub.relay.backlog() == (0, 0), timeout=60, what="outbox drained")
    ids = drain_ids(amqp_url, DOWNSTREAM, n)
    assert len(set(ids)) == n
