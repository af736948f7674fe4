"""The batched hand-written loop: the same essential work as ``hub.bench.baseline``, written
for throughput. Up to 100 messages are taken at a time and cost a constant number of
statements: the idempotency keys are claimed in one ``INSERT .. ON CONFLICT DO NOTHING
RETURNING``, the batch's enrollments are read once, and tickets, enrollment upserts and dead
letters are each one multi-row statement (rows passed as one JSON parameter, which the driver
sends as it is); the answers are published in one broker transaction
before the database commits, and the batch is acked at once after it. No retries, no outbox,
no workflow: what this machine can do, the "limit" the hub is compared with.

Run as ``python -m hub.bench.limit AMQP_URL PG_DSN QUEUE``.
"""

from __future__ import annotations

import json
import signal
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import amqp
import pika
import psycopg

from hub.bench.baseline import SCHEMA, answer
from hub.runtime.broker_url import parse_amqp
from producers.publisher import connection_parameters

BATCH = 100


@dataclass
class Batch:
    """What one batch writes and publishes, gathered before any of it is written."""

    tickets: list[dict[str, Any]] = field(default_factory=list)
    enrollments: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    dead: list[tuple[bytes, str]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)


REQUIRED = {
    "finance.agreement.pending": ("agreement_id", "amount"),
    "edu.request.created": ("request_id", "student"),
    "edu.enrollment.upserted": ("ra", "contract_id", "contract_status", "version"),
}


def _checked(body: bytes) -> tuple[str, dict[str, Any]]:
    """The event's idempotency key and the event; raises on what the per-message loop would
    fail on while handling it, so that nothing of a bad event is written."""
    event = json.loads(body)
    kind, data = event["type"], event["data"]
    if kind not in REQUIRED:
        raise ValueError(f"unknown type {kind}")
    missing = [name for name in REQUIRED[kind] if name not in data]
    if missing:
        raise KeyError(missing[0])
    if kind == "finance.agreement.pending":
        Decimal(data["amount"])
    elif kind == "edu.request.created":
        student = data["student"]
        if not isinstance(student, dict) or not isinstance(student.get("ra"), str):
            raise KeyError("student.ra")
    elif kind == "edu.enrollment.upserted":
        int(data["version"])
    return event.get("idempotencykey") or f"{event['source']}#{event['id']}", event


def write_batch(db: psycopg.Connection[Any], bodies: Sequence[bytes]) -> Batch:
    """The effects of ``bodies`` in the open transaction, in at most five statements; returns
    them, with the answers to publish. Later events see earlier ones' enrollments."""
    out = Batch()
    checked: list[tuple[str, dict[str, Any]]] = []
    for body in bodies:
        try:
            checked.append(_checked(body))
        except (ValueError, KeyError, TypeError, ArithmeticError) as e:
            out.dead.append((body, repr(e)))
    fresh: set[str] = set()
    if checked:
        rows = db.execute(
            "INSERT INTO baseline_inbox (key) SELECT jsonb_array_elements_text(%s::jsonb)"
            " ON CONFLICT DO NOTHING RETURNING key",
            (json.dumps([key for key, _ in checked]),),
        ).fetchall()
        fresh = {r[0] for r in rows}
    events = []
    for key, event in checked:
        if key in fresh:
            fresh.discard(key)  # a second copy in the same batch is a duplicate too
            events.append(event)
    ras = {
        e["data"]["student"]["ra"] if e["type"] == "edu.request.created" else e["data"]["ra"]
        for e in events
        if e["type"] != "finance.agreement.pending"
    }
    known: dict[str, tuple[str, int]] = {}
    if ras:
        for ra, status, version in db.execute(
            "SELECT ra, status, version FROM baseline_enrollments"
            " WHERE ra IN (SELECT jsonb_array_elements_text(%s::jsonb))",
            (json.dumps(sorted(ras)),),
        ):
            known[ra] = (status, version)
    for event in events:
        data = event["data"]
        if event["type"] == "finance.agreement.pending":
            ticket = f"T-{uuid.uuid4().hex[:12]}"
            out.tickets.append({"id": ticket, "origin": data["agreement_id"], "body": data})
            out.answers.append(answer(event, "crm.ticket.created", {"ticket_id": ticket}))
        elif event["type"] == "edu.request.created":
            if data["student"]["ra"] not in known:
                out.answers.append(
                    answer(event, "edu.request.rejected", {"reason": "not_enrolled"})
                )
                continue
            ticket = f"T-{uuid.uuid4().hex[:12]}"
            out.tickets.append({"id": ticket, "origin": data["request_id"], "body": data})
            out.answers += [
                answer(event, "crm.ticket.created", {"ticket_id": ticket}),
                answer(event, "billing.charge.requested", {"ticket_id": ticket, "amount": "35.00"}),
            ]
        else:
            ra, version = data["ra"], int(data["version"])
            if ra in known and known[ra][1] >= version:
                continue  # an older version than the one stored
            known[ra] = (data["contract_status"], version)
            out.enrollments[ra] = (data["contract_id"], data["contract_status"], version)
    if out.tickets:
        db.execute(
            "INSERT INTO baseline_tickets (id, origin, body) SELECT id, origin, body"
            " FROM jsonb_to_recordset(%s::jsonb) AS t(id text, origin text, body jsonb)",
            (json.dumps(out.tickets),),
        )
    if out.enrollments:
        db.execute(
            "INSERT INTO baseline_enrollments (ra, contract, status, version)"
            " SELECT ra, contract, status, version FROM jsonb_to_recordset(%s::jsonb)"
            " AS e(ra text, contract text, status text, version bigint)"
            " ON CONFLICT (ra) DO UPDATE SET contract = excluded.contract,"
            " status = excluded.status, version = excluded.version"
            " WHERE baseline_enrollments.version < excluded.version",
            (
                json.dumps(
                    [
                        {"ra": ra, "contract": c, "status": st, "version": v}
                        for ra, (c, st, v) in out.enrollments.items()
                    ]
                ),
            ),
        )
    if out.dead:
        db.execute(
            "INSERT INTO baseline_dead (body, error) SELECT * FROM unnest(%s::bytea[], %s::text[])",
            [list(column) for column in zip(*out.dead, strict=True)],
        )
    return out


def main(amqp_url: str, dsn: str, queue: str, batch: int = BATCH) -> None:
    db = psycopg.connect(dsn)
    with db.transaction():
        db.execute(SCHEMA)
    conn = pika.BlockingConnection(connection_parameters(amqp_url))
    consuming = conn.channel()
    consuming.basic_qos(prefetch_count=batch * 4)
    # py-amqp writes a publication straight to the socket; pika's blocking channel waits on
    # its I/O loop after each one, which would be most of this loop's time
    address = parse_amqp(amqp_url)[0]
    sending = amqp.Connection(
        f"{address.host}:{address.port}",
        userid=address.username,
        password=address.password,
        virtual_host=address.vhost,
    )
    sending.connect()
    publishing = sending.channel()
    publishing.tx_select()
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    pending: list[tuple[int, bytes]] = []
    print("limit consuming", queue, flush=True)
    try:
        for method, _props, body in consuming.consume(queue, inactivity_timeout=0.005):
            if method is not None:
                pending.append((method.delivery_tag, body))
                if len(pending) < batch:
                    continue
            if pending:
                with db.transaction():
                    written = write_batch(db, [b for _, b in pending])
                    for out in written.answers:
                        publishing.basic_publish(
                            amqp.Message(
                                json.dumps(out).encode(), delivery_mode=2, message_id=out["id"]
                            ),
                            exchange="hub.events",
                            routing_key=out["type"],
                        )
                    if written.answers:
                        publishing.tx_commit()
                consuming.basic_ack(pending[-1][0], multiple=True)
                pending.clear()
            if stopping:
                break
    finally:
        sending.close()
        conn.close()
        db.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
