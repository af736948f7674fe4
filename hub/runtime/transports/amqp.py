"""RabbitMQ through kombu: durable topic exchange, quorum queues with a delivery limit,
publisher confirms (one wait per batch), and reconnection by itself.

The URL may name several nodes of a cluster (``hub.runtime.broker_url``): a connection goes to
the first node that answers, and a lost one is opened again on the next. A broker that refuses
the connection (access refused, no such vhost) raises ``BrokerRefused`` at once, never retried."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import amqp
from kombu import Connection, Consumer, Exchange, Queue, binding
from kombu.message import Message
from tenacity import Retrying, retry_if_not_exception_type, stop_after_delay, wait_exponential

from hub.errors import ConfigurationError, TransientError
from hub.runtime.broker_url import BrokerRefused, parse_amqp
from hub.runtime.transport import (
    EVENTS_EXCHANGE,
    POISON_QUEUE,
    ConsumesInBatches,
    Delivery,
    Outgoing,
    QueueStats,
    Unroutable,
)
from schemas import CONTENT_TYPE

log = logging.getLogger(__name__)
POISON_EXCHANGE = "hub.poison"
events_exchange = Exchange(EVENTS_EXCHANGE, type="topic", durable=True)
poison_exchange = Exchange(POISON_EXCHANGE, type="fanout", durable=True)


#: Deliveries after which RabbitMQ itself dead-letters a message to ``hub.poison``. The runtime
#: sets a poison message aside much earlier (``HUB_DELIVERY_LIMIT``); this is the last line of
#: defence. It is a constant because a queue's arguments cannot change once it is declared.
BROKER_DELIVERY_LIMIT = 50
#: What the broker says when it refuses a connection for good: 403 access refused, 530 no vhost.
_REFUSALS = (amqp.exceptions.AccessRefused, amqp.exceptions.NotAllowed)


class RabbitMQRefused(BrokerRefused, ConfigurationError):
    """RabbitMQ refused the connection (credentials, vhost or permissions): fix the URL."""


class AmqpTransport(ConsumesInBatches):
    def __init__(
        self, url: str, *, delivery_limit: int = BROKER_DELIVERY_LIMIT, reconnect_for: float = 60.0
    ) -> None:
        self.url = url
        self.addresses = parse_amqp(url)
        self.delivery_limit = delivery_limit
        self.reconnect_for = reconnect_for
        self._pub_lock = threading.Lock()
        self._pub_conn: Connection | None = None
        self._pub_channel: Any = None
        self._returned: list[str] = []
        self._next_tag, self._acked, self._nacked = 1, 0, set[int]()
        self._connection_errors: tuple[type[BaseException], ...] = ()

    def _connect(self) -> Connection:
        """A connection to the first node that answers, each node tried in turn."""
        conn = Connection(
            [a.url for a in self.addresses],
            heartbeat=20,
            connect_timeout=5,
            failover_strategy="round-robin",
        )
        try:
            conn.ensure_connection(
                max_retries=len(self.addresses),
                interval_start=0,
                interval_step=0.2,
                interval_max=1,
            )
        except _REFUSALS as e:
            conn.release()
            raise RabbitMQRefused(
                f"RabbitMQ refused the connection to {conn.as_uri()}: {_reply_text(e)}"
            ) from None
        self._connection_errors = (
            *conn.connection_errors,
            *conn.channel_errors,
            OSError,
            socket.timeout,
        )
        return conn

    def _retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_not_exception_type((Unroutable, BrokerRefused)),
            wait=wait_exponential(multiplier=0.2, max=5),
            stop=stop_after_delay(self.reconnect_for),
            reraise=True,
        )

    def queue(self, name: str, patterns: Sequence[str]) -> Queue:
        arguments: dict[str, Any] = {"x-queue-type": "quorum"}
        if name != POISON_QUEUE:
            arguments["x-delivery-limit"] = self.delivery_limit
            arguments["x-dead-letter-exchange"] = POISON_EXCHANGE
        return Queue(
            name,
            bindings=[binding(events_exchange, routing_key=p) for p in patterns],
            durable=True,
            queue_arguments=arguments,
        )

    def setup(self, bindings: Mapping[str, Sequence[str]]) -> None:
        try:
            for attempt in self._retrying():
                with attempt, self._connect() as conn:
                    channel = conn.channel()
                    events_exchange(channel).declare()
                    poison_exchange(channel).declare()
                    Queue(
                        POISON_QUEUE,
                        exchange=poison_exchange,
                        durable=True,
                        queue_arguments={"x-queue-type": "quorum"},
                    )(channel).declare()
                    for name, patterns in bindings.items():
                        self.queue(name, patterns)(channel).declare()
        except BrokerRefused:
            raise
        except Exception as e:
            raise TransientError(f"RabbitMQ unavailable: {e}") from None

    def declare_queue(self, queue: str, patterns: Sequence[str]) -> None:
        self.setup({queue: patterns})

    # --- publish -------------------------------------------------------------------------

    def publish(self, messages: Sequence[Outgoing], *, mandatory: bool = False) -> None:
        with self._pub_lock:
            try:
                for attempt in self._retrying():
                    with attempt:
                        self._publish_all(messages, mandatory)
            except (Unroutable, BrokerRefused):
                raise
            except Exception as e:
                self._drop_publisher()
                raise TransientError(f"RabbitMQ publish failed: {e}") from None

    def _publish_all(self, messages: Sequence[Outgoing], mandatory: bool) -> None:
        """Publish every message, then wait once for the broker's confirms of all of them
        (a batch costs one round trip, not one per message)."""
        try:
            channel = self._channel()
            self._returned.clear()
            first = self._next_tag
            for m in messages:
                channel._basic_publish(
                    amqp.Message(
                        m.body,
                        content_type=CONTENT_TYPE,
                        content_encoding="utf-8",
                        delivery_mode=2,
                        message_id=m.message_id,
                        application_headers=dict(m.headers),
                    ),
                    exchange=m.exchange,
                    routing_key=m.routing_key,
                    mandatory=mandatory,
                )
                self._next_tag += 1
            last = self._next_tag - 1
            deadline = time.monotonic() + 30
            assert self._pub_conn is not None
            while self._acked < last:
                if time.monotonic() > deadline:
                    raise TimeoutError("RabbitMQ did not confirm the messages in 30 s")
                self._pub_conn.drain_events(timeout=1)
            nacked = [t for t in self._nacked if first <= t <= last]
            if nacked:
                raise RuntimeError(f"RabbitMQ refused {len(nacked)} message(s)")
            if self._returned:
                raise Unroutable(f"no queue is bound to {self._returned[0]!r}")
        except (Unroutable, BrokerRefused):
            raise
        except Exception:
            self._drop_publisher()
            raise

    def _channel(self) -> Any:
        if self._pub_channel is None:
            conn = self._connect()
            channel = conn.connection.channel()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            channel.events["basic_return"].add(self._on_return)
            channel.confirm_select()
            self._pub_conn, self._pub_channel = conn, channel
            self._next_tag, self._acked, self._nacked = 1, 0, set()
        return self._pub_channel

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        # waiting for the highest tag is enough: the wait ends only once every earlier tag is
        # confirmed too, because RabbitMQ confirms a channel's messages in order
        self._acked = max(self._acked, delivery_tag)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._nacked.add(delivery_tag)
        self._on_ack(delivery_tag, multiple)

    def _on_return(self, exc: Any, exchange: str, routing_key: str, message: Any) -> None:
        self._returned.append(routing_key)

    def _drop_publisher(self) -> None:
        conn, self._pub_conn, self._pub_channel = self._pub_conn, None, None
        if conn is not None:
            try:
                conn.release()
            except Exception:  # the connection is already broken
                pass

    # --- consume -------------------------------------------------------------------------

    def consume_batches(
        self,
        queues: Sequence[str],
        on_batch: Callable[[list[Delivery]], object],
        *,
        prefetch: int,
        max_batch: int,
        stop: threading.Event,
    ) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                with self._connect() as conn:
                    backoff = 0.2
                    self._consume_on(conn, queues, on_batch, prefetch, max(1, max_batch), stop)
            except BrokerRefused:
                raise
            except Exception as e:  # kombu's and the socket's errors alike
                if stop.is_set():
                    break
                log.warning("RabbitMQ connection lost (%s); reconnecting in %.1fs", e, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def _consume_on(
        self,
        conn: Connection,
        queues: Sequence[str],
        on_batch: Callable[[list[Delivery]], object],
        prefetch: int,
        max_batch: int,
        stop: threading.Event,
    ) -> None:
        channel = conn.channel()
        pending: list[Delivery] = []

        def receive_from(queue: str) -> Callable[[Message], None]:
            def receive(message: Message) -> None:
                headers = dict(message.headers or {})
                pending.append(
                    Delivery(
                        queue=queue,
                        routing_key=message.delivery_info.get("routing_key", ""),
                        body=_raw(message.body),
                        headers=headers,
                        message_id=message.properties.get("message_id"),
                        delivery_count=int(headers.get("x-delivery-count") or 0) + 1,
                        ack=message.ack,
                        requeue=message.requeue,
                        content_type=message.content_type,
                    )
                )

            return receive

        channel.basic_qos(0, prefetch, False)
        consumers = [
            Consumer(
                channel,
                queues=[Queue(q, no_declare=True)],
                on_message=receive_from(q),
                auto_declare=False,
            )
            for q in queues
        ]
        for consumer in consumers:
            consumer.consume()
        last_beat = time.monotonic()
        while not stop.is_set():
            try:
                conn.drain_events(timeout=0.5)
                while len(pending) < max_batch:  # take what has already arrived
                    conn.drain_events(timeout=0.002)
            except TimeoutError:
                pass
            if pending:
                batch, pending[:] = list(pending), []
                on_batch(batch)
            if time.monotonic() - last_beat > 5:
                conn.heartbeat_check()
                last_beat = time.monotonic()
        try:
            for consumer in consumers:
                consumer.cancel()
            channel.close()  # unacknowledged prefetched messages return to their queues
        except Exception:
            pass

    # --- operator views ------------------------------------------------------------------

    def stats(self, queues: Sequence[str]) -> list[QueueStats]:
        out = []
        try:
            with self._connect() as conn:
                for q in queues:
                    channel = conn.channel()
                    try:
                        _, depth, consumers = channel.queue_declare(q, passive=True)
                        out.append(QueueStats(q, depth, consumers))
                    except conn.channel_errors:
                        out.append(QueueStats(q, 0, 0))
                    finally:
                        try:
                            channel.close()
                        except Exception:
                            pass
        except BrokerRefused:
            raise
        except Exception as e:
            raise TransientError(f"RabbitMQ unavailable: {e}") from None
        return out

    def ping(self) -> None:
        try:
            with self._connect():
                pass
        except BrokerRefused:
            raise
        except Exception as e:
            raise TransientError(f"RabbitMQ unavailable: {e}") from None

    def close(self) -> None:
        with self._pub_lock:
            self._drop_publisher()


def _reply_text(error: BaseException) -> str:
    text = getattr(error, "reply_text", "") or str(error)
    return text.split(" For details", 1)[0]


def _raw(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)
