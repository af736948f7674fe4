"""A workflow configuration's ``companies`` section, as a seed of the stored companies.

Applying a configuration creates each company and branch it lists that the tenant does not have;
the stored records are the truth from then on (the ERP's events and local edits change them).
A configuration that drops a company or branch the previous one listed is refused while data is
linked to it; otherwise the stored record stays (delete it with ``hub companies delete``).
"""

from __future__ import annotations

from hub.companies.links import DELIVERY_LOCATIONS, delivery_locations, describe, links_of
from hub.companies.service import Companies, Record
from hub.runtime.uow import UnitOfWork
from hub.workflow.config import WorkflowConfig


def records_of(config: WorkflowConfig) -> list[Record]:
    """The companies and branches the configuration lists, companies first."""
    out = []
    for cid, company in config.companies.items():
        out.append(Record(cid, company.name or cid))
        out.extend(Record(cid, b.name or bid, branch=bid) for bid, b in company.branches.items())
    return out


def stored(uow: UnitOfWork) -> dict[str, set[str]]:
    """The tenant's companies, each with its branches' ids."""
    return Companies(uow).known()


def dropped_in_use(
    uow: UnitOfWork, previous: WorkflowConfig | None, config: WorkflowConfig
) -> list[str]:
    """A problem for each company or branch ``previous`` listed and ``config`` does not, while
    data is linked to it (the delivery locations counted are ``config``'s own)."""
    if previous is None:
        return []
    problems = []
    kept = {(r.company, r.branch) for r in records_of(config)}
    for r in records_of(previous):
        if (r.company, r.branch) in kept or (r.branch and (r.company, None) not in kept):
            continue  # kept, or a branch of a dropped company: the company's counts say it
        linked = links_of(uow.session, uow.tenant, r.company, r.branch, skip={DELIVERY_LOCATIONS})
        places = delivery_locations(config, r.company, r.branch)
        if places:
            linked[DELIVERY_LOCATIONS] = places
        if not linked:
            continue
        where = f"companies[{r.company}]" + (f".branches[{r.branch}]" if r.branch else "")
        problems.append(f"{where}: dropped while in use ({describe(linked)})")
    return problems
