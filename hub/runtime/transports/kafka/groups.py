"""Hub consumer groups as faust agents.

One faust ``App`` per queue: its id is the queue name, hence the consumer group. Its agent reads
the queue's topics (event types and the retry topic) with manual acks; a batcher task takes
what is already waiting (up to ``max_batch`` messages) and hands each batch to the runtime's synchronous ``on_batch`` (the ``Processor``) in **one handler
thread** shared by every group of the process, so the event loop never blocks and handlers run
one batch at a time, as on the other transports. When the batch is settled, back on the loop:

- acknowledged deliveries are acked to faust, which commits their offsets (every
  ``commit_interval`` seconds and when partitions are revoked or the worker stops); an offset
  is therefore committed only after the unit of work committed;
- at the first delivery of a partition that was returned (``requeue``: the store was down) or
  left unsettled, the partition is sought back to it: later messages of that partition are not
  acked either, and those fetched before the seek are dropped until the re-read reaches the
  returned offset again. A partition revoked or assigned again meanwhile has no seek pending:
  it is read from its committed offset, and nothing before the offset sought is dropped.

A member that fetches nothing for twice the session timeout while its own partitions have
messages after their committed offsets (a fetcher that never resumed after a rebalance, a seek
that never took effect) is stalled: the groups of the process are started again, as after a
crash, and read on from their committed offsets.

Redeliveries: Kafka has no delivery count. Before a batch is handed over, the highest offset
handed out per partition is written to the compacted topic ``hub.positions``
(key ``group/topic/partition``). A message whose offset is at or below that mark was handed
out before without being committed (a worker died, a rebalance moved the partition, or it was
sought back) and is delivered with ``delivery_count`` 2, so the processor counts its handling
starts and sets a poison message aside after ``HUB_DELIVERY_LIMIT`` of them. The marks are
read when the group starts and whenever partitions are assigned.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, cast

import faust
from faust.transport.drivers import aiokafka as faust_kafka
from faust.types import TP, EventT, StreamT

from hub.runtime.transport import Delivery, PartitionLag
from hub.runtime.transports.kafka.options import KafkaOptions, credentials
from hub.runtime.transports.kafka.topology import (
    MESSAGE_ID,
    POSITIONS_TOPIC,
    PRESENCE_EVERY,
    decode_headers,
    first_record_at,
    read_topic,
)
from hub.runtime.transports.kafka.view import StreamView

# a group that has not joined within twice its rebalance timeout is started again; leaving one
# takes at most STOP_WITHIN seconds (what it has not committed is read again by the next owner)
STOP_WITHIN = 15.0

log = logging.getLogger(__name__)
for _noisy in ("faust", "mode", "aiokafka"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)


class Broker(Protocol):
    """What a consumer group needs of the transport it consumes for (``KafkaTransport``)."""

    @property
    def options(self) -> KafkaOptions: ...

    def topics_of(self, queue: str) -> list[str]:
        """The topics ``queue`` reads."""
        ...

    def partition_lag(self, queue: str) -> list[PartitionLag]:
        """The lag of every partition of ``queue``'s topics behind its committed offset."""
        ...

    def mark_positions(self, group: str, positions: Mapping[tuple[str, int], int]) -> None:
        """Record the highest offset handed to the runtime per partition."""
        ...

    def announce(self, group: str, member: str, *, alive: bool) -> None:
        """Record that ``member`` of ``group`` is running (``alive``) or has left."""
        ...


def run_groups(
    transport: Broker,
    queues: Sequence[str],
    on_batch: Callable[[list[Delivery]], object],
    max_batch: int,
    prefetch: int,
    stop: threading.Event,
) -> None:
    """Run one consumer group per queue in this thread's event loop until ``stop`` is set;
    when the groups cannot start or faust crashes, start them again (with backoff)."""
    backoff = 0.5
    while not stop.is_set():
        try:
            _run_groups(transport, queues, on_batch, max_batch, prefetch, stop)
            return
        except Exception as e:
            if stop.is_set():
                return
            log.warning("Kafka consumer groups stopped (%s); starting again in %.1fs", e, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)


def _run_groups(
    transport: Broker,
    queues: Sequence[str],
    on_batch: Callable[[list[Delivery]], object],
    max_batch: int,
    prefetch: int,
    stop: threading.Event,
) -> None:
    loop = asyncio.new_event_loop()
    handler = ThreadPoolExecutor(1, thread_name_prefix="hub-kafka-handler")
    datadir = tempfile.mkdtemp(prefix="hub-faust-")
    try:
        groups = [
            ConsumerGroup(transport, q, on_batch, max_batch, prefetch, loop, handler, datadir)
            for q in queues
        ]
        loop.run_until_complete(_run(groups, stop))
    finally:
        handler.shutdown(wait=True)
        loop.close()
        shutil.rmtree(datadir, ignore_errors=True)


async def _run(groups: list[ConsumerGroup], stop: threading.Event) -> None:
    begun: list[ConsumerGroup] = []
    try:
        for g in groups:
            begun.append(g)
            # joining a group can hang (a broker mid-rebalance): a stop asked for meanwhile
            # must still be a prompt stop, and a group that never starts is started again
            if not await _unless_stopped(g.start(), stop, g.start_within, f"{g.queue} start"):
                return
        while not stop.is_set():
            crashed = next((g for g in begun if g.app.crashed), None)
            if crashed is not None:
                raise RuntimeError(f"{crashed.queue}: {crashed.app.crash_reason!r}")
            for g in begun:
                if await g.stalled():
                    raise RuntimeError(
                        f"{g.queue}: nothing fetched for {g.stall_after:.0f}s while its "
                        "partitions have messages waiting"
                    )
            await asyncio.sleep(0.1)
    finally:
        for g in begun:
            try:
                await asyncio.wait_for(g.stop(), STOP_WITHIN)
            except Exception as e:  # leaving the group is best effort once it failed
                log.warning("consumer group %s did not stop cleanly: %r", g.queue, e)


async def _unless_stopped(
    step: Coroutine[Any, Any, None], stop: threading.Event, within: float, what: str
) -> bool:
    """Run ``step``; False when ``stop`` is set first (``step`` is cancelled), an error when
    it takes longer than ``within`` seconds."""
    task = asyncio.ensure_future(step)
    deadline = asyncio.get_running_loop().time() + within
    while not task.done():
        if stop.is_set():
            task.cancel()
            await asyncio.wait({task})
            return False
        if asyncio.get_running_loop().time() > deadline:
            task.cancel()
            await asyncio.wait({task})
            raise TimeoutError(f"{what} took longer than {within:.0f}s")
        await asyncio.wait({task}, timeout=0.1)
    task.result()
    return True


class _ConsumerThread(faust_kafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        wait = getattr(self.app, "fetch_max_wait", None)
        if wait is not None:  # faust hard-codes 1.5 s
            consumer._fetch_max_wait_ms = int(wait * 1000)
        return consumer


class _Consumer(faust_kafka.Consumer):
    def _new_consumer_thread(self) -> Any:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        """faust counts every offset it did not hand over as acknowledged (and the one it hands
        over with them), so that an offset is committed past messages never handled. Here only
        offsets the broker confirms hold no record are skipped (``skip``)."""

    def committed(self, tp: TP) -> int | None:
        """The offset ``tp`` is committed at (the next to read), when known and above 0."""
        offset = self._committed_offset.get(tp)
        return None if offset is None else int(offset)

    async def skip(self, tp: TP, first: int, last: int) -> None:
        """Let commits pass over ``first``..``last`` of ``tp``: offsets that hold no record."""
        await super()._add_gap(tp, first, last)


class _Transport(faust_kafka.Transport):
    Consumer = _Consumer


class _App(faust.App):
    """A faust app whose consumer's fetch wait can be chosen (``fetch_max_wait`` in the URL):
    a broker that answers a fetch only when the wait is over, as librdkafka's mock cluster
    does, would otherwise hold every quiet partition back 1.5 s."""

    fetch_max_wait: float | None = None

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)


class ConsumerGroup:
    def __init__(
        self,
        transport: Broker,
        queue: str,
        on_batch: Callable[[list[Delivery]], object],
        max_batch: int,
        prefetch: int,
        loop: asyncio.AbstractEventLoop,
        handler: ThreadPoolExecutor,
        datadir: str,
    ) -> None:
        self.transport = transport
        self.queue = queue
        self.on_batch = on_batch
        self.max_batch = max_batch
        self.loop = loop
        self.handler = handler
        self.seen: dict[tuple[str, int], int] = {}  # highest offset handed out per partition
        self.rewinding: dict[TP, int] = {}  # partition -> offset it was sought back to
        self.expected: dict[TP, int] = {}  # partition -> the offset it should hand over next
        self.resyncing: dict[TP, int] = {}  # partition -> offset sought back to after a hole
        self.idle = asyncio.Event()
        self.idle.set()
        self.stopping = False
        self.waiting: asyncio.Queue[tuple[Any, EventT]] = asyncio.Queue(max(prefetch, max_batch))
        self.batcher: asyncio.Task[None] | None = None
        self.presence: asyncio.Task[None] | None = None
        self.member = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        opts = transport.options
        self.start_within = 2 * opts.rebalance_timeout
        # a member that fetches nothing for this long while messages wait on its partitions
        # is stalled (a fetcher that never resumed after a rebalance): the groups are started
        # again, and read on from their committed offsets
        self.stall_after = 2 * opts.session_timeout
        self.fetched_at = loop.time()
        self.app = _App(
            queue,
            broker=[f"kafka://{b}" for b in opts.brokers],
            broker_credentials=credentials(opts),
            loop=loop,
            datadir=datadir,
            autodiscover=False,
            web_enabled=False,
            topic_allow_declare=False,
            topic_disable_leader=True,
            consumer_auto_offset_reset="earliest",
            broker_session_timeout=opts.session_timeout,
            broker_heartbeat_interval=opts.heartbeat,
            broker_rebalance_timeout=opts.rebalance_timeout,
            broker_commit_interval=opts.commit_interval,
            stream_buffer_maxsize=max(prefetch, max_batch),
            stream_wait_empty=False,
            store="memory://",
            table_cleanup_interval=30.0,
        )
        self.app.fetch_max_wait = opts.fetch_max_wait
        channel = self.app.topic(
            *transport.topics_of(queue), key_serializer="raw", value_serializer="raw"
        )
        self.view = StreamView(self.app, queue)
        self.app.agent(channel, name=f"{queue}.handler")(self._agent)
        signals: Any = self.app  # faust's signal types do not describe keyword receivers
        signals.on_partitions_assigned.connect(self._on_assigned)
        signals.on_partitions_revoked.connect(self._on_revoked)

    async def start(self) -> None:
        await self._load_marks()
        await self.app.start()
        self.batcher = self.loop.create_task(self._batches())
        self.presence = self.loop.create_task(self._present())

    async def stop(self) -> None:
        """Stop taking batches, let the one in the handler thread finish, then leave the group
        (faust commits the acked offsets on the way out)."""
        self.stopping = True
        await self.idle.wait()
        for task in (self.batcher, self.presence):
            if task is not None:
                task.cancel()
        await self.app.stop()
        await self._announce(alive=False)
        self.view.close()

    async def _present(self) -> None:
        while True:
            await self._announce(alive=True)
            await asyncio.sleep(PRESENCE_EVERY)

    async def _announce(self, *, alive: bool) -> None:
        try:
            await self.loop.run_in_executor(
                None, lambda: self.transport.announce(self.queue, self.member, alive=alive)
            )
        except Exception as e:  # presence is for operators' views only
            log.debug("presence of %s not recorded: %s", self.queue, e)

    async def _on_assigned(self, sender: Any, assigned: set[TP], **_: Any) -> None:
        self._forget(assigned)  # read from the committed offset: no seek back is pending
        await self._load_marks()

    async def _on_revoked(self, sender: Any, revoked: set[TP], **_: Any) -> None:
        self._forget(revoked)

    def _forget(self, tps: set[TP]) -> None:
        for tp in tps:
            self.rewinding.pop(tp, None)
            self.expected.pop(tp, None)
            self.resyncing.pop(tp, None)

    async def _load_marks(self) -> None:
        prefix = self.queue + "/"
        records = await self.loop.run_in_executor(
            None, read_topic, self.transport.options, POSITIONS_TOPIC
        )
        for key, value in records:
            if key.startswith(prefix) and value:
                topic, _, partition = key[len(prefix) :].rpartition("/")
                tp = (topic, int(partition))
                self.seen[tp] = max(self.seen.get(tp, -1), int(value))

    async def _agent(self, stream: Any) -> None:
        """Feed the batcher one event at a time; acks are manual (``noack``)."""
        manual = stream.noack()
        async for event in manual.events():
            if not await self._in_sequence(event.message.tp, event.message.offset):
                continue
            self.fetched_at = self.loop.time()
            await self.waiting.put((manual, event))

    async def _in_sequence(self, tp: TP, offset: int) -> bool:
        """Whether the message at ``offset`` of ``tp`` is handed on. Messages come in offset order;
        faust can skip some (a fetch overtaken by a rebalance or a seek). When offsets are
        missing, the broker says whether they hold records: offsets without one (transaction
        markers) are skipped, while records are read again. The partition is sought back to
        the first missing offset, and the later messages are dropped until the re-read gets
        there."""
        back_to = self.resyncing.get(tp)
        if back_to is not None:
            if offset > back_to:
                return False  # fetched before the seek back
            del self.resyncing[tp]
        consumer = cast(_Consumer, self.app.consumer)
        expected = self.expected.get(tp)
        if expected is None:  # the first since the partition was assigned
            expected = consumer.committed(tp)
        if expected is None or offset <= expected:  # in order, or read again after a seek
            self.expected[tp] = offset + 1
            return True
        try:
            first = await self.loop.run_in_executor(
                None, first_record_at, self.transport.options, tp.topic, tp.partition, expected
            )
        except Exception as e:  # the broker does not say: read the offsets again to be sure
            log.info("%s: offsets %s-%s of %s unknown (%s)", self.queue, expected, offset, tp, e)
            first = expected
        if first is None or first >= offset:
            await consumer.skip(tp, expected, offset - 1)
            self.expected[tp] = offset + 1
            return True
        log.warning(
            "%s: offsets %s-%s of %s/%s were skipped on the way in; reading them again",
            self.queue,
            expected,
            offset - 1,
            tp.topic,
            tp.partition,
        )
        self.resyncing[tp] = expected
        self.expected[tp] = expected
        await consumer.seek(tp, expected)
        return False

    async def stalled(self) -> bool:
        """True when this member owns partitions whose committed offsets are behind their ends
        but has fetched nothing for ``stall_after`` seconds, while it has nothing in hand. The
        broker is asked at most once per ``stall_after``."""
        now = self.loop.time()
        if (
            now - self.fetched_at < self.stall_after
            or not self.idle.is_set()
            or not self.waiting.empty()
            or self.app.rebalancing
            or self.stopping
        ):
            return False
        owned = {(tp.topic, tp.partition) for tp in self.app.consumer.assignment()}
        self.fetched_at = now  # the next question waits another stall_after
        if not owned:
            return False
        try:
            lags = await self.loop.run_in_executor(None, self.transport.partition_lag, self.queue)
        except Exception as e:  # the broker does not answer: not a stall of this member
            log.debug("%s: lag unknown (%s)", self.queue, e)
            return False
        return any(p.lag > 0 for p in lags if (p.topic, p.partition) in owned)

    async def _batches(self) -> None:
        """Take what is waiting (up to ``max_batch``), settle it, and so on until stopped."""
        while not self.stopping:
            stream, first = await self.waiting.get()
            events = [first]
            for _ in range(3):  # let the agent put what faust has already fetched
                while len(events) < self.max_batch and not self.waiting.empty():
                    events.append(self.waiting.get_nowait()[1])
                if len(events) >= self.max_batch:
                    break
                await asyncio.sleep(0)
            if self.stopping:
                break  # not acked: the next owner of the partition reads them again
            self.idle.clear()
            try:
                await self._settle(stream, events)
            except Exception:
                log.exception("consumer group %s: a batch failed", self.queue)
            finally:
                self.idle.set()

    async def _settle(self, stream: StreamT, events: list[EventT]) -> None:
        batch: list[EventT] = []
        for ev in events:
            tp, offset = ev.message.tp, ev.message.offset
            back_to = self.rewinding.get(tp)
            if back_to is not None:
                if offset > back_to:
                    continue  # fetched before the seek back: read again after it
                # the re-read has begun: at the offset sought, or before it when the partition
                # was assigned again meanwhile (read from its commit; nothing may be skipped)
                del self.rewinding[tp]
            batch.append(ev)
        if not batch:
            return
        states: dict[int, str] = {}
        deliveries = [self._delivery(i, ev, states) for i, ev in enumerate(batch)]
        marks: dict[tuple[str, int], int] = {}
        for ev in batch:
            key = (ev.message.topic, ev.message.partition)
            if ev.message.offset > self.seen.get(key, -1):
                marks[key] = max(marks.get(key, -1), ev.message.offset)

        def work() -> None:
            if marks:
                self.transport.mark_positions(self.queue, marks)
            self.on_batch(deliveries)

        try:
            await self.loop.run_in_executor(self.handler, work)
        except Exception:
            log.exception(
                "consumer group %s: handling a batch failed; reading it again", self.queue
            )
        for key, offset in marks.items():
            self.seen[key] = max(self.seen.get(key, -1), offset)
        await self._commit_or_rewind(stream, batch, states)
        await self.view.record(self.queue, batch, states)

    async def _commit_or_rewind(
        self, stream: StreamT, batch: list[EventT], states: dict[int, str]
    ) -> None:
        by_tp: dict[TP, list[tuple[int, EventT]]] = defaultdict(list)
        for i, ev in enumerate(batch):
            by_tp[ev.message.tp].append((i, ev))
        for tp, items in by_tp.items():
            items.sort(key=lambda item: item[1].message.offset)
            back_to: int | None = None
            for i, ev in items:
                if back_to is None and states.get(i) == "ack":
                    await stream.ack(ev)
                elif back_to is None:
                    back_to = ev.message.offset
            if back_to is not None:
                self.rewinding[tp] = back_to
                try:
                    await self.app.consumer.seek(tp, back_to)
                    # faust logs (and does not raise) a seek on a partition no longer assigned
                    owned = tp in self.app.consumer.assignment()
                except Exception as e:
                    owned = False
                    log.info("%s: no seek back on %s (%s)", self.queue, tp, e)
                if not owned:  # revoked meanwhile: its next owner reads from the commit
                    self.rewinding.pop(tp, None)

    def _delivery(self, index: int, ev: EventT, states: dict[int, str]) -> Delivery:
        message = ev.message
        headers = decode_headers(message.headers)
        message_id = headers.pop(MESSAGE_ID, None)
        content_type = headers.pop("content-type", None)
        body = message.value if isinstance(message.value, bytes) else bytes(message.value or b"")
        seen = self.seen.get((message.topic, message.partition), -1)

        def ack() -> None:
            states[index] = "ack"

        def requeue() -> None:
            states[index] = "requeue"

        return Delivery(
            queue=self.queue,
            routing_key=message.topic,
            body=body,
            headers=headers,
            message_id=str(message_id or headers.get("ce_id") or "") or _event_id(body),
            delivery_count=2 if message.offset <= seen else 1,
            ack=ack,
            requeue=requeue,
            content_type=str(content_type) if content_type else None,
        )


def _event_id(body: bytes) -> str | None:
    try:
        value = json.loads(body).get("id")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None
    return value if isinstance(value, str) else None
