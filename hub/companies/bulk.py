"""The initial load of companies and branches from a JSON-lines file.

A line is a CloudEvent of type ``erp.company.upserted`` or ``erp.branch.upserted``, or a bare
record with ``"kind": "company"`` or ``"kind": "branch"`` and that event's ``data`` fields.
Records go through the same version-ordered upserts as the events, so loading a file twice, or
after newer events arrived, changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from hub.companies.service import Record, upsert
from hub.records import first_problem
from hub.runtime.uow import Cause, UnitOfWorkFactory
from schemas.events import BranchUpserted, CompanyUpserted

KINDS = {"company": "erp.company.upserted", "branch": "erp.branch.upserted"}


@dataclass
class LoadReport:
    companies: int = 0
    branches: int = 0
    applied: int = 0
    stale: int = 0


def parse_data(event_type: str, obj: Any) -> Record:
    """The record of an event's ``data``; raises ``ValueError`` saying what is wrong."""
    try:
        if event_type == "erp.company.upserted":
            return Record.of(CompanyUpserted.model_validate(obj))
        if event_type == "erp.branch.upserted":
            return Record.of(BranchUpserted.model_validate(obj))
    except ValidationError as e:
        raise ValueError(first_problem(e, "data")) from None
    raise ValueError(f"event type {event_type!r} is not a company or a branch")


def load(
    uow: UnitOfWorkFactory, records: Iterable[Record], batch: int = 500, *, tenant: str
) -> LoadReport:
    """Apply ``records`` (companies before their branches) to ``tenant`` in transactions of
    ``batch`` records."""
    report = LoadReport()
    ordered = sorted(records, key=lambda r: r.branch is not None)
    for start in range(0, len(ordered), batch):
        with uow(Cause.action(tenant=tenant)) as u:
            for r in ordered[start : start + batch]:
                if r.branch is None:
                    report.companies += 1
                else:
                    report.branches += 1
                applied = upsert(u, r, by="system:load") != "stale"
                report.applied += applied
                report.stale += not applied
    return report
