"""A hand-written pika + psycopg worker doing the essential work of the hub's consumers for the
benchmark's mix, one message at a time: parse and check the event, dedupe by idempotency key,
write the effect (a ticket, a rejection, an enrollment upsert in version order, a dead letter),
publish the answers with publisher confirms, commit, ack. No retries, no outbox, no
dead-letter replay, no workflow: the floor the hub is compared with.

Run as ``python -m hub.bench.baseline AMQP_URL PG_DSN QUEUE``.
"""

from __future__ import annotations

import json
import signal
import sys
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pika
import psycopg

from producers.publisher import connection_parameters

SCHEMA = """
CREATE TABLE IF NOT EXISTS baseline_inbox (key TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS baseline_tickets (id TEXT PRIMARY KEY, origin TEXT, body JSONB);
CREATE TABLE IF NOT EXISTS baseline_enrollments (
    ra TEXT PRIMARY KEY, contract TEXT, status TEXT, version BIGINT);
CREATE TABLE IF NOT EXISTS baseline_dead (id BIGSERIAL PRIMARY KEY, body BYTEA, error TEXT);
"""


def answer(event: dict[str, Any], type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{event['id']}/{type_}")),
        "source": "urn:baseline",
        "type": type_,
        "subject": event.get("subject"),
        "causationid": event["id"],
        "data": data,
    }


def handle(db: psycopg.Connection[Any], event: dict[str, Any]) -> list[dict[str, Any]]:
    """The effects of ``event`` in the open transaction; returns the answers to publish."""
    data = event["data"]
    kind = event["type"]
    if kind == "finance.agreement.pending":
        Decimal(data["amount"])  # raises on a bad amount
        ticket = f"T-{uuid.uuid4().hex[:12]}"
        db.execute(
            "INSERT INTO baseline_tickets (id, origin, body) VALUES (%s, %s, %s)",
            (ticket, data["agreement_id"], json.dumps(data)),
        )
        return [answer(event, "crm.ticket.created", {"ticket_id": ticket})]
    if kind == "edu.request.created":
        ra = data["student"]["ra"]
        row = db.execute("SELECT status FROM baseline_enrollments WHERE ra = %s", (ra,)).fetchone()
        if row is None:
            return [answer(event, "edu.request.rejected", {"reason": "not_enrolled"})]
        ticket = f"T-{uuid.uuid4().hex[:12]}"
        db.execute(
            "INSERT INTO baseline_tickets (id, origin, body) VALUES (%s, %s, %s)",
            (ticket, data["request_id"], json.dumps(data)),
        )
        return [
            answer(event, "crm.ticket.created", {"ticket_id": ticket}),
            answer(event, "billing.charge.requested", {"ticket_id": ticket, "amount": "35.00"}),
        ]
    if kind == "edu.enrollment.upserted":
        db.execute(
            "INSERT INTO baseline_enrollments (ra, contract, status, version)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (ra) DO UPDATE SET contract = excluded.contract,"
            " status = excluded.status, version = excluded.version"
            " WHERE baseline_enrollments.version < excluded.version",
            (data["ra"], data["contract_id"], data["contract_status"], int(data["version"])),
        )
        return []
    raise ValueError(f"unknown type {kind}")


def handle_one(
    db: psycopg.Connection[Any], body: bytes, publish: Callable[[dict[str, Any]], None]
) -> None:
    """One message in its own transaction: dedupe, effects, ``publish`` each answer before the
    commit; a message that cannot be handled is recorded as dead in a transaction of its own."""
    try:
        event = json.loads(body)
        key = event.get("idempotencykey") or f"{event['source']}#{event['id']}"
        with db.transaction():
            fresh = db.execute(
                "INSERT INTO baseline_inbox (key) VALUES (%s) ON CONFLICT DO NOTHING", (key,)
            ).rowcount
            for out in handle(db, event) if fresh else []:
                publish(out)
    except (ValueError, KeyError, TypeError, ArithmeticError) as e:
        with db.transaction():
            db.execute("INSERT INTO baseline_dead (body, error) VALUES (%s, %s)", (body, repr(e)))


def main(amqp_url: str, dsn: str, queue: str, prefetch: int = 64) -> None:
    db = psycopg.connect(dsn)
    with db.transaction():
        db.execute(SCHEMA)
    conn = pika.BlockingConnection(connection_parameters(amqp_url))
    channel = conn.channel()
    channel.confirm_delivery()
    channel.basic_qos(prefetch_count=prefetch)

    def on_message(ch, method, props, body):  # type: ignore[no-untyped-def]
        def publish(out: dict[str, Any]) -> None:
            ch.basic_publish(
                "hub.events",
                out["type"],
                json.dumps(out).encode(),
                pika.BasicProperties(delivery_mode=2, message_id=out["id"]),
            )

        handle_one(db, body, publish)
        ch.basic_ack(method.delivery_tag)

    channel.basic_consume(queue, on_message)
    signal.signal(signal.SIGTERM, lambda *_: channel.stop_consuming())
    print("baseline consuming", queue, flush=True)
    try:
        channel.start_consuming()
    finally:
        conn.close()
        db.close()


def preload(dsn: str, enrollments: list[dict[str, Any]]) -> None:
    """The requesting students' enrollments, as the hub's initial load has them."""
    with psycopg.connect(dsn) as db, db.transaction():
        db.execute(SCHEMA)
        with db.cursor() as cur:
            cur.executemany(
                "INSERT INTO baseline_enrollments (ra, contract, status, version)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [
                    (e["ra"], e["contract_id"], e["contract_status"], e["version"])
                    for e in enrollments
                ],
            )


def counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as db:
        return {
            "enrollments": db.execute("SELECT count(*) FROM baseline_enrollments").fetchone()[0],  # type: ignore[index]
            "dead": db.execute("SELECT count(*) FROM baseline_dead").fetchone()[0],  # type: ignore[index]
        }


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
