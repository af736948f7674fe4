"""``hub refdata``: reference data of the educational integration (enrollments, debts)."""

from __future__ import annotations

from pathlib import Path

import typer

from hub.cli.common import BY_OPTION, TENANT_OPTION, actor_of, allow, fail, tenant_store
from hub.education.bulk import load, parse_lines

app = typer.Typer(help="Reference data kept from ERP events.", no_args_is_help=True)


@app.command("load")
def load_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Load enrollments and debts from a JSON-lines file (one CloudEvent or one record with a
    `kind` of `enrollment` or `debt` a line). Nothing is loaded when a line is invalid; records
    older than the stored version are skipped."""
    with file.open(encoding="utf-8") as fh:
        records, problems = parse_lines(fh)
    if problems:
        fail(problems[0], problems)
    with tenant_store(tenant) as (factory, chosen):
        allow(factory, chosen, actor_of(by), "student_requests", "include")
        report = load(factory, records, tenant=chosen)
    typer.echo(
        f"loaded {report.enrollments} enrollment(s) and {report.debts} debt(s): "
        f"{report.applied} applied, {report.stale} not newer than the stored version"
    )
