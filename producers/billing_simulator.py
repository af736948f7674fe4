"""A simulator of the billing module: answers ``billing.charge.requested`` with
``billing.charge.created`` (an installment on the student's contract) or, for a configured
case, ``billing.charge.failed``.

    python -m producers.billing_simulator --fail-above 1000.00 --fail-contract CT-CLOSED

It behaves as an idempotent billing system: the same ``charge_id`` always gets the same answer
with the same event id (and the same installment id), so a redelivered or replayed request
creates no second installment. The broker is any the hub supports (``HUB_BROKER_URL``
syntax); the simulator binds its own queue, ``billing.simulator``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hub.runtime.transport import EVENTS_EXCHANGE, Delivery, Outgoing, Transport
from schemas import CloudEvent, decode, model_for
from schemas.envelope import utcnow
from schemas.events import ChargeRequested

log = logging.getLogger("producers.billing_simulator")

QUEUE = "billing.simulator"
SOURCE = "urn:erp:billing-simulator"
_NS = uuid.UUID("5b2e7f10-8c3a-4d6b-9e1f-2a7c4b8d0e63")


@dataclass
class BillingRules:
    """When a charge fails: an amount above ``fail_above`` or a contract in ``fail_contracts``."""

    fail_above: Decimal | None = None
    fail_contracts: Collection[str] = field(default_factory=frozenset)

    def failure(self, charge: ChargeRequested) -> str | None:
        if charge.contract_id in self.fail_contracts:
            return f"contract {charge.contract_id} does not accept charges"
        if self.fail_above is not None and charge.amount > self.fail_above:
            return f"amount {format(charge.amount, 'f')} above the limit {format(self.fail_above, 'f')}"
        return None


def answer(request: CloudEvent, rules: BillingRules) -> CloudEvent:
    """Billing's answer to a ``billing.charge.requested`` event (deterministic per charge)."""
    charge = ChargeRequested.model_validate(request.data)
    reason = rules.failure(charge)
    outcome = "failed" if reason else "created"
    event_type = f"billing.charge.{outcome}"
    event_id = str(uuid.uuid5(_NS, f"{charge.charge_id}\x1f{outcome}"))
    data: dict[str, Any] = {"charge_id": charge.charge_id, "request_id": charge.request_id}
    if reason:
        data["reason"] = reason
    else:
        data["installment_id"] = "INST-" + uuid.uuid5(_NS, charge.charge_id).hex[:12]
    return model_for(event_type).model_validate(
        {
            "id": event_id,
            "source": SOURCE,
            "type": event_type,
            "time": utcnow(),
            "subject": request.subject,
            "data": data,
            "tenantid": request.tenantid,
            "idempotencykey": event_id,
            "correlationid": request.chain,
            "causationid": request.id,
        }
    )


class BillingSimulator:
    """Consumes ``billing.charge.requested`` from ``transport`` and publishes the answers."""

    def __init__(self, transport: Transport, rules: BillingRules) -> None:
        self.transport = transport
        self.rules = rules
        self.answered = 0

    def setup(self) -> None:
        self.transport.setup({QUEUE: ["billing.charge.requested"]})

    def handle(self, delivery: Delivery) -> None:
        try:
            request = decode(delivery.body)
            reply = answer(request, self.rules)
        except Exception:
            log.exception("not a valid billing.charge.requested; dropped")
            delivery.ack()
            return
        self.transport.publish(
            [Outgoing(EVENTS_EXCHANGE, reply.type, reply.to_json(), reply.id, key=reply.subject)]
        )
        delivery.ack()
        self.answered += 1
        log.info("%s for charge %s", reply.type, reply.data.charge_id)

    def run(self, stop: threading.Event) -> None:
        self.transport.consume([QUEUE], self.handle, prefetch=16, stop=stop)


def main(argv: list[str] | None = None) -> None:
    from hub.runtime.transports import transport_for
    from hub.settings import load_settings

    parser = argparse.ArgumentParser(
        prog="python -m producers.billing_simulator",
        description="Answer billing.charge.requested with billing.charge.created, or "
        "billing.charge.failed for the configured cases.",
    )
    parser.add_argument(
        "--broker",
        default=None,
        help="Broker URL (amqp://... or sqla+sqlite:///...); default: the hub's own, "
        "from HUB_BROKER_URL or the embedded broker.",
    )
    parser.add_argument(
        "--fail-above", type=Decimal, default=None, help="Fail charges above this amount."
    )
    parser.add_argument(
        "--fail-contract",
        action="append",
        default=[],
        metavar="CONTRACT_ID",
        help="Fail charges on this contract (repeatable).",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    broker = args.broker or load_settings().effective_broker_url
    simulator = BillingSimulator(
        transport_for(broker), BillingRules(args.fail_above, frozenset(args.fail_contract))
    )
    simulator.setup()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log.info("billing simulator consuming %s", QUEUE)
    try:
        simulator.run(stop)
    finally:
        simulator.transport.close()


if __name__ == "__main__":
    main()
