"""Kafka: one topic per event type, a retry topic per hub consumer, consumer groups as queues.

Mapping of the port's addressing (see ``docs/kafka.md``):

- publish to ``hub.events`` with routing key = event type -> topic named as the type; the
  message key is the event ``subject`` (``Outgoing.key``), so one business object's events
  stay in order on one partition; the value is the structured CloudEvent, unchanged;
- publish to the direct exchange ``""`` with routing key = a queue ``hub.<consumer>`` -> the
  topic of that name, the consumer's **retry topic**: delayed retries and dead-letter replays
  reach only the consumer that failed;
- a queue is a consumer group named as the queue, subscribed to the topics of its bindings
  (AMQP-style ``*``/``#`` patterns are matched against the existing topics when the group
  starts) and to its retry topic. Like a new RabbitMQ queue, a new group gets what is published
  after ``setup``: the end offsets of its partitions are committed for it then. Bindings are
  kept in the compacted topic ``hub.topology`` (key = queue), so that every process
  (``hub publish``, ``hub queues``, a second worker) sees the same topology, as RabbitMQ keeps
  bindings in the broker.

Headers travel as Kafka headers (values JSON-encoded, so ``x-hub-attempt`` stays an integer),
plus ``content-type`` and ``message-id`` (the event id). The producer waits for every delivery
report with ``acks=all`` and idempotence on. Consumption runs faust agents
(``groups``).

The URL and its options: ``options``. The package's modules import one way, each only from
those before it in this list: ``options`` (the URL, credentials), ``topology`` (topic and
header names, reading a topic whole), ``producer`` (the confirmed producer), ``view`` (the
streaming view), ``groups`` (the faust consumer groups; they reach the transport through the
``groups.Broker`` protocol), ``adapter`` (``KafkaTransport``).
"""

from hub.runtime.transports.kafka.adapter import KafkaTransport

__all__ = ["KafkaTransport"]
