"""A hand-written pika + psycopg worker doing the same essential work as the hub's consumer:
dedupe by idempotency key, write the effect, publish the answer with confirms, commit, ack.
Run as ``python -m hub.bench.baseline AMQP_URL PG_DSN QUEUE``."""

from __future__ import annotations

import json
import signal
import sys
import uuid

import pika
import psycopg

SCHEMA = """
CREATE TABLE IF NOT EXISTS baseline_inbox (key TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS baseline_effects (id BIGSERIAL PRIMARY KEY, item TEXT, event_id TEXT);
"""


def main(amqp_url: str, dsn: str, queue: str, prefetch: int = 64) -> None:
    db = psycopg.connect(dsn)
    with db.transaction():
        db.execute(SCHEMA)
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = conn.channel()
    channel.confirm_delivery()
    channel.basic_qos(prefetch_count=prefetch)

    def on_message(ch, method, props, body):  # type: ignore[no-untyped-def]
        event = json.loads(body)
        key = event.get("idempotencykey") or f"{event['source']}#{event['id']}"
        with db.transaction():
            fresh = db.execute(
                "INSERT INTO baseline_inbox (key) VALUES (%s) ON CONFLICT DO NOTHING", (key,)
            ).rowcount
            if fresh:
                db.execute(
                    "INSERT INTO baseline_effects (item, event_id) VALUES (%s, %s)",
                    (event["data"]["item"], event["id"]),
                )
                answer = {
                    **event,
                    "id": str(uuid.uuid4()),
                    "type": "bench.item.booked",
                    "causationid": event["id"],
                }
                ch.basic_publish(
                    "hub.events",
                    "bench.item.booked",
                    json.dumps(answer).encode(),
                    pika.BasicProperties(delivery_mode=2, message_id=answer["id"]),
                )
        ch.basic_ack(method.delivery_tag)

    channel.basic_consume(queue, on_message)
    signal.signal(signal.SIGTERM, lambda *_: channel.stop_consuming())
    try:
        channel.start_consuming()
    finally:
        conn.close()
        db.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
