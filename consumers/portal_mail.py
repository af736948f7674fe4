"""The customer portal's e-mail: a customer hears when their ticket comes back to them, and
when it is completed or cancelled (``hub.portal.notify``).

- ``crm.ticket.stage-changed``: entering a stage assigned to the customer, or one that
  concludes the ticket, e-mails the customer;
- ``crm.ticket.cancelled``: e-mails the customer the reason.

Customers without an enabled portal account, and tenants with ``customer_mail`` off, get
nothing. See ``docs/portal.md``.
"""

from __future__ import annotations

from hub.portal import notify
from hub.runtime.registry import Consumer
from hub.runtime.uow import UnitOfWork
from hub.settings import load_settings
from schemas import CloudEvent
from schemas.events import TicketCancelled, TicketStageChanged

consumer = Consumer("portal-mail")


@consumer.handles("crm.ticket.stage-changed")
def on_stage_changed(event: CloudEvent, uow: UnitOfWork) -> None:
    data = TicketStageChanged.model_validate(event.data)
    notify.on_stage_changed(uow, data.ticket_id, data.to_stage, public_url=_public_url)


@consumer.handles("crm.ticket.cancelled")
def on_cancelled(event: CloudEvent, uow: UnitOfWork) -> None:
    data = TicketCancelled.model_validate(event.data)
    notify.on_cancelled(uow, data.ticket_id, data.reason, public_url=_public_url)


def _public_url() -> str:
    return load_settings().effective_public_url
