"""Starting and stopping the Kafka consumer groups, with groups that never finish joining; what a
group hands on when faust skips offsets."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from hub.runtime.transports.kafka import groups as kafka_groups
from hub.runtime.transports.kafka.groups import ConsumerGroup, _run


class StuckGroup:
    """A group whose join never completes, as when the broker keeps failing its SyncGroup."""

    def __init__(self, queue: str) -> None:
        self.queue = queue
        self.app = SimpleNamespace(crashed=False, crash_reason=None)
        self.start_within = 3600.0
        self.started = False
        self.stopped = False

    async def start(self) -> None:
        await asyncio.sleep(3600)
        self.started = True

    async def stop(self) -> None:
        self.stopped = True


def test_a_stop_asked_for_while_a_group_is_joining_is_prompt() -> None:
    groups: list[Any] = [StuckGroup("hub.a"), StuckGroup("hub.b")]
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    began = time.monotonic()
    asyncio.run(_run(groups, stop))
    assert time.monotonic() - began < 5
    assert groups[0].stopped and not groups[0].started
    assert not groups[1].stopped  # never begun


def test_a_group_that_never_joins_is_given_up_so_that_it_can_be_started_again() -> None:
    group: Any = StuckGroup("hub.a")
    group.start_within = 0.3
    with pytest.raises(TimeoutError, match="hub.a start"):
        asyncio.run(_run([group], threading.Event()))
    assert group.stopped


def test_a_group_that_does_not_leave_in_time_does_not_hold_the_stop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kafka_groups, "STOP_WITHIN", 0.3)

    class Lingering(StuckGroup):
        async def start(self) -> None:
            self.started = True

        async def stop(self) -> None:
            await asyncio.sleep(3600)

    stop = threading.Event()
    stop.set()
    began = time.monotonic()
    asyncio.run(_run([Lingering("hub.a")], stop))
    assert time.monotonic() - began < 5


class SeekingConsumer:
    def __init__(self, committed: int | None) -> None:
        self.at = committed
        self.seeks: list[tuple[TP, int]] = []
        self.skipped: list[tuple[TP, int, int]] = []

    def committed(self, tp: TP) -> int | None:
        return self.at

    async def seek(self, tp: TP, offset: int) -> None:
        self.seeks.append((tp, offset))

    async def skip(self, tp: TP, first: int, last: int) -> None:
        self.skipped.append((tp, first, last))


def handed_on(
    records: list[int | None], offsets: list[int], committed: int | None = None
) -> tuple[list[int], Any]:
    """The offsets of ``offsets`` (the order faust hands them over in) that a group hands on,
    the partition's records being ``records`` (None: an offset without a record) and its
    committed offset ``committed``."""
    tp = TP("hub.a.events", 0)
    consumer = SeekingConsumer(committed)

    def first_record_at(options: Any, topic: str, partition: int, offset: int) -> int | None:
        assert (topic, partition) == (tp.topic, tp.partition)
        return next((o for o in range(offset, len(records)) if records[o] is not None), None)

    group: Any = SimpleNamespace(
        queue="hub.a",
        transport=SimpleNamespace(options=None),
        app=SimpleNamespace(consumer=consumer),
        expected={},
        resyncing={},
    )

    async def go() -> list[int]:
        group.loop = asyncio.get_running_loop()
        out = []
        for offset in offsets:
            if await ConsumerGroup._in_sequence(group, tp, offset):
                out.append(offset)
        return out

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kafka_groups, "first_record_at", first_record_at)
        return asyncio.run(go()), consumer


def test_messages_faust_skipped_are_read_again_and_nothing_after_them_is_handed_on_first() -> None:
    records: list[int | None] = list(range(10))
    # faust hands over 0-2, skips 3, hands over 4-5 (fetched before the seek back), then the
    # re-read from 3
    got, consumer = handed_on(records, [0, 1, 2, 4, 5, 3, 4, 5, 6])
    assert got == [0, 1, 2, 3, 4, 5, 6]
    assert consumer.seeks == [(TP("hub.a.events", 0), 3)]
    assert consumer.skipped == []


def test_offsets_that_hold_no_record_are_skipped_and_let_commits_pass() -> None:
    records: list[int | None] = [0, None, 2, None, 4]  # transaction markers at 1 and 3
    got, consumer = handed_on(records, [0, 2, 4])
    assert got == [0, 2, 4]
    assert consumer.seeks == []
    assert consumer.skipped == [(TP("hub.a.events", 0), 1, 1), (TP("hub.a.events", 0), 3, 3)]


def test_a_message_handed_over_again_after_a_seek_back_is_handed_on() -> None:
    got, consumer = handed_on(list(range(6)), [0, 1, 2, 3, 1, 2, 3, 4])
    assert got == [0, 1, 2, 3, 1, 2, 3, 4]
    assert consumer.seeks == [] and consumer.skipped == []


def test_a_message_skipped_first_after_the_partition_is_assigned_is_read_again() -> None:
    got, consumer = handed_on(list(range(12)), [11, 10, 11], committed=10)
    assert got == [10, 11]
    assert consumer.seeks == [(TP("hub.a.events", 0), 10)]
