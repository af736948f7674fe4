"""The Kafka adapter on librdkafka's mock cluster: addressing, offsets, redeliveries, views."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from confluent_kafka import Consumer as RawConsumer
from confluent_kafka import KafkaError, TopicPartition

from hub.runtime.transport import DIRECT, EVENTS_EXCHANGE, Delivery, Outgoing, Unroutable
from hub.runtime.transports import transport_for
from hub.runtime.transports.kafka import KafkaTransport
from hub.runtime.transports.kafka.groups import ConsumerGroup
from hub.runtime.transports.kafka.topology import first_record_at
from hub.runtime.transports.kafka.view import read_view, snapshot
from tests.support.harness import item_event, wait_until
from tests.support.kafka import mock_kafka_cluster

pytestmark = pytest.mark.timeout(90)
ITEM = "test.item.created"


@pytest.fixture
def kafka() -> Iterator[KafkaTransport]:
    with mock_kafka_cluster() as url:
        transport = transport_for(url)
        assert isinstance(transport, KafkaTransport)
        yield transport
        transport.close()


def message(item: str, **headers: Any) -> Outgoing:
    event = item_event(item)
    return Outgoing(
        EVENTS_EXCHANGE, ITEM, json.dumps(event).encode(), event["id"], headers, key=item
    )


def raw_records(kafka: KafkaTransport, topic: str) -> list[Any]:
    consumer = RawConsumer(
        kafka.options.client(**{"group.id": "test-reader", "enable.partition.eof": True})
    )
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    out, eof = [], set()
    while len(eof) < len(partitions):
        msg = consumer.poll(5)
        assert msg is not None, "the topic did not reach its end"
        if msg.error() is not None:
            assert msg.error().code() == KafkaError._PARTITION_EOF
            eof.add(msg.partition())
            continue
        out.append(msg)
    consumer.close()
    return out


@contextmanager
def consuming(
    kafka: KafkaTransport, queue: str, settle: Callable[[Delivery], None] | None = None
) -> Iterator[list[Delivery]]:
    """Consume ``queue`` in a thread; every delivery is recorded, then settled by ``settle``."""
    seen: list[Delivery] = []
    stop = threading.Event()

    def on_batch(batch: list[Delivery]) -> None:
        for d in batch:
            seen.append(d)
            if settle is None:
                d.ack()
            else:
                settle(d)

    thread = threading.Thread(
        target=kafka.consume_batches,
        args=([queue], on_batch),
        kwargs={"prefetch": 10, "max_batch": 10, "stop": stop},
        daemon=True,
    )
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(30)
        assert not thread.is_alive()


def test_an_event_goes_to_the_topic_named_as_its_type_keyed_by_subject(
    kafka: KafkaTransport,
) -> None:
    kafka.setup({"hub.t": [ITEM]})
    sent = message("S-1", **{"x-hub-attempt": 2, "x-hub-last-error": "boom"})
    kafka.publish([sent])
    [record] = raw_records(kafka, ITEM)
    assert record.key() == b"S-1"
    assert record.value() == sent.body  # the structured CloudEvent, byte for byte
    headers = dict(record.headers())
    assert json.loads(headers["x-hub-attempt"]) == 2
    assert json.loads(headers["content-type"]) == "application/cloudevents+json"
    assert json.loads(headers["message-id"]) == sent.message_id


def test_offsets_are_committed_after_the_ack_and_a_requeue_is_delivered_again(
    kafka: KafkaTransport,
) -> None:
    kafka.setup({"hub.t": [ITEM]})
    kafka.publish([message("R-1"), message("R-2"), message("R-3")])
    release = threading.Event()
    requeued: list[str] = []

    def settle(d: Delivery) -> None:
        release.wait(20)  # the first batch is held: nothing may be committed meanwhile
        item = json.loads(d.body)["subject"]
        if item == "R-2" and not requeued:
            requeued.append(item)
            d.requeue()
        else:
            d.ack()

    with consuming(kafka, "hub.t", settle) as seen:
        wait_until(lambda: len(seen) >= 1, timeout=30, what="a delivery")
        # nothing can tell that a commit did not happen but time: a grace of three commit
        # intervals, during which the held batch must keep every offset uncommitted
        threading.Event().wait(1.5)
        assert kafka.stats(["hub.t"])[0].depth == 3
        release.set()
        wait_until(lambda: kafka.stats(["hub.t"])[0].depth == 0, timeout=30, what="commits")
        again = [d for d in seen if json.loads(d.body)["subject"] == "R-2"]
        assert [d.delivery_count for d in again] == [1, 2]
        assert {json.loads(d.body)["subject"] for d in seen} == {"R-1", "R-2", "R-3"}


def test_the_next_record_of_a_partition_passes_over_the_markers_transactions_leave(
    kafka: KafkaTransport,
) -> None:
    """What a group asks when faust hands over a message after a hole in the offsets: whether
    the offsets in between hold records (read again) or only transaction markers (skipped)."""
    from confluent_kafka import Producer

    producer = Producer(kafka.options.client(**{"transactional.id": "erp-outbox"}))
    producer.init_transactions(10)
    for body in (b"a", b"b"):  # each transaction: one record, then its marker
        producer.begin_transaction()
        producer.produce("erp.events", body, partition=0)
        producer.commit_transaction(10)
    found = [first_record_at(kafka.options, "erp.events", 0, o) for o in range(5)]
    assert found == [0, 2, 2, None, None]


def test_a_message_handed_out_but_never_committed_is_a_redelivery_for_the_next_worker(
    kafka: KafkaTransport,
) -> None:
    kafka.setup({"hub.t": [ITEM]})
    kafka.publish([message("W-1")])
    held = threading.Event()

    def die(d: Delivery) -> None:
        held.set()  # neither acked nor returned: the worker "dies" with it

    with consuming(kafka, "hub.t", die):
        wait_until(held.is_set, timeout=30, what="the first delivery")
    fresh = transport_for(kafka.url)  # another process: only the broker remembers
    assert isinstance(fresh, KafkaTransport)
    with consuming(fresh, "hub.t") as seen:
        wait_until(lambda: len(seen) >= 1, timeout=30, what="the redelivery")
        assert seen[0].delivery_count == 2
        assert seen[0].message_id and seen[0].headers == {}
    fresh.close()


def test_the_direct_address_reaches_only_that_consumers_retry_topic(
    kafka: KafkaTransport,
) -> None:
    kafka.setup({"hub.a": [ITEM], "hub.b": [ITEM]})
    retry = message("D-1", **{"x-hub-attempt": 2})
    kafka.publish([Outgoing(DIRECT, "hub.a", retry.body, retry.message_id, retry.headers)])
    with consuming(kafka, "hub.a") as a, consuming(kafka, "hub.b") as b:
        wait_until(lambda: len(a) == 1, timeout=30, what="the retry at hub.a")
        # hub.b has nothing waiting and got nothing: the retry never reached its topics
        wait_until(lambda: kafka.stats(["hub.b"])[0].depth == 0, timeout=30, what="hub.b settled")
        assert b == []
        assert a[0].headers["x-hub-attempt"] == 2
        assert a[0].routing_key == "hub.a"
    with pytest.raises(Unroutable):
        kafka.publish([Outgoing(DIRECT, "hub.nobody", b"{}", "x")], mandatory=True)
    with pytest.raises(Unroutable):
        kafka.publish([Outgoing(EVENTS_EXCHANGE, "unbound.type", b"{}", "x")], mandatory=True)


def test_a_wildcard_binding_subscribes_to_every_matching_type_and_nothing_else(
    kafka: KafkaTransport,
) -> None:
    kafka.setup({"hub.w": ["test.#"]})
    other = item_event("O-1")
    kafka.publish(
        [
            message("M-1"),
            Outgoing(EVENTS_EXCHANGE, "testing.other", json.dumps(other).encode(), other["id"]),
        ]
    )
    with consuming(kafka, "hub.w") as seen:
        wait_until(lambda: len(seen) >= 1, timeout=30, what="the matching event")
        # every message of the group's topics settled, and the other type's is not among them
        wait_until(lambda: kafka.stats(["hub.w"])[0].depth == 0, timeout=30, what="hub.w settled")
        assert "testing.other" not in {p.topic for p in kafka.stats(["hub.w"])[0].partitions}
        assert {d.routing_key for d in seen} == {ITEM}


def test_stats_report_lag_per_partition_and_the_streaming_view_counts_per_window(
    kafka: KafkaTransport,
) -> None:
    kafka.setup({"hub.v": [ITEM]})
    kafka.publish([message(f"V-{i}") for i in range(12)])
    [before] = kafka.stats(["hub.v"])
    assert before.depth == 12
    assert before.depth == sum(p.lag for p in before.partitions)
    assert {p.topic for p in before.partitions} == {ITEM, "hub.v"}  # the type and retries
    with consuming(kafka, "hub.v") as seen:
        wait_until(lambda: len(seen) == 12, timeout=30, what="12 deliveries")
        wait_until(
            lambda: sum(w.settled for w in snapshot() if w.consumer == "hub.v") == 12,
            timeout=20,
            what="the in-process view",
        )
        wait_until(lambda: kafka.stats(["hub.v"])[0].depth == 0, timeout=20, what="no lag")
    windows = read_view(kafka.url, ["hub.v"])
    assert sum(w.settled for w in windows if w.event_type == ITEM) == 12
    assert all(w.window_end - w.window_start == pytest.approx(60, abs=0.2) for w in windows)
    assert max(w.latency_max_ms for w in windows) >= max(w.latency_avg_ms for w in windows) > 0


def subjects(deliveries: list[Delivery]) -> set[str]:
    return {json.loads(d.body)["subject"] for d in deliveries}


def test_a_member_that_stops_receiving_while_messages_wait_is_started_again(
    kafka: KafkaTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first group's agent swallows what it fetches (a fetcher or a seek that never
    comes back): nothing reaches the handler while the partition has lag, so the groups are
    started again and read on from the committed offset."""
    kafka.setup({"hub.stall": [ITEM]})
    agent = ConsumerGroup._agent
    groups: list[ConsumerGroup] = []

    async def first_one_swallows(self: ConsumerGroup, stream: Any) -> None:
        groups.append(self)
        if self is not groups[0]:
            await agent(self, stream)
            return
        async for _ in stream.noack().events():
            pass

    monkeypatch.setattr(ConsumerGroup, "_agent", first_one_swallows)
    with consuming(kafka, "hub.stall") as seen:
        kafka.publish([message("S-1")])
        wait_until(lambda: subjects(seen) == {"S-1"}, timeout=60, what="S-1 after the restart")
    assert len({id(g) for g in groups}) >= 2


def test_a_new_consumer_gets_what_is_published_after_setup_not_the_history(
    kafka: KafkaTransport,
) -> None:
    """Compared as sets: at-least-once allows a delivery twice (a group that was just
    assigned its partitions may read what it had already fetched again, from the committed
    offset); the consumers' inbox makes the second one a no-op."""
    kafka.setup({"hub.old": [ITEM]})
    kafka.publish([message("H-1")])  # history, before hub.new exists
    kafka.setup({"hub.new": [ITEM]})
    kafka.publish([message("H-2")])
    with consuming(kafka, "hub.new") as new, consuming(kafka, "hub.old") as old:
        wait_until(
            lambda: subjects(new) >= {"H-2"} and subjects(old) >= {"H-1", "H-2"},
            timeout=30,
            what="deliveries",
        )
        # nothing waits for hub.new: the history before it existed is not on its way
        wait_until(
            lambda: kafka.stats(["hub.new"])[0].depth == 0, timeout=30, what="hub.new settled"
        )
        assert subjects(new) == {"H-2"}
    # setting up again (a second worker, a restart) keeps the group's offsets
    kafka.publish([message("H-3")])
    kafka.setup({"hub.new": [ITEM]})
    with consuming(kafka, "hub.new") as again:
        wait_until(lambda: len(again) >= 1, timeout=30, what="H-3")
        wait_until(
            lambda: kafka.stats(["hub.new"])[0].depth == 0, timeout=30, what="hub.new settled"
        )
        assert subjects(again) == {"H-3"}
