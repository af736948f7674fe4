"""A realistic mix of ERP events for the fault-injection tests, and the audit that ends each one.

The mix: pending agreements (some re-sent, some sent again under a new id with the same
idempotency key), student requests (from students whose enrollment was loaded beforehand, and
from one who is not enrolled), reference-data upserts (some arriving out of version order) and
invalid messages. ``Workload.audit`` reads the store and the downstream tap queue and checks that
every input has exactly its expected effects and outbound events: none twice, none missing.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from hub.clock import SystemClock
from hub.education.bulk import load, parse_lines
from hub.education.tables import EduRequestRow, EnrollmentRow
from hub.finance.tables import AgreementState
from hub.runtime.transport import EVENTS_EXCHANGE, Outgoing
from hub.runtime.transports import transport_for
from hub.runtime.uow import Cause, UnitOfWorkFactory
from hub.store.db import make_engine, upgrade
from hub.store.models import DeadLetter, OutboxMessage
from hub.workflow.service import ensure_config
from hub.workflow.tables import TicketRow
from producers.finance_simulator import pending_event
from tests.support.education import enrollment, request
from tests.support.process import drain_ids

TAP = "test.faults.tap"
#: Outbound event types the tap queue receives and the audit accounts for.
TAPPED = ["crm.ticket.created", "billing.charge.requested", "edu.request.rejected"]
#: What one input of each kind must cause, by outbound event type (counted by causation).
EXPECTED = {
    "agreement": {"crm.ticket.created": 1},
    "request": {"crm.ticket.created": 1, "billing.charge.requested": 1},
    "not_enrolled": {"edu.request.rejected": 1},
}
CONSUMERS = "finance-agreements,edu-refdata,edu-requests"


@dataclass
class Input:
    kind: str  # agreement | request | not_enrolled | enrollment | invalid
    key: str  # agreement id, request id, RA, or a label for an invalid message
    messages: list[Outgoing] = field(default_factory=list)

    @property
    def ids(self) -> set[str]:
        return {m.message_id for m in self.messages}


@dataclass
class Workload:
    """``agreements`` pending agreements, ``requests`` student requests, ``upserts`` enrollment
    upserts and ``invalid`` invalid messages; ``resend`` is the share of inputs sent again,
    ``copies`` how many times each input is sent (a flood of duplicates)."""

    agreements: int = 120
    requests: int = 40
    upserts: int = 40
    invalid: int = 4
    resend: float = 0.2
    copies: int = 1
    seed: int = field(default_factory=lambda: random.randrange(1_000_000))
    mail: bool = False
    poison: int = 0  # messages from outside the workload expected in the dead-letter store
    inputs: list[Input] = field(default_factory=list)

    def __post_init__(self) -> None:
        rnd = random.Random(self.seed)
        tag = uuid.uuid4().hex[:6]
        self.students = [f"RA-{tag}-{i}" for i in range(max(1, self.requests // 4))]
        for i in range(self.agreements):
            event = pending_event(f"AG-{tag}-{i}", key=f"agreement-{tag}-{i}")
            item = Input("agreement", event["data"]["agreement_id"], [_out(event)])
            if i % 10 == 3:  # the same agreement again under a new event id, same key
                item.messages.append(_out({**event, "id": str(uuid.uuid4())}))
            self.inputs.append(item)
        for i in range(self.requests):
            ra = self.students[i % len(self.students)]
            event = request(
                f"RQ-{tag}-{i}",
                ra=ra,
                email_address=f"{ra.lower()}@example.com" if self.mail else None,
            )
            self.inputs.append(Input("request", event["subject"], [_out(event)]))
        stranger = request(f"RQ-{tag}-x", ra=f"RA-{tag}-unknown", email_address=None)
        self.inputs.append(Input("not_enrolled", stranger["subject"], [_out(stranger)]))
        for i in range(self.upserts):
            ra = f"RA-{tag}-ref-{i}"
            versions = [enrollment(ra, version=v, contract_id=f"CT-{v}") for v in (1, 2)]
            if i % 2:
                versions.reverse()  # the older version arrives late and must not win
            self.inputs.append(Input("enrollment", ra, [_out(e) for e in versions]))
        for i in range(self.invalid):
            self.inputs.append(Input("invalid", f"invalid-{i}", [_invalid(i, tag)]))
        for item in self.inputs:
            if item.kind != "invalid" and rnd.random() < self.resend:
                item.messages.append(item.messages[0])  # re-sent: same id, same bytes
        self.order = [
            m
            for item in self.inputs
            for m in item.messages
            for _ in range(1 if item.kind == "invalid" else self.copies)
        ]  # each invalid send is dead-lettered on its own: it has no key to recognise it by
        rnd.shuffle(self.order)

    @property
    def size(self) -> int:
        return len(self.order)

    def prepare(self, broker_url: str, database_url: str) -> None:
        """Migrate the store, apply the demo configuration, load the requesting students'
        enrollments (as a site's initial load does) and declare the topology with a tap queue."""
        upgrade(database_url)
        uow = UnitOfWorkFactory(make_engine(database_url), SystemClock())
        with uow(Cause.action(tenant="default")) as u:
            ensure_config(u)
        records, errors = parse_lines(json.dumps(enrollment(ra)) for ra in self.students)
        assert not errors, errors
        load(uow, records, tenant="default")
        uow.engine.dispose()
        from consumers import ALL

        transport = transport_for(broker_url)
        transport.setup({**{c.queue: c.event_types for c in ALL}, TAP: TAPPED})
        transport.close()

    def publish(self, broker_url: str, *, rate: float = 0.0, chunk: int = 50) -> None:
        """Send every message, ``rate`` per second when given."""
        transport = transport_for(broker_url)
        started = time.monotonic()
        try:
            for i in range(0, len(self.order), chunk):
                transport.publish(self.order[i : i + chunk])
                if rate:
                    ahead = started + (i + chunk) / rate - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
        finally:
            transport.close()

    # -- progress and audit -----------------------------------------------------------------

    @property
    def expected_settled(self) -> int:
        return len(self.inputs) + self.poison

    def settled(self, database_url: str) -> tuple[int, int]:
        """How many inputs the store shows as handled, and how many outbox rows are unsent."""
        engine = make_engine(database_url)
        try:
            with engine.connect() as conn:
                done = conn.execute(
                    select(func.count())
                    .select_from(AgreementState)
                    .where(AgreementState.ticket_id.is_not(None))
                ).scalar_one()
                done += conn.execute(select(func.count()).select_from(EduRequestRow)).scalar_one()
                done += conn.execute(
                    select(func.count())
                    .select_from(EnrollmentRow)
                    .where(EnrollmentRow.version == 2)
                ).scalar_one()
                done += conn.execute(select(func.count()).select_from(DeadLetter)).scalar_one()
                unsent = conn.execute(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.sent_at.is_(None))
                ).scalar_one()
        finally:
            engine.dispose()
        return int(done), int(unsent)

    def wait_settled(
        self, database_url: str, timeout: float, alive: Callable[[], None] = lambda: None
    ) -> None:
        """Wait until every input is handled and the outbox is empty; ``alive`` raises when the
        hub under test died."""
        deadline = time.monotonic() + timeout
        done, unsent = -1, -1
        while time.monotonic() < deadline:
            alive()
            try:
                done, unsent = self.settled(database_url)
            except Exception:  # the store may be the thing under fault; ask again
                time.sleep(0.5)
                continue
            if done >= self.expected_settled and unsent == 0:
                return
            time.sleep(0.25)
        try:
            problems = self._store_problems(database_url)[0]
        except Exception as e:  # the store under fault: say so, keep the first finding
            problems = [f"the store could not be read: {e}"]
        raise AssertionError(
            f"{done} of {self.expected_settled} inputs settled, {unsent} outbox rows unsent "
            f"after {timeout}s (seed {self.seed}):\n  " + "\n  ".join(problems[:40])
        )

    def audit(self, broker_url: str, database_url: str) -> AuditReport:
        """Check every input's effects and outbound events in the store, then every outbound
        event on the wire. Raises ``AssertionError`` listing every discrepancy."""
        problems, outbox = self._store_problems(database_url)
        expected_ids = {
            row.event_id for row in outbox if row.kind == "event" and row.event_type in TAPPED
        }
        wire = Counter(drain_ids(broker_url, TAP, expected_ids))
        missing = expected_ids - set(wire)
        stray = set(wire) - expected_ids
        if missing:
            problems.append(f"{len(missing)} outbound events never reached the tap queue")
        if stray:
            problems.append(f"{len(stray)} events on the wire that the outbox does not hold")
        assert not problems, f"audit (seed {self.seed}):\n  " + "\n  ".join(problems[:40])
        return AuditReport(
            inputs=len(self.inputs),
            messages=self.size,
            outbound=len(expected_ids),
            wire_repeats=sum(wire.values()) - len(wire),
        )

    def _store_problems(self, database_url: str) -> tuple[list[str], list[Any]]:
        """What the store shows wrong for each input, and the outbox rows."""
        problems: list[str] = []
        engine = make_engine(database_url)
        with engine.connect() as conn:
            outbox = conn.execute(
                select(
                    OutboxMessage.event_id,
                    OutboxMessage.event_type,
                    OutboxMessage.kind,
                    OutboxMessage.causation_id,
                    OutboxMessage.sent_at,
                )
            ).all()
            agreements = dict(
                conn.execute(select(AgreementState.agreement_id, AgreementState.ticket_id)).all()
            )
            tickets = Counter(
                conn.execute(select(TicketRow.origin_id).where(TicketRow.origin_id.is_not(None)))
                .scalars()
                .all()
            )
            requests = dict(
                conn.execute(select(EduRequestRow.request_id, EduRequestRow.status)).all()
            )
            versions = dict(conn.execute(select(EnrollmentRow.ra, EnrollmentRow.version)).all())
            contracts = dict(
                conn.execute(select(EnrollmentRow.ra, EnrollmentRow.contract_id)).all()
            )
            dead = conn.execute(select(DeadLetter.event_id, DeadLetter.body)).all()
        engine.dispose()

        caused: dict[str, Counter[str]] = {}
        for row in outbox:
            if row.kind == "event" and row.causation_id:
                caused.setdefault(row.causation_id, Counter())[row.event_type] += 1
            if row.sent_at is None:
                problems.append(f"outbox row {row.event_id} ({row.event_type}) never sent")
        mails = Counter(row.causation_id for row in outbox if row.kind == "mail")
        for item in self.inputs:
            effects: Counter[str] = Counter()
            for event_id in item.ids:
                effects.update(caused.get(event_id, Counter()))
            wanted = EXPECTED.get(item.kind, {})
            got = {t: n for t, n in effects.items() if t in TAPPED}
            if got != wanted:
                problems.append(f"{item.kind} {item.key}: outbound {got}, expected {wanted}")
            if item.kind == "agreement":
                if not agreements.get(item.key):
                    problems.append(f"agreement {item.key}: no ticket")
                if tickets[item.key] != 1:
                    problems.append(f"agreement {item.key}: {tickets[item.key]} tickets")
            elif item.kind in {"request", "not_enrolled"}:
                opened = 1 if item.kind == "request" else 0
                if requests.get(item.key) != ("opened" if opened else "rejected"):
                    problems.append(f"request {item.key}: status {requests.get(item.key)}")
                if tickets[item.key] != opened:
                    problems.append(f"request {item.key}: {tickets[item.key]} tickets")
                if self.mail and item.kind == "request":
                    sent = sum(mails[i] for i in item.ids)
                    if sent != 1:
                        problems.append(f"request {item.key}: {sent} mails queued")
            elif item.kind == "enrollment" and (
                versions.get(item.key) != 2 or contracts.get(item.key) != "CT-2"
            ):
                problems.append(
                    f"enrollment {item.key}: version {versions.get(item.key)}, "
                    f"contract {contracts.get(item.key)} (expected version 2, CT-2)"
                )
        invalid = [i for i in self.inputs if i.kind == "invalid"]
        bodies = Counter(bytes(row.body) for row in dead)
        for item in invalid:
            body = item.messages[0].body
            if bodies[body] != 1:
                problems.append(f"{item.key}: dead-lettered {bodies[body]} times, expected once")
        if len(dead) != len(invalid) + self.poison:
            problems.append(f"{len(dead)} dead letters, expected {len(invalid) + self.poison}")
        return problems, list(outbox)


@dataclass(frozen=True)
class AuditReport:
    inputs: int
    messages: int
    outbound: int
    wire_repeats: int  # re-publications of one event id (allowed: same id, recognisable)


def _out(event: dict[str, Any]) -> Outgoing:
    return Outgoing(
        EVENTS_EXCHANGE,
        event["type"],
        json.dumps(event).encode(),
        event["id"],
        key=event["subject"],
    )


def _invalid(i: int, tag: str) -> Outgoing:
    kinds: list[tuple[str, bytes]] = [
        ("finance.agreement.pending", b"{not json at all " + tag.encode()),
        ("edu.request.created", json.dumps({"hello": f"not a cloud event {tag}"}).encode()),
        (
            "finance.agreement.pending",
            json.dumps(
                {
                    **pending_event(f"AG-{tag}-bad-{i}"),
                    "data": {"agreement_id": f"AG-{tag}-bad-{i}", "amount": "lots"},
                }
            ).encode(),
        ),
        (
            "edu.enrollment.upserted",
            json.dumps({**enrollment(f"RA-{tag}-bad-{i}"), "specversion": "0.3"}).encode(),
        ),
    ]
    routing_key, body = kinds[i % len(kinds)]
    return Outgoing(EVENTS_EXCHANGE, routing_key, body, f"invalid-{tag}-{i}")
