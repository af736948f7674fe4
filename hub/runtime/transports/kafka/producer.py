"""The adapter's one producer: every record confirmed by the brokers or an error raised."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from hub.errors import TransientError
from hub.runtime.transports.kafka.options import KafkaOptions

#: topic, key, value (None: a tombstone), headers
Record = tuple[str, str | None, bytes | None, list[Any]]


class RecordProducer:
    """A confluent-kafka producer with ``acks=all`` and idempotence on, created on first use
    and shared by the threads of the process."""

    def __init__(self, options: KafkaOptions, publish_timeout: float) -> None:
        self.options = options
        self.publish_timeout = publish_timeout
        self._lock = threading.Lock()
        self._producer: Producer | None = None

    def produce(self, records: Sequence[Record]) -> None:
        """Send ``records`` and wait for every delivery report; ``TransientError`` when the
        brokers refuse one or do not confirm them all within ``publish_timeout`` seconds."""
        if not records:
            return
        errors: list[str] = []

        def report(err: KafkaError | None, _msg: Any) -> None:
            if err is not None:
                errors.append(str(err))

        with self._lock:
            producer = self.client()
            try:
                for topic, key, value, headers in records:
                    while True:
                        try:
                            producer.produce(
                                topic,
                                value=value,
                                key=key.encode() if key is not None else None,
                                headers=headers,
                                on_delivery=report,
                            )
                            break
                        except BufferError:  # the local queue is full: let it drain
                            producer.poll(0.1)
                left = producer.flush(self.publish_timeout)
            except KafkaException as e:
                raise TransientError(f"Kafka publish failed: {e}") from None
        if left:
            raise TransientError(f"Kafka did not confirm {left} message(s) in time")
        if errors:
            raise TransientError(f"Kafka refused {len(errors)} message(s): {errors[0]}")

    def client(self) -> Producer:
        """The confluent-kafka producer itself (also asked for topic metadata)."""
        if self._producer is None:
            self._producer = Producer(
                self.options.client(
                    **{
                        "acks": "all",
                        "enable.idempotence": True,
                        "linger.ms": 2,
                        "message.timeout.ms": int(self.publish_timeout * 1000),
                    }
                )
            )
        return self._producer

    def close(self) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.flush(5)
