"""Who may see and touch which tickets: roles' module permissions and data scope, applied in
one place for the API, the console and the CLI.

- Acting on a ticket needs the action on ``tickets`` and on the module of the ticket's service
  (``agreements``, ``student_requests``); the workflow then decides the move itself (flow,
  holder, field rules).
- A ticket outside the caller's data scope does not exist for them (``TicketNotFound``), so
  nothing tells them it is there.
"""

from __future__ import annotations

from collections.abc import Collection

from hub.identity.access import permissions_of, ticket_modules
from hub.identity.permissions import Permissions
from hub.identity.users import load_directory
from hub.runtime.uow import UnitOfWork
from hub.workflow.config import WorkflowConfig
from hub.workflow.errors import NoConfiguration, TicketNotFound
from hub.workflow.permissions import Reach, reach_of
from hub.workflow.repository import ConfigVersions, TicketFilter, TicketRepository
from hub.workflow.tickets import Ticket


def reach(uow: UnitOfWork, user: str, config: WorkflowConfig | None = None) -> Reach:
    """The tickets ``user``'s data scope reaches (groups from ``config``, default: the newest)."""
    if config is None:
        try:
            config = ConfigVersions(uow.session, uow.tenant).current()[1]
        except NoConfiguration:
            config = WorkflowConfig()
    return reach_of(config, load_directory(uow.session, uow.tenant), user)


def check_modules(granted: Permissions, ticket: Ticket, action: str) -> None:
    """Raise ``Forbidden`` unless ``granted`` allows ``action`` on every module of ``ticket``."""
    for module in ticket_modules(ticket.ticket_type.service):
        granted.check(module, action)


def visible_ticket(uow: UnitOfWork, user: str, ticket_id: str, action: str = "view") -> Ticket:
    """The ticket, when ``user`` may see it and do ``action`` on it. Raises ``TicketNotFound``
    for a ticket outside their data scope (or tenant) and ``Forbidden`` when a role lacks the
    action. The ticket's own customer (``user`` = its ``customer_id``, not a user) sees it; the
    workflow decides what they may do."""
    ticket = TicketRepository(uow.session, uow.tenant).get(ticket_id)
    people = load_directory(uow.session, uow.tenant)
    if people.get(user) is None and ticket.customer_id is not None and user == ticket.customer_id:
        return ticket  # the ticket's own customer: the workflow's customer rules apply
    granted = permissions_of(uow.session, uow.tenant, user)
    granted.check("tickets", "access")
    if not reach(uow, user, ticket.config).covers(ticket.holder, ticket.company, ticket.branch):
        raise TicketNotFound(f"no ticket {ticket_id!r}")
    check_modules(granted, ticket, action)
    return ticket


def listing(uow: UnitOfWork, user: str, where: TicketFilter, *, filtered: bool) -> TicketFilter:
    """``where`` narrowed to what ``user`` may list: their data scope and the ticket types whose
    modules they may view. ``filtered``: the caller narrowed the list (needs ``filter``)."""
    granted = permissions_of(uow.session, uow.tenant, user)
    granted.check("tickets", "view")
    if filtered:
        granted.check("tickets", "filter")
    try:
        config = ConfigVersions(uow.session, uow.tenant).current()[1]
    except NoConfiguration:
        config = WorkflowConfig()
    return TicketFilter(
        where.ticket_type,
        where.stage,
        where.status,
        where.holder,
        where.customer_id,
        limit=where.limit,
        visible_to=reach_of(config, load_directory(uow.session, uow.tenant), user),
        types=_viewable_types(config, granted),
    )


def _viewable_types(config: WorkflowConfig, granted: Permissions) -> Collection[str] | None:
    """The ticket types whose service modules ``granted`` may view (``None``: every type)."""
    hidden = [
        tid
        for tid, tt in config.ticket_types.items()
        if not all(granted.allows(m, "view") for m in ticket_modules(tt.service))
    ]
    if not hidden:
        return None
    return [tid for tid in config.ticket_types if tid not in hidden]
