"""The producer SDK on a real RabbitMQ: confirms, mandatory routing, validation."""

from __future__ import annotations

import json

import pytest

from hub.runtime.transports import transport_for
from producers.publisher import Publisher, Unroutable
from schemas import InvalidMessage, decode
from schemas.examples import example_event
from tests.support.process import drain_ids


def test_a_confirmed_event_is_in_the_bound_queue(amqp_url: str) -> None:
    transport = transport_for(amqp_url)
    transport.setup({"erp.audit": ["finance.agreement.*"]})
    with Publisher(amqp_url) as pub:
        pub.publish(example_event("finance.agreement.pending", id="p-1"))
        pub.publish(decode(example_event("finance.agreement.cancelled", id="p-2")))
    assert transport.stats(["erp.audit"])[0].depth == 2
    assert sorted(drain_ids(amqp_url, "erp.audit", {"p-1", "p-2"})) == ["p-1", "p-2"]
    transport.close()


def test_an_event_no_queue_is_bound_to_raises_instead_of_vanishing(amqp_url: str) -> None:
    with Publisher(amqp_url) as pub, pytest.raises(Unroutable, match="crm.ticket.created"):
        pub.publish(example_event("crm.ticket.created"))


def test_an_invalid_event_is_refused_before_it_leaves(amqp_url: str) -> None:
    bad = example_event("finance.agreement.pending")
    bad["data"] = {"agreement_id": "A"}
    with Publisher(amqp_url) as pub, pytest.raises(InvalidMessage, match="data.template"):
        pub.publish(bad)
    with Publisher(amqp_url) as pub, pytest.raises(InvalidMessage):
        pub.publish(json.dumps({"hello": 1}).encode())
