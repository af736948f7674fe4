"""What is linked to a company or a branch: a small registry of named counters.

A counter answers how many rows of one kind a tenant has in a company (``branch`` ``None``: in
any of its branches or in the company as a whole) or in one branch. A company or branch with a
non-zero count cannot be deleted, and a configuration may not drop it. Another module registers
its own kind in one line::

    links.register("SMTP settings", count_smtp_settings)
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from hub.education.tables import CustomerDebtRow, EnrollmentRow
from hub.files import servers as file_servers
from hub.identity.tables import UserScopeRow
from hub.mail import servers as mail_servers
from hub.workflow.config import WorkflowConfig
from hub.workflow.errors import NoConfiguration
from hub.workflow.repository import ConfigVersions
from hub.workflow.tables import TicketRow

#: ``count(session, tenant, company, branch | None) -> int``
Counter = Callable[[Session, str, str, str | None], int]


@dataclass(frozen=True)
class Link:
    label: str
    count: Counter


LINKS: list[Link] = []


def register(label: str, count: Counter) -> None:
    """Count ``label`` (plural, e.g. ``tickets``) among the links of companies and branches;
    registering a label again replaces its counter in place."""
    link = Link(label, count)
    at = next((i for i, known in enumerate(LINKS) if known.label == label), None)
    if at is None:
        LINKS.append(link)
    else:
        LINKS[at] = link


def links_of(
    session: Session,
    tenant: str,
    company: str,
    branch: str | None = None,
    *,
    skip: Collection[str] = (),
) -> dict[str, int]:
    """The non-zero counts of what is linked to ``company`` (or its ``branch``), by label;
    ``skip``: labels left out."""
    counts = {
        link.label: link.count(session, tenant, company, branch)
        for link in LINKS
        if link.label not in skip
    }
    return {label: n for label, n in counts.items() if n}


def describe(counts: dict[str, int]) -> str:
    """``3 tickets, 1 users' scope`` of ``links_of``'s answer."""
    return ", ".join(f"{n} {label}" for label, n in counts.items())


def _count(session: Session, *where: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).where(*where)) or 0


def _tickets(session: Session, tenant: str, company: str, branch: str | None) -> int:
    at = [TicketRow.tenant_id == tenant, TicketRow.company == company]
    return _count(session, *at, *([TicketRow.branch == branch] if branch else []))


def _scopes(session: Session, tenant: str, company: str, branch: str | None) -> int:
    at = [UserScopeRow.tenant_id == tenant, UserScopeRow.company == company]
    return _count(session, *at, *([UserScopeRow.branch == branch] if branch else []))


def _enrollments(session: Session, tenant: str, company: str, branch: str | None) -> int:
    if branch is not None:  # enrollments belong to a company, not to one of its branches
        return 0
    return _count(
        session, and_(EnrollmentRow.tenant_id == tenant, EnrollmentRow.company == company)
    )


def _debts(session: Session, tenant: str, company: str, branch: str | None) -> int:
    if branch is not None:
        return 0
    return _count(
        session, and_(CustomerDebtRow.tenant_id == tenant, CustomerDebtRow.company == company)
    )


def delivery_locations(config: WorkflowConfig, company: str, branch: str | None) -> int:
    """The delivery locations of ``config`` in ``company`` (or in its ``branch``)."""
    return sum(
        1
        for place in config.delivery_locations.values()
        if place.company == company and (branch is None or place.branch == branch)
    )


def _delivery_locations(session: Session, tenant: str, company: str, branch: str | None) -> int:
    try:
        _, config = ConfigVersions(session, tenant).current()
    except NoConfiguration:
        return 0
    return delivery_locations(config, company, branch)


DELIVERY_LOCATIONS = "delivery locations"

register("tickets", _tickets)
register("users' scope", _scopes)
register("enrollments", _enrollments)
register("debts", _debts)
register(DELIVERY_LOCATIONS, _delivery_locations)
register("SMTP settings", mail_servers.count_for)
register("file-server settings", file_servers.count_for)
