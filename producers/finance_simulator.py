"""A simulator of the financial module: it publishes agreements pending approval (and their
cancellations), listens to the hub's decisions and creates an agreement in its own table only
when it is approved, as the ERP does.

    python -m producers.finance_simulator pending A-100 --amount 1200.00 --installments 3
    python -m producers.finance_simulator listen --seconds 30
    python -m producers.finance_simulator agreements --json

The broker and the hub's settings come from ``HUB_BROKER_URL`` (default: the embedded broker);
the simulator's own database from ``--database`` (default: ``finance-simulator.sqlite`` in the
hub's data directory). On RabbitMQ it publishes with ``producers.publisher`` (pika, publisher
confirms); on other brokers through the hub's transport.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, String, Table, select
from sqlalchemy.exc import IntegrityError

from hub.runtime.transport import EVENTS_EXCHANGE, Delivery, Outgoing
from hub.runtime.transports import transport_for
from hub.settings import Settings
from hub.store.db import make_engine
from producers.publisher import Publisher
from schemas import CloudEvent, decode

log = logging.getLogger("producers.finance_simulator")

SOURCE = "urn:erp:finance"
DECISIONS_QUEUE = "erp.finance.decisions"
APPROVED = "finance.agreement.approved"
REJECTED = "finance.agreement.rejected"

metadata = MetaData()
#: Agreements the financial module created: one row per approved agreement, never another.
agreements = Table(
    "erp_agreements",
    metadata,
    Column("agreement_id", String(200), primary_key=True),
    Column("ticket_id", String(40), nullable=False),
    Column("approved_by", String(200), nullable=False),
    Column("approved_at", DateTime(timezone=True), nullable=False),
    Column("event_id", String(200), nullable=False),
)


def pending_event(
    agreement_id: str,
    *,
    template: str = "default",
    amount: Decimal = Decimal("1200.00"),
    installments: int = 3,
    customer_id: str = "C-1",
    key: str | None = None,
    first_due: date | None = None,
) -> dict[str, Any]:
    """A ``finance.agreement.pending`` CloudEvent; ``amount`` split into monthly installments
    (the last one takes the cents left over). ``key`` is the idempotency key."""
    if installments < 1:
        raise ValueError("an agreement needs at least one installment")
    share = (amount / installments).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    first = first_due or date.today() + timedelta(days=30)
    parts = [
        {
            "number": n,
            "due_date": (first + timedelta(days=30 * (n - 1))).isoformat(),
            "amount": format(share if n < installments else amount - share * (n - 1), "f"),
        }
        for n in range(1, installments + 1)
    ]
    data = {
        "agreement_id": agreement_id,
        "template": template,
        "customer": {"id": customer_id, "name": f"Customer {customer_id}"},
        "company": "1",
        "branch": "1",
        "amount": format(amount, "f"),
        "installments": parts,
    }
    return _event("finance.agreement.pending", agreement_id, data, key)


def cancelled_event(agreement_id: str, reason: str, *, key: str | None = None) -> dict[str, Any]:
    """A ``finance.agreement.cancelled`` CloudEvent."""
    return _event(
        "finance.agreement.cancelled",
        agreement_id,
        {"agreement_id": agreement_id, "reason": reason},
        key,
    )


def _event(type_: str, subject: str, data: dict[str, Any], key: str | None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": SOURCE,
        "type": type_,
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "subject": subject,
        "data": data,
    }
    if key is not None:
        event["idempotencykey"] = key
    return event


class FinanceSimulator:
    """The financial module's side of the loop, on one broker and its own database."""

    def __init__(self, broker_url: str, database_url: str) -> None:
        self.broker_url = broker_url
        self.engine = make_engine(database_url)
        metadata.create_all(self.engine)
        self.transport = transport_for(broker_url)

    def setup(self) -> None:
        """Declare the simulator's decisions queue (bound to approved / rejected), idempotently.
        Decisions emitted before it exists are not kept for it."""
        self.transport.setup({DECISIONS_QUEUE: [APPROVED, REJECTED]})

    def publish(self, *events: dict[str, Any]) -> None:
        """Publish ``events``; returns once the broker has confirmed them."""
        if self.broker_url.startswith(("amqp://", "amqps://")):
            with Publisher(self.broker_url) as publisher:
                publisher.publish_many(events)
            return
        self.transport.publish(
            [Outgoing(EVENTS_EXCHANGE, e["type"], json.dumps(e).encode(), e["id"]) for e in events]
        )

    def apply(self, event: CloudEvent) -> bool:
        """Act on a decision: create the agreement when approved (once, whatever is redelivered).
        Returns whether an agreement was created now."""
        if event.type != APPROVED:
            log.info("agreement %s not approved: %s", event.subject, event.to_dict()["data"])
            return False
        data = event.to_dict()["data"]
        row = {
            "agreement_id": str(data["agreement_id"]),
            "ticket_id": str(data["ticket_id"]),
            "approved_by": str(data["decided_by"]),
            "approved_at": datetime.fromisoformat(str(data["decided_at"])),
            "event_id": event.id,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(agreements.insert().values(**row))
        except IntegrityError:
            return False  # already created: a redelivered or replayed decision
        log.info("agreement %s created (approved by %s)", row["agreement_id"], row["approved_by"])
        return True

    def listen(self, stop: threading.Event) -> None:
        """Consume decisions until ``stop`` is set."""

        def on_message(delivery: Delivery) -> None:
            try:
                self.apply(decode(delivery.body))
            except Exception:
                log.exception("decision %s not applied", delivery.message_id)
                delivery.requeue()
                time.sleep(1)
                return
            delivery.ack()

        self.transport.consume([DECISIONS_QUEUE], on_message, prefetch=10, stop=stop)

    def created(self) -> list[dict[str, Any]]:
        """The agreements created so far, in agreement id order."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(agreements).order_by(agreements.c.agreement_id))
            return [
                {**r._asdict(), "approved_at": r.approved_at.isoformat()} for r in rows.fetchall()
            ]

    def close(self) -> None:
        self.transport.close()
        self.engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m producers.finance_simulator",
        description="Simulate the financial module: publish pending agreements, create them "
        "when the hub approves them.",
    )
    parser.add_argument("--broker", help="Broker URL (default: HUB_BROKER_URL or the embedded).")
    parser.add_argument("--database", help="The simulator's own database URL.")
    verbs = parser.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("pending", help="Publish an agreement pending approval.")
    p.add_argument("agreement_id")
    p.add_argument("--template", default="default")
    p.add_argument("--amount", type=Decimal, default=Decimal("1200.00"))
    p.add_argument("--installments", type=int, default=3)
    p.add_argument("--customer", default="C-1")
    p.add_argument("--key", help="Idempotency key (default: the event id).")
    c = verbs.add_parser("cancel", help="Publish the cancellation of an agreement.")
    c.add_argument("agreement_id")
    c.add_argument("--reason", required=True)
    c.add_argument("--key", help="Idempotency key (default: the event id).")
    li = verbs.add_parser("listen", help="Consume decisions; create approved agreements.")
    li.add_argument("--seconds", type=float, help="Stop after this long (default: Ctrl-C).")
    a = verbs.add_parser("agreements", help="List the agreements created.")
    a.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    settings = Settings()
    broker = args.broker or settings.effective_broker_url
    database = args.database or (
        f"sqlite:///{(settings.data_dir / 'finance-simulator.sqlite').resolve()}"
    )
    sim = FinanceSimulator(broker, database)
    try:
        sim.setup()
        if args.verb == "pending":
            event = pending_event(
                args.agreement_id,
                template=args.template,
                amount=args.amount,
                installments=args.installments,
                customer_id=args.customer,
                key=args.key,
            )
            sim.publish(event)
            print(event["id"])
        elif args.verb == "cancel":
            event = cancelled_event(args.agreement_id, args.reason, key=args.key)
            sim.publish(event)
            print(event["id"])
        elif args.verb == "listen":
            stop = threading.Event()
            if args.seconds:
                threading.Timer(args.seconds, stop.set).start()
            try:
                sim.listen(stop)
            except KeyboardInterrupt:
                stop.set()
        else:
            rows = sim.created()
            if args.json:
                print(json.dumps(rows, indent=2))
            for r in [] if args.json else rows:
                print(f"{r['agreement_id']}  ticket {r['ticket_id']}  by {r['approved_by']}")
    finally:
        sim.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
