"""Starting and stopping the Kafka consumer groups, with groups that never finish joining."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from hub.runtime.transports.kafka import groups as kafka_groups
from hub.runtime.transports.kafka.groups import _run


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
