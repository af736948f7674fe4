"""The thin publisher an ERP module embeds: pika, publisher confirms, mandatory routing.

    with Publisher("amqp://guest:guest@127.0.0.1:5672/%2F") as pub:
        pub.publish(event)          # a schemas.CloudEvent, a dict or raw bytes

``publish`` returns once RabbitMQ has confirmed the message. An event no queue is bound to
raises ``Unroutable`` instead of vanishing. A lost connection is re-opened and the publish
retried (with backoff, for ``retry_for`` seconds) before ``PublishFailed`` is raised; a broker
that refuses the connection (access refused, no such vhost) raises ``ConnectionRefused`` at once.

The URL takes every documented form (``...:5672//``, ``.../%2f``, ``.../``) and may list a
cluster's nodes (``amqp://h1:5672//;amqp://h2:5673//``, or a list): each connection goes to the
first node that answers, so a publish carries on when a node is lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from types import TracebackType
from typing import Any

import pika
import pika.exceptions
from tenacity import (
    Retrying,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_delay,
    wait_exponential,
)

from hub.runtime.broker_url import parse_amqp
from schemas import CONTENT_TYPE, CloudEvent, decode

EXCHANGE = "hub.events"


class Unroutable(Exception):
    """RabbitMQ returned the message: no queue is bound to its type."""


class PublishFailed(Exception):
    """The broker could not be reached or did not confirm, after retries."""


class ConnectionRefused(PublishFailed):
    """The broker refused the connection: wrong user or password, no such vhost, no
    permission. Raised at once: retrying cannot help."""


#: What pika raises when the broker refuses the connection for good.
_REFUSALS = (
    pika.exceptions.ProbableAuthenticationError,
    pika.exceptions.ProbableAccessDeniedError,
    pika.exceptions.AuthenticationError,
)


def connection_parameters(url: str | list[str]) -> list[pika.URLParameters]:
    """pika's parameters for each node of ``url`` (one URL or a failover list), one attempt
    each, read by the hub's own URL parser (pika reads ``//`` as an empty vhost)."""
    out = []
    for address in parse_amqp(url):
        params = pika.URLParameters(address.url)
        params.connection_attempts = 1
        params.socket_timeout = 5
        out.append(params)
    return out


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
        self,
        url: str | list[str],
        *,
        exchange: str = EXCHANGE,
        retry_for: float = 30.0,
        declare: bool = True,
    ) -> None:
        self.params = connection_parameters(url)
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
            try:
                self._conn = pika.BlockingConnection(self.params)
            except _REFUSALS as e:
                raise ConnectionRefused(_refusal(e)) from None
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
                retry=retry_if_exception_type(_CONNECTION_ERRORS)
                & retry_if_not_exception_type(ConnectionRefused),
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
                    except ConnectionRefused:
                        raise
                    except _CONNECTION_ERRORS:
                        self.close()
                        raise
        except ConnectionRefused:
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


def _refusal(error: BaseException) -> str:
    """One line from pika's refusal: the broker's own reply (``ACCESS_REFUSED - ...``)."""
    text = str(error)
    for code in ("ACCESS_REFUSED", "NOT_ALLOWED"):
        if code in text:
            reply = code + text.split(code, 1)[1].split("'", 1)[0]
            return "RabbitMQ refused the connection: " + reply.split(" For details", 1)[0]
    return f"RabbitMQ refused the connection: {error!r}"


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
