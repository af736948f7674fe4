"""The benchmark's traffic: a realistic mix of ERP events.

Shares of the distinct events: pending agreements 55%, student requests 25% (a tenth of them
from a student who is not enrolled, rejected), enrollment upserts 15%, invalid messages 5%
(malformed JSON and schema violations). A share of the events is sent twice (``duplicates``).
Agreements and requests expect one answer on the wire (``crm.ticket.created`` or
``edu.request.rejected``) whose ``causationid`` is the event's id: latency is measured from
publishing the event to receiving its answer. The ``agreements`` workload is pending agreements
only, each sent twice at the same ``duplicates`` share.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

#: Outbound types that answer an event of the mix.
ANSWERS = ("crm.ticket.created", "edu.request.rejected")
PERIOD = "2026-2"
WORKLOADS = ("mix", "agreements")


@dataclass(frozen=True)
class Message:
    routing_key: str
    body: bytes
    event_id: str
    kind: str  # agreement | request | stranger | enrollment | invalid

    @property
    def answered(self) -> bool:
        return self.kind in {"agreement", "request", "stranger"}


@dataclass
class Mix:
    events: int
    duplicates: float = 0.05
    seed: int = 7
    tag: str = "bench"
    #: ``mix``: the shares above; ``agreements``: pending agreements only.
    workload: str = "mix"

    def __post_init__(self) -> None:
        if self.workload not in WORKLOADS:
            raise ValueError(f"unknown workload {self.workload!r} (choose from {WORKLOADS})")
        rnd = random.Random(self.seed)
        self.students = [f"{self.tag}-RA-{i}" for i in range(max(1, self.events // 40))]
        distinct: list[Message] = []
        for i in range(self.events):
            r = rnd.random()
            eid = f"{self.tag}-{i}"
            if r < 0.55 or self.workload == "agreements":
                distinct.append(_agreement(eid, i))
            elif r < 0.80:
                if rnd.random() < 0.1:
                    distinct.append(_request(eid, f"{self.tag}-RA-none-{i}", "stranger"))
                else:
                    distinct.append(_request(eid, rnd.choice(self.students), "request"))
            elif r < 0.95:
                distinct.append(_enrollment(eid, f"{self.tag}-ref-{i}"))
            else:
                distinct.append(_invalid(eid, i))
        self.distinct = distinct
        self.sends: list[Message] = []
        for m in distinct:
            self.sends.append(m)
            if m.kind != "invalid" and rnd.random() < self.duplicates:
                self.sends.append(m)  # the producer's retry: the same event again
        self.expected_answers = sum(1 for m in distinct if m.answered)
        self.enrollments = sum(1 for m in distinct if m.kind == "enrollment")
        self.invalid = sum(1 for m in distinct if m.kind == "invalid")

    def enrollment_records(self) -> list[dict[str, Any]]:
        """The requesting students' enrollments, loaded before the run."""
        return [_enrollment_data(ra, 1) for ra in self.students]


def _cloud_event(event_id: str, type_: str, subject: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "urn:bench:erp",
        "type": type_,
        "time": "2026-11-24T12:00:00Z",
        "subject": subject,
        "datacontenttype": "application/json",
        "data": data,
    }


def _message(event: dict[str, Any], kind: str) -> Message:
    return Message(event["type"], json.dumps(event).encode(), event["id"], kind)


def _agreement(event_id: str, i: int) -> Message:
    from producers.finance_simulator import pending_event

    event = pending_event(f"AG-{event_id}", customer_id=f"C-{i % 997}")
    return _message({**event, "id": event_id}, "agreement")


def _request(event_id: str, ra: str, kind: str) -> Message:
    request_id = f"RQ-{event_id}"
    data: dict[str, Any] = {
        "request_id": request_id,
        "ticket_type": "edu.transcript",
        "student": {"ra": ra, "name": "João Lima", "email": None},
        "company": "1",
        "branch": "1",
        "academic_period": PERIOD,
        "delivery_location": "main-office",
        "parameters": {},
        "requested_at": "2026-11-20T14:00:00Z",
    }
    return _message(_cloud_event(event_id, "edu.request.created", request_id, data), kind)


def _enrollment_data(ra: str, version: int) -> dict[str, Any]:
    return {
        "ra": ra,
        "company": "1",
        "academic_period": PERIOD,
        "contract_id": f"CT-{ra}",
        "contract_status": "active",
        "disciplines": ["MAT101"],
        "fixed_due_day": 10,
        "version": version,
    }


def _enrollment(event_id: str, ra: str) -> Message:
    return _message(
        _cloud_event(event_id, "edu.enrollment.upserted", ra, _enrollment_data(ra, 1)),
        "enrollment",
    )


def _invalid(event_id: str, i: int) -> Message:
    if i % 2:
        return Message(
            "finance.agreement.pending", b"{not json " + event_id.encode(), event_id, "invalid"
        )
    event = _cloud_event(
        event_id, "finance.agreement.pending", event_id, {"agreement_id": event_id, "amount": "x"}
    )
    return _message(event, "invalid")
