"""Transport adapters and the one function that picks one from a broker URL."""

from __future__ import annotations

from hub.runtime.transport import Transport


def transport_for(url: str, **options: object) -> Transport:
    scheme = url.split("://", 1)[0]
    if scheme in {"amqp", "amqps", "pyamqp"}:
        from hub.runtime.transports.amqp import AmqpTransport

        return AmqpTransport(url, **options)  # type: ignore[arg-type]
    if scheme.startswith("sqla+"):
        from hub.runtime.transports.sql import SqlTransport

        return SqlTransport(url.removeprefix("sqla+"), **options)  # type: ignore[arg-type]
    if scheme == "kafka":
        from hub.runtime.transports.kafka import KafkaTransport

        return KafkaTransport(url, **options)  # type: ignore[arg-type]
    if scheme == "memory":
        from hub.runtime.transports.memory import MemoryTransport

        return MemoryTransport.named(url)
    raise ValueError(f"no transport for {url!r}")
