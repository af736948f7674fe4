"""E-mail to customers about their tickets (seed 002): when a ticket comes back to their
responsibility, and when it is completed or cancelled.

The ``portal-mail`` consumer calls these on the hub's own ``crm.ticket.stage-changed`` and
``crm.ticket.cancelled`` events. A customer is written to only when they have an enabled
portal account (its address and language) and the tenant's ``customer_mail`` setting is on.
The mail goes through the ticket's company/branch SMTP settings, and its id follows from the
event, so a redelivered event queues nothing new.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

from hub.mail.outbox import OutgoingMail, queue_mail
from hub.portal.i18n import DEFAULT, gettext
from hub.portal.settings import portal_settings
from hub.portal.tables import PortalAccount
from hub.runtime.uow import UnitOfWork
from hub.workflow.errors import TicketNotFound
from hub.workflow.repository import TicketRepository
from hub.workflow.tickets import Ticket

log = logging.getLogger("hub.portal")

Why = Literal["yours", "completed", "cancelled"]
#: Where customers reach the hub (``HUB_PUBLIC_URL``), read only when a mail is written.
Link = Callable[[], str]


def on_stage_changed(uow: UnitOfWork, ticket_id: str, to_stage: str, *, public_url: Link) -> None:
    """Write to the customer if entering ``to_stage`` hands them the ticket or completes it."""
    ticket = _ticket(uow, ticket_id)
    if ticket is None:
        return
    stage = ticket.ticket_type.stages.get(to_stage)
    if stage is None:
        return
    if stage.concludes:
        _write(uow, ticket, "completed", to_stage, public_url=public_url)
    elif stage.assignment is not None and stage.assignment.kind == "customer":
        _write(uow, ticket, "yours", to_stage, public_url=public_url)


def on_cancelled(uow: UnitOfWork, ticket_id: str, reason: str, *, public_url: Link) -> None:
    """Write to the customer that their ticket was cancelled, and why."""
    ticket = _ticket(uow, ticket_id)
    if ticket is not None:
        _write(uow, ticket, "cancelled", reason, public_url=public_url)


def _ticket(uow: UnitOfWork, ticket_id: str) -> Ticket | None:
    try:
        return TicketRepository(uow.session, uow.tenant).get(ticket_id)
    except TicketNotFound:  # not this tenant's, or deleted since
        return None


def _write(uow: UnitOfWork, ticket: Ticket, why: Why, detail: str, *, public_url: Link) -> None:
    if ticket.customer_id is None or not portal_settings(uow.session, uow.tenant).customer_mail:
        return
    account = uow.session.get(PortalAccount, (uow.tenant, ticket.customer_id))
    if account is None or account.status == "disabled":
        return
    mail = ticket_mail(
        account.language or DEFAULT, why, ticket, detail, public_url=public_url(), to=account.email
    )
    queue_mail(
        uow, mail, about=f"portal-{why}:{ticket.id}", company=ticket.company, branch=ticket.branch
    )
    log.info("ticket %s: e-mailed customer %s (%s)", ticket.id, ticket.customer_id, why)


def ticket_mail(
    language: str, why: Why, ticket: Ticket, detail: str, *, public_url: str, to: str
) -> OutgoingMail:
    """The e-mail to the customer in ``language``; ``detail`` is the cancellation's reason."""

    def _(message: str) -> str:
        return gettext(language, message, "mail")

    names = {"ticket": ticket.id, "subject": ticket.subject or ticket.ticket_type.name}
    if why == "yours":
        subject = _("Your request %(ticket)s is waiting for you") % names
        said = _("Your request %(ticket)s (%(subject)s) came back to you: it needs your action.")
    elif why == "completed":
        subject = _("Your request %(ticket)s is completed") % names
        said = _("Your request %(ticket)s (%(subject)s) is completed.")
    else:
        subject = _("Your request %(ticket)s was cancelled") % names
        said = _("Your request %(ticket)s (%(subject)s) was cancelled. Reason: %(reason)s")
    link = f"{public_url.rstrip('/')}/portal/tickets/{ticket.id}"
    text = "\n\n".join(
        [
            _("Hello,"),
            said % {**names, "reason": detail},
            _("See it in the customer portal:"),
            link,
        ]
    )
    return OutgoingMail(to=to, sender_name="", subject=subject, text=text + "\n")
