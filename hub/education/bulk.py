"""The initial load of reference data from a JSON-lines file.

Each non-blank line is one of:

- a CloudEvent (structured mode, has ``specversion``) of type ``edu.enrollment.upserted`` or
  ``finance.debt.upserted``, exactly as the ERP publishes it;
- a bare record with ``"kind": "enrollment"`` or ``"kind": "debt"`` and the ``data`` fields of
  that event type (``version`` included).

Records go through the same version-ordered upserts as the events, so loading a file twice,
or loading it after newer events arrived, changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from hub.education.refdata import Debt, Enrollment, RefData
from hub.records import first_problem, read_record
from hub.runtime.uow import Cause, UnitOfWorkFactory
from schemas.events import DebtUpserted, EnrollmentUpserted

KINDS = {"enrollment": "edu.enrollment.upserted", "debt": "finance.debt.upserted"}


@dataclass
class LoadReport:
    enrollments: int = 0
    debts: int = 0
    applied: int = 0
    stale: int = 0


def parse_line(line: str) -> Enrollment | Debt:
    """One record of the file; raises ``ValueError`` saying what is wrong with it."""
    return parse_data(*read_record(line, KINDS))


def parse_data(event_type: str, obj: Any) -> Enrollment | Debt:
    """The record of an event's ``data``; raises ``ValueError`` saying what is wrong."""
    try:
        if event_type == "edu.enrollment.upserted":
            return Enrollment.of(EnrollmentUpserted.model_validate(obj))
        if event_type == "finance.debt.upserted":
            return Debt.of(DebtUpserted.model_validate(obj))
    except ValidationError as e:
        raise ValueError(first_problem(e, "data")) from None
    raise ValueError(f"event type {event_type!r} is not reference data")


def parse_lines(lines: Iterable[str]) -> tuple[list[Enrollment | Debt], list[str]]:
    """Every record and every problem (``line N: ...``) of a JSON-lines text."""
    records: list[Enrollment | Debt] = []
    problems: list[str] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(parse_line(line))
        except ValueError as e:
            problems.append(f"line {n}: {e}")
    return records, problems


def load(
    uow: UnitOfWorkFactory,
    records: Iterable[Enrollment | Debt],
    batch: int = 500,
    *,
    tenant: str,
) -> LoadReport:
    """Apply ``records`` to ``tenant``'s reference data in transactions of ``batch`` records."""
    report = LoadReport()
    chunk: list[Enrollment | Debt] = []

    def flush() -> None:
        with uow(Cause.action(tenant=tenant)) as u:
            repo = RefData(u.session, u.tenant)
            for r in chunk:
                if isinstance(r, Enrollment):
                    report.enrollments += 1
                    applied = repo.upsert_enrollment(r, u.now())
                else:
                    report.debts += 1
                    applied = repo.upsert_debt(r, u.now())
                report.applied += applied
                report.stale += not applied
        chunk.clear()

    for record in records:
        chunk.append(record)
        if len(chunk) >= batch:
            flush()
    if chunk:
        flush()
    return report
