"""A consumer group's seek back, when its partition moves meanwhile: nothing may be skipped."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from faust.types import TP

from hub.runtime.transport import Delivery
from hub.runtime.transports.kafka.groups import ConsumerGroup

TOPIC = "finance.agreement.pending"
PART = TP(TOPIC, 0)


@dataclass
class _Message:
    offset: int
    topic: str = TOPIC
    partition: int = 0
    headers: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def tp(self) -> TP:
        return TP(self.topic, self.partition)

    @property
    def value(self) -> bytes:
        return b'{"id": "e-%d"}' % self.offset


@dataclass
class _Event:
    message: _Message


@dataclass
class _Consumer:
    """faust's consumer as far as a seek goes: a seek on a partition it no longer has is
    logged by faust, not raised."""

    assigned: set[TP]
    sought: list[tuple[TP, int]] = field(default_factory=list)

    async def seek(self, tp: TP, offset: int) -> None:
        self.sought.append((tp, offset))

    def assignment(self) -> set[TP]:
        return self.assigned


class _Stream:
    def __init__(self) -> None:
        self.acked: list[int] = []

    async def ack(self, ev: _Event) -> None:
        self.acked.append(ev.message.offset)


class _View:
    async def record(self, *_: Any) -> None:
        return None


class _Transport:
    def mark_positions(self, *_: Any) -> None:
        return None


def _group(
    loop: asyncio.AbstractEventLoop, consumer: _Consumer, settle: Any
) -> tuple[ConsumerGroup, list[int]]:
    handled: list[int] = []

    def on_batch(deliveries: list[Delivery]) -> None:
        for d in deliveries:
            handled.append(int(str(d.message_id).removeprefix("e-")))
            settle(d)

    group = object.__new__(ConsumerGroup)  # no faust app: only the settling is under test
    group.queue = "hub.finance-agreements"
    group.transport = _Transport()  # type: ignore[assignment]
    group.on_batch = on_batch
    group.loop = loop
    group.handler = ThreadPoolExecutor(1)
    group.seen = {}
    group.rewinding = {}
    group.view = _View()  # type: ignore[assignment]
    group.app = type("App", (), {"consumer": consumer})()  # type: ignore[assignment]
    return group, handled


def _run(coro: Any) -> Any:
    return asyncio.new_event_loop().run_until_complete(coro)


def test_a_returned_message_is_read_again_and_what_was_fetched_before_the_seek_is_dropped() -> None:
    store_down = {"now": True}

    def settle(d: Delivery) -> None:
        if d.message_id == "e-2" and store_down["now"]:
            d.requeue()
        else:
            d.ack()

    async def scenario() -> tuple[list[int], list[int], _Consumer]:
        consumer = _Consumer({PART})
        group, handled = _group(asyncio.get_running_loop(), consumer, settle)
        stream = _Stream()
        await group._settle(stream, [_Event(_Message(n)) for n in (1, 2, 3)])  # type: ignore[misc]
        store_down["now"] = False
        # 4 was fetched before the seek took effect: dropped; then the re-read from 2
        await group._settle(stream, [_Event(_Message(n)) for n in (4, 2, 3, 4)])  # type: ignore[misc]
        return handled, stream.acked, consumer

    handled, acked, consumer = _run(scenario())
    assert consumer.sought == [(PART, 2)]
    assert handled == [1, 2, 3, 2, 3, 4]
    assert acked == [1, 2, 3, 4]  # 3 is not acked before 2 is: no commit passes 2


def test_a_seek_on_a_partition_revoked_meanwhile_leaves_nothing_pending() -> None:
    async def scenario() -> tuple[list[int], ConsumerGroup]:
        consumer = _Consumer(set())  # revoked while the batch was in the handler thread
        group, handled = _group(
            asyncio.get_running_loop(),
            consumer,
            lambda d: d.requeue() if d.message_id == "e-7" else d.ack(),
        )
        await group._settle(_Stream(), [_Event(_Message(7)), _Event(_Message(8))])  # type: ignore[arg-type]
        return handled, group

    handled, group = _run(scenario())
    assert handled == [7, 8]
    assert group.rewinding == {}  # the next read, wherever it starts, drops nothing


def test_a_partition_assigned_again_is_read_from_its_commit_without_skipping() -> None:
    async def scenario() -> tuple[list[int], list[int]]:
        consumer = _Consumer({PART})
        group, handled = _group(asyncio.get_running_loop(), consumer, lambda d: d.ack())
        group.rewinding[PART] = 20  # a seek back from before the partition moved away and back
        stream = _Stream()
        # the new assignment reads from the committed offset, 15: each one is handled
        await group._settle(stream, [_Event(_Message(n)) for n in (15, 16, 17)])  # type: ignore[arg-type]
        return handled, stream.acked

    handled, acked = _run(scenario())
    assert handled == [15, 16, 17] and acked == [15, 16, 17]
