"""One valid ``data`` per contract event type: for documentation, tests and smoke checks."""

from __future__ import annotations

from typing import Any

EXAMPLE_DATA: dict[str, dict[str, Any]] = {
    "finance.agreement.pending": {
        "agreement_id": "AG-1001",
        "template": "default",
        "customer": {"id": "C-77", "name": "Maria Souza", "email": "maria@example.com"},
        "company": "1",
        "branch": "1",
        "amount": "1500.00",
        "installments": [
            {"number": 1, "due_date": "2026-12-10", "amount": "750.00"},
            {"number": 2, "due_date": "2027-01-10", "amount": "750.00"},
        ],
    },
    "finance.agreement.cancelled": {"agreement_id": "AG-1001", "reason": "customer gave up"},
    "edu.request.created": {
        "request_id": "RQ-501",
        "ticket_type": "edu.transcript",
        "student": {"ra": "RA-2024-001", "name": "João Lima", "email": "joao@example.com"},
        "company": "1",
        "branch": "1",
        "academic_period": "2026-2",
        "delivery_location": "main-office",
        "parameters": {},
        "requested_at": "2026-11-20T14:00:00Z",
    },
    "edu.enrollment.upserted": {
        "ra": "RA-2024-001",
        "company": "1",
        "academic_period": "2026-2",
        "contract_id": "CT-9",
        "contract_status": "active",
        "disciplines": ["MAT101", "FIS201"],
        "fixed_due_day": 10,
        "version": 3,
    },
    "finance.debt.upserted": {
        "customer_id": "RA-2024-001",
        "company": "1",
        "open_amount": "0.00",
        "version": 7,
    },
    "billing.charge.created": {
        "charge_id": "CH-1",
        "request_id": "RQ-501",
        "installment_id": "INST-88",
    },
    "billing.charge.failed": {
        "charge_id": "CH-1",
        "request_id": "RQ-501",
        "reason": "contract closed",
    },
    "crm.ticket.created": {
        "ticket_id": "T-1",
        "ticket_type": "finance.agreement-approval",
        "stage": "analysis",
        "origin_type": "finance.agreement.pending",
        "origin_id": "AG-1001",
    },
    "crm.ticket.stage-changed": {
        "ticket_id": "T-1",
        "from_stage": "analysis",
        "to_stage": "approved",
        "reason": "within policy",
        "by": "ana",
    },
    "crm.ticket.cancelled": {"ticket_id": "T-1", "reason": "agreement cancelled"},
    "crm.ticket.deleted": {
        "ticket_id": "T-1",
        "ticket_type": "edu.transcript",
        "reason": "opened twice",
        "by": "admin",
    },
    "finance.agreement.approved": {
        "agreement_id": "AG-1001",
        "ticket_id": "T-1",
        "decided_by": "ana",
        "decided_at": "2026-11-21T10:00:00Z",
    },
    "finance.agreement.rejected": {
        "agreement_id": "AG-1001",
        "ticket_id": "T-1",
        "decided_by": "ana",
        "decided_at": "2026-11-21T10:00:00Z",
        "reason": "amount above limit",
    },
    "edu.request.rejected": {
        "request_id": "RQ-501",
        "reason": "invalid_parameters",
        "detail": "parameters.discipline: not one of the student's disciplines",
    },
    "crm.ticket.overdue": {
        "ticket_id": "T-1",
        "ticket_type": "finance.agreement-approval",
        "stage": "analysis",
        "due_at": "2026-11-23T10:00:00Z",
        "action": "escalate",
        "holder_kind": "attendant",
        "holder_id": "carla",
    },
    "billing.charge.requested": {
        "charge_id": "CH-1",
        "request_id": "RQ-501",
        "ticket_id": "T-2",
        "student_ra": "RA-2024-001",
        "contract_id": "CT-9",
        "amount": "35.00",
        "due_date": "2026-11-30",
        "service": "edu.transcript",
    },
    "platform.user.upserted": {
        "user_id": "ana",
        "name": "Ana Costa",
        "email": "ana@example.org",
        "active": True,
        "version": 3,
    },
    "crm.tenant.provisioned": {
        "tenant": "acme",
        "plan": "starter",
        "roles": ["Admin", "Director", "Coordinator", "User"],
        "support_user": "support",
    },
    "crm.user.activated": {"user_id": "ana", "by": "support"},
    "erp.company.upserted": {
        "company": "1",
        "name": "Demo University",
        "tax_id": "12.345.678/0001-90",
        "version": 1,
    },
    "erp.branch.upserted": {
        "company": "1",
        "branch": "1",
        "name": "Main campus",
        "headquarters": True,
        "tax_id": "12.345.678/0001-90",
        "version": 1,
    },
    "omni.contact.received": {
        "contact_id": "WA-7001",
        "channel": "whatsapp",
        "customer": {
            "id": "C-1",
            "name": "Carol",
            "email": "carol@example.org",
            "phone": "+55 11 99999-0000",
        },
        "form": "invoice-copy",
        "fields": {"invoice": "NF-1"},
        "agent": "ana",
        "received_at": "2026-11-24T12:00:00Z",
    },
    "crm.occurrence.recorded": {
        "occurrence_id": "OC-1",
        "script_item": "invoice-copy",
        "form": "invoice-copy",
        "ticket_id": "T-1",
        "complement": {"kind": "pending", "status": "pending", "responsible": "ana"},
        "channel": "phone",
        "by": "ana",
    },
    "omni.contact.rejected": {
        "contact_id": "WA-7002",
        "reason": "form_not_enabled",
        "detail": "form transcript is not shown in the omnichannel desk",
    },
}

_SUBJECT_FIELDS = (
    "agreement_id",
    "request_id",
    "ticket_id",
    "ra",
    "customer_id",
    "charge_id",
    "user_id",
    "tenant",
    "contact_id",
    "occurrence_id",
    "company",
)


def example_event(event_type: str, **attributes: Any) -> dict[str, Any]:
    """A structured-mode CloudEvent (as a dict) of ``event_type`` with its example data."""
    data = EXAMPLE_DATA[event_type]
    subject = next(str(data[f]) for f in _SUBJECT_FIELDS if f in data)
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": f"{event_type}-example-1",
        "source": "urn:example:erp",
        "type": event_type,
        "time": "2026-11-20T14:00:00Z",
        "datacontenttype": "application/json",
        "subject": subject,
        "data": data,
    }
    event.update(attributes)
    return event
