"""The thin publisher an ERP module embeds: pika, publisher confirms, mandatory routing.

    with Publisher("amqp://guest:guest@127.0.0.1:5672/%2F") as pub:
        pub.publish(event)          # a schemas.CloudEvent, a dict or raw bytes

``publish`` returns once RabbitMQ has confirmed the message. An event no queue is bound to
raises ``Unroutable`` instead of vanishing. A lost connection is re-opened and the publish
retried (with backoff, for ``retry_for`` seconds) before ``PublishFailed`` is raised.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from types import TracebackType
from typing import Any

import pika
import pika.exceptions
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from schemas import CONTENT_TYPE, CloudEvent, decode

EXCHANGE = "hub.events"


class Unroutable(Exception):
    """RabbitMQ returned the message: no queue is bound to its type."""


class PublishFailed(Exception):
    """The broker could not be reached or did not confirm, after retries."""


_CONNECTION_ERRORS = (
    pika.exceptions.AMQPConnectionError,
    pika.exceptions.AMQPChannelError,
    pika.exceptions.StreamLostError,
    pika.exceptions.NackError,
    ConnectionError,
    OSError,
)


class Publisher:
    def __init__(
        self, url: str, *, exchange: str = EXCHANGE, retry_for: float = 30.0, declare: bool = True
    ) -> None:
        self.params = pika.URLParameters(url)
        self.params.connection_attempts = 1
        self.params.socket_timeout = 5
        self.exchange = exchange
        self.retry_for = retry_for
        self.declare = declare
        self._conn: pika.BlockingConnection | None = None
        self._channel: Any = None

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]
    ) -> None:
        self.close()

    def _open(self) -> Any:
        if self._channel is None or not self._channel.is_open:
            self.close()
            self._conn = pika.BlockingConnection(self.params)
            channel = self._conn.channel()
            channel.confirm_delivery()
            if self.declare:
                channel.exchange_declare(self.exchange, exchange_type="topic", durable=True)
            self._channel = channel
        return self._channel

    def publish(
        self,
        event: CloudEvent | dict[str, Any] | bytes,
        *,
        validate: bool = True,
        routing_key: str | None = None,
    ) -> None:
        """Publish one event and wait for the broker's confirm; the routing key is the event's
        type unless ``routing_key`` is given."""
        body, event_id, event_type = _encode(event, validate)
        event_type = routing_key or event_type
        props = pika.BasicProperties(
            content_type=CONTENT_TYPE,
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=event_id,
        )
        try:
            for attempt in Retrying(
                retry=retry_if_exception_type(_CONNECTION_ERRORS),
                wait=wait_exponential(multiplier=0.2, max=5),
                stop=stop_after_delay(self.retry_for),
                reraise=True,
            ):
                with attempt:
                    try:
                        self._open().basic_publish(
                            self.exchange, event_type, body, props, mandatory=True
                        )
                    except pika.exceptions.UnroutableError:
                        raise Unroutable(f"no queue is bound to {event_type!r}") from None
                    except _CONNECTION_ERRORS:
                        self.close()
                        raise
        except _CONNECTION_ERRORS as e:
            raise PublishFailed(f"could not publish {event_id}: {e!r}") from None

    def publish_many(
        self, events: Iterable[CloudEvent | dict[str, Any] | bytes], *, validate: bool = True
    ) -> int:
        n = 0
        for e in events:
            self.publish(e, validate=validate)
            n += 1
        return n

    def close(self) -> None:
        conn, self._conn, self._channel = self._conn, None, None
        if conn is not None and conn.is_open:
            try:
                conn.close()
            except Exception:  # already broken
                pass


def _encode(event: CloudEvent | dict[str, Any] | bytes, validate: bool) -> tuple[bytes, str, str]:
    if isinstance(event, CloudEvent):
        return event.to_json(), event.id, event.type
    if isinstance(event, dict):
        body = json.dumps(event).encode()
    else:
        body = event
    if validate:
        parsed = decode(body)
        return body, parsed.id, parsed.type
    try:
        obj = json.loads(body)
        return body, str(obj.get("id", "")), str(obj.get("type", "unknown"))
    except (ValueError, AttributeError):
        return body, "", "unknown"
