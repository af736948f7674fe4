"""Helpers for the educational-request tests: events, an in-process hub with the educational
consumers and the demo configuration, an SMTP server on loopback."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, select

from consumers import edu_refdata, edu_requests
from hub.bootstrap import Hub, apply_workflow_config, build
from hub.education.tables import ChargeRow, CustomerDebtRow, EduRequestRow, EnrollmentRow
from hub.runtime.uow import Cause, UnitOfWorkFactory
from hub.settings import Settings
from hub.store.models import DeadLetter, InboxEntry, OutboxMessage
from tests.support.harness import outgoing

RA = "RA-2024-001"
PERIOD = "2026-2"


def cloud_event(
    event_type: str, subject: str, data: dict[str, Any], *, event_id: str | None = None
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": "urn:test:erp",
        "type": event_type,
        "time": "2026-11-20T14:00:00Z",
        "subject": subject,
        "datacontenttype": "application/json",
        "data": data,
    }


def enrollment(
    ra: str = RA,
    *,
    version: int = 1,
    status: str = "active",
    disciplines: list[str] | None = None,
    fixed_due_day: int | None = 10,
    contract_id: str = "CT-9",
    period: str = PERIOD,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ra": ra,
        "company": "1",
        "academic_period": period,
        "contract_id": contract_id,
        "contract_status": status,
        "disciplines": disciplines if disciplines is not None else ["MAT101", "FIS201"],
        "version": version,
    }
    if fixed_due_day is not None:
        data["fixed_due_day"] = fixed_due_day
    return cloud_event("edu.enrollment.upserted", ra, data)


def debt(ra: str = RA, amount: str = "0.00", *, version: int = 1) -> dict[str, Any]:
    return cloud_event(
        "finance.debt.upserted",
        ra,
        {"customer_id": ra, "company": "1", "open_amount": amount, "version": version},
    )


def request(
    request_id: str,
    ticket_type: str = "edu.transcript",
    *,
    ra: str = RA,
    parameters: dict[str, Any] | None = None,
    requested_at: str = "2026-11-20T14:00:00Z",
    email_address: str | None = "joao@example.com",
    period: str = PERIOD,
) -> dict[str, Any]:
    return cloud_event(
        "edu.request.created",
        request_id,
        {
            "request_id": request_id,
            "ticket_type": ticket_type,
            "student": {"ra": ra, "name": "João Lima", "email": email_address},
            "company": "1",
            "branch": "1",
            "academic_period": period,
            "delivery_location": "main-office",
            "parameters": parameters or {},
            "requested_at": requested_at,
        },
    )


class EduHub:
    """A running hub with the educational consumers, read through its store."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def publish(self, *events: dict[str, Any]) -> None:
        self.hub.transport.publish([outgoing(e, e["type"]) for e in events])

    def request_row(self, request_id: str) -> EduRequestRow | None:
        with self.hub.uow.sessions() as s:
            return s.get(EduRequestRow, ("default", request_id))

    def charges(self) -> list[ChargeRow]:
        with self.hub.uow.sessions() as s:
            return list(s.scalars(select(ChargeRow).order_by(ChargeRow.request_id)))

    def enrollment_row(self, ra: str = RA, period: str = PERIOD) -> EnrollmentRow | None:
        with self.hub.uow.sessions() as s:
            return s.get(EnrollmentRow, ("default", "1", ra, period))

    def debt_row(self, ra: str = RA) -> CustomerDebtRow | None:
        with self.hub.uow.sessions() as s:
            return s.get(CustomerDebtRow, ("default", "1", ra))

    def outbox(self, kind: str = "event", event_type: str | None = None) -> list[OutboxMessage]:
        query = select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        if event_type is not None:
            query = query.where(OutboxMessage.event_type == event_type)
        with self.hub.uow.sessions() as s:
            return list(s.scalars(query))

    def handled(self, consumer: str) -> int:
        """How many events ``consumer`` has handled (its inbox entries)."""
        query = select(func.count()).where(InboxEntry.consumer == consumer)
        with self.hub.uow.sessions() as s:
            return int(s.scalar(query) or 0)

    def dead_letters(self) -> list[DeadLetter]:
        with self.hub.uow.sessions() as s:
            return list(s.scalars(select(DeadLetter)))


@contextmanager
def running_edu_hub(settings: Settings) -> Iterator[EduHub]:
    hub = build(settings, consumers=[edu_refdata.consumer, edu_requests.consumer])
    apply_workflow_config(hub)
    hub.setup()
    stop = threading.Event()
    hub.start(stop)
    try:
        yield EduHub(hub)
    finally:
        stop.set()
        hub.join()
        hub.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """What an SMTP server on loopback received."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)  # addresses refused with 550
    busy: set[str] = field(default_factory=set)  # addresses put off with 451

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.unknown:
            return "550 5.1.1 no such mailbox here"
        if address in self.busy:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@contextmanager
def smtp_server(port: int, mailbox: Mailbox) -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


def accept_fee(factory: UnitOfWorkFactory, request_id: str, tenant: str = "default") -> str:
    """The demo's second-call exam is charged once the student accepts its fee: the
    secretariat asks (``awaiting-fee``), the student approves (``fee-accepted``). Returns the
    ticket's id."""
    from hub.workflow import service
    from tests.support.harness import wait_until

    found: list[EduRequestRow] = []

    def opened() -> bool:
        with factory.sessions() as s:
            row = s.get(EduRequestRow, (tenant, request_id))
            found[:] = [row] if row is not None and row.ticket_id else []
        return bool(found)

    wait_until(opened, timeout=20, what=f"the ticket of {request_id}")
    ticket_id = str(found[0].ticket_id)
    with factory(Cause.action(tenant=tenant)) as uow:
        ticket = service.move_ticket(uow, ticket_id, "awaiting-fee", reason="R$ 45,00",
                                     by="system:secretariat")
        student = str(ticket.customer_id)
    with factory(Cause.action(tenant=tenant)) as uow:
        service.move_ticket(uow, ticket_id, "fee-accepted", reason=None, by=student)
    return ticket_id
