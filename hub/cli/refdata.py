"""``hub refdata``: reference data kept from ERP events (enrollments, debts, companies and
branches)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import typer

from hub.cli.common import BY_OPTION, TENANT_OPTION, actor_of, allow, fail, tenant_store
from hub.companies import bulk as companies
from hub.companies.service import Record
from hub.education import bulk as education
from hub.education.refdata import Debt, Enrollment
from hub.records import read_record

app = typer.Typer(help="Reference data kept from ERP events.", no_args_is_help=True)

KINDS = {**education.KINDS, **companies.KINDS}


def parse_lines(
    lines: Iterable[str],
) -> tuple[list[Enrollment | Debt], list[Record], list[str]]:
    """The educational records, the companies and branches, and every problem (``line N:
    ...``) of a JSON-lines text."""
    records: list[Enrollment | Debt] = []
    places: list[Record] = []
    problems: list[str] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event_type, data = read_record(line, KINDS)
            if event_type in companies.KINDS.values():
                places.append(companies.parse_data(event_type, data))
            else:
                records.append(education.parse_data(event_type, data))
        except ValueError as e:
            problems.append(f"line {n}: {e}")
    return records, places, problems


@app.command("load")
def load_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Load enrollments, debts, companies and branches from a JSON-lines file (one CloudEvent
    or one record with a `kind` of `enrollment`, `debt`, `company` or `branch` a line). Nothing
    is loaded when a line is invalid; records older than the stored version are skipped."""
    with file.open(encoding="utf-8") as fh:
        records, places, problems = parse_lines(fh)
    if problems:
        fail(problems[0], problems)
    with tenant_store(tenant) as (factory, chosen):
        if records or not places:
            allow(factory, chosen, actor_of(by), "student_requests", "include")
        if places:
            allow(factory, chosen, actor_of(by), "companies", "include")
        loaded = companies.load(factory, places, tenant=chosen)
        report = education.load(factory, records, tenant=chosen)
    if places:
        typer.echo(
            f"loaded {loaded.companies} company(ies) and {loaded.branches} branch(es): "
            f"{loaded.applied} applied, {loaded.stale} not newer than the stored version"
        )
    if records or not places:
        typer.echo(
            f"loaded {report.enrollments} enrollment(s) and {report.debts} debt(s): "
            f"{report.applied} applied, {report.stale} not newer than the stored version"
        )
