"""Every documented broker URL form, and a failover list, on a real RabbitMQ, for the producer
SDK, the hub's transport and the command line; refusals are reported at once, in one line."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.errors import ConfigurationError
from hub.runtime.transports import transport_for
from producers.publisher import ConnectionRefused, Publisher
from schemas.examples import example_event
from tests.services import AMQP_HOST, require
from tests.support.process import drain_ids, hub_env, run_cli

FORMS = {
    "double-slash": f"amqp://guest:guest@{AMQP_HOST}:5672//",
    "encoded": f"amqp://guest:guest@{AMQP_HOST}:5672/%2f",
    "slash": f"amqp://guest:guest@{AMQP_HOST}:5672/",
}
#: Nothing listens on port 1: the first node of the list is down.
DOWN_FIRST = f"amqp://guest:guest@{AMQP_HOST}:1//;" + FORMS["double-slash"]


@pytest.fixture
def default_vhost_queue() -> Iterator[tuple[str, str]]:
    """A queue of its own on the default vhost (the one every documented form names), bound to
    a routing key of its own; deleted afterwards."""
    require("RabbitMQ", AMQP_HOST, 5672)
    tag = uuid.uuid4().hex[:8]
    queue, key = f"test.urls.{tag}", f"test.urls.{tag}"
    transport = transport_for(FORMS["encoded"])
    transport.setup({queue: [key]})
    transport.close()
    yield queue, key
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(FORMS["encoded"]))
    conn.channel().queue_delete(queue)
    conn.close()


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_form_publishes_through_the_sdk_and_the_transport(
    form: str, default_vhost_queue: tuple[str, str]
) -> None:
    queue, key = default_vhost_queue
    url = FORMS[form]
    with Publisher(url, retry_for=5) as pub:
        pub.publish(example_event("finance.agreement.pending", id=f"{form}-sdk"), routing_key=key)
    from hub.runtime.transport import EVENTS_EXCHANGE, Outgoing

    transport = transport_for(url)
    transport.publish([Outgoing(EVENTS_EXCHANGE, key, b"{}", f"{form}-transport")])
    transport.close()
    wanted = [f"{form}-sdk", f"{form}-transport"]
    assert sorted(drain_ids(FORMS["encoded"], queue, expect=wanted)) == wanted


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_form_works_for_hub_publish_and_hub_queues(
    form: str, default_vhost_queue: tuple[str, str], tmp_path: Path
) -> None:
    queue, key = default_vhost_queue
    env = hub_env({"broker_url": FORMS[form], "database_url": f"sqlite:///{tmp_path}/hub.db"})
    event = tmp_path / "event.json"
    event.write_text(json.dumps(example_event("finance.agreement.pending", id=f"{form}-cli")))
    started = time.monotonic()
    out = run_cli(env, "publish", str(event), "--routing-key", key)
    assert out.returncode == 0, out.stderr
    assert time.monotonic() - started < 20, "hub publish waited on the broker"
    assert drain_ids(FORMS["encoded"], queue, expect=[f"{form}-cli"]) == [f"{form}-cli"]
    out = run_cli(env, "queues", "--interval", "0", "--json")
    assert out.returncode == 0, out.stderr


def test_a_failover_list_whose_first_node_is_down_uses_the_next(
    default_vhost_queue: tuple[str, str],
) -> None:
    queue, key = default_vhost_queue
    with Publisher(DOWN_FIRST, retry_for=5) as pub:
        pub.publish(example_event("finance.agreement.pending", id="via-second"), routing_key=key)
    from hub.runtime.transport import EVENTS_EXCHANGE, Outgoing

    transport = transport_for(DOWN_FIRST)
    transport.publish([Outgoing(EVENTS_EXCHANGE, key, b"{}", "via-second-transport")])
    assert transport.stats([queue])[0].depth == 2
    transport.close()
    wanted = ["via-second", "via-second-transport"]
    assert sorted(drain_ids(FORMS["encoded"], queue, expect=wanted)) == wanted


REFUSED = {
    "wrong password": (f"amqp://guest:wrong@{AMQP_HOST}:5672//", "ACCESS_REFUSED"),
    "unknown vhost": (f"amqp://guest:guest@{AMQP_HOST}:5672/no-such-vhost", "NOT_ALLOWED"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_refusal_fails_at_once_in_the_sdk_and_the_transport(case: str) -> None:
    require("RabbitMQ", AMQP_HOST, 5672)
    url, code = REFUSED[case]
    started = time.monotonic()
    with Publisher(url, retry_for=30) as pub, pytest.raises(ConnectionRefused, match=code):
        pub.publish(example_event("finance.agreement.pending"))
    transport = transport_for(url)
    with pytest.raises(ConfigurationError, match=code):
        transport.setup({"hub.anything": ["x"]})
    assert time.monotonic() - started < 10, "a refusal was retried as if it were transient"


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_hub_publish_reports_a_refusal_in_one_line_at_once(case: str, tmp_path: Path) -> None:
    require("RabbitMQ", AMQP_HOST, 5672)
    url, code = REFUSED[case]
    event = tmp_path / "event.json"
    event.write_text(json.dumps(example_event("finance.agreement.pending")))
    started = time.monotonic()
    env = hub_env({"broker_url": url, "database_url": f"sqlite:///{tmp_path}/hub.db"})
    out = run_cli(env, "publish", str(event))
    assert time.monotonic() - started < 20
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and code in lines[0], out.stderr
    assert "wrong" not in out.stderr  # the password is not echoed


def test_hub_run_reports_a_refusal_in_one_line_at_once(tmp_path: Path) -> None:
    require("RabbitMQ", AMQP_HOST, 5672)
    url, code = REFUSED["wrong password"]
    env = hub_env({"broker_url": url, "database_url": f"sqlite:///{tmp_path}/hub.db"})
    started = time.monotonic()
    out = run_cli(env, "run", "--no-http", timeout=60)
    assert time.monotonic() - started < 30, "hub run retried a refusal"
    assert out.returncode != 0
    errors = [line for line in out.stderr.splitlines() if code in line]
    assert len(errors) == 1 and "Traceback" not in out.stderr, out.stderr[-2000:]
