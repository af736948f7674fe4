"""Which integration owns a ticket type: its tickets are opened only through that integration's
rules, never directly (``hub tickets open`` hands such a ticket to the integration).

A type belongs to ``finance`` when an agreement template names it or its service says
``integration: finance``; to ``education`` when its service says ``integration: education`` or
it uses what only the educational integration applies (billing, e-mail on opening, the
student's open debts, options from the student's data). Any other type is opened directly.
"""

from __future__ import annotations

from hub.workflow.config import Integration, TicketType, WorkflowConfig


def _educational(tt: TicketType) -> bool:
    return (
        (tt.billing is not None and tt.billing.charged)
        or (tt.email is not None and tt.email.on_open)
        or tt.check_debts
        or any((p.options_source or "").startswith("student.") for p in tt.parameters.values())
    )


def owner_of(config: WorkflowConfig, type_id: str) -> Integration | None:
    """The integration that opens tickets of ``type_id``, or ``None``. Raises
    ``WorkflowError`` for an unknown type."""
    tt = config.ticket_type(type_id)
    service = config.services.get(tt.service)
    if service is not None and service.integration is not None:
        return service.integration
    if any(t.ticket_type == type_id for t in config.agreement_templates.values()):
        return "finance"
    return "education" if _educational(tt) else None
