"""``hub companies`` and ``hub branches``: a tenant's companies and branches, loaded from the
ERP and edited locally (see ``docs/companies.md``)."""

from __future__ import annotations

from typing import Any

import typer

from hub.cli.common import (
    BY_OPTION,
    JSON_OPTION,
    TENANT_OPTION,
    actor_of,
    authorize,
    print_json,
    tenant_uow,
)
from hub.companies import service

companies = typer.Typer(help="A tenant's companies (coligadas).", no_args_is_help=True)
branches = typer.Typer(help="The branches (filiais) of a tenant's companies.", no_args_is_help=True)

NAME_OPTION: Any = typer.Option(None, "--name", help="The name (needed to create).")
TAX_ID_OPTION: Any = typer.Option(None, "--tax-id", help="The tax id (CNPJ); '' clears it.")


def _company_line(c: dict[str, Any]) -> str:
    return (
        f"{c['id']}  {c['name']}  tax_id={c['tax_id'] or '-'}  source={c['source']}  "
        f"version={c['version'] if c['version'] is not None else '-'}  "
        f"branches={len(c['branches'])}"
    )


def _branch_line(b: dict[str, Any]) -> str:
    return (
        f"{b['company']}/{b['id']}  {b['name']}"
        + ("  (headquarters)" if b["headquarters"] else "")
        + f"  tax_id={b['tax_id'] or '-'}  source={b['source']}"
        + f"  updated by {b['updated_by']} at {b['updated_at']}"
    )


def _tax_id(value: str | None) -> dict[str, Any]:
    return {} if value is None else {"tax_id": value}


# --- companies ---------------------------------------------------------------------------


@companies.command("list")
def companies_list(
    as_json: bool = JSON_OPTION, tenant: str | None = TENANT_OPTION, by: str | None = BY_OPTION
) -> None:
    """Every company of the tenant, with its branches."""
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "companies", "view")
        items = [v.to_json() for v in service.list_companies(uow)]
    if as_json:
        print_json(items)
        return
    for c in items:
        typer.echo(_company_line(c))


@companies.command("show")
def companies_show(
    company: str = typer.Argument(..., metavar="ID"),
    as_json: bool = JSON_OPTION,
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """One company, its branches, and who changed it last and when."""
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "companies", "view")
        data = service.view(uow, company).to_json()
    if as_json:
        print_json(data)
        return
    typer.echo(_company_line(data) + f"  updated by {data['updated_by']} at {data['updated_at']}")
    for b in data["branches"]:
        typer.echo("  " + _branch_line(b))


@companies.command("set")
def companies_set(
    company: str = typer.Argument(..., metavar="ID"),
    name: str | None = NAME_OPTION,
    tax_id: str | None = TAX_ID_OPTION,
    as_json: bool = JSON_OPTION,
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Create a company or change its name or tax id (a local edit: the ERP's next newer
    version overwrites it). Options not given stay as they are."""
    actor = actor_of(by)
    with tenant_uow(tenant) as uow:
        exists = service.Companies(uow).find(company) is not None
        authorize(uow, actor, "companies", "edit" if exists else "include")
        data = service.set_company(uow, company, by=actor, name=name, **_tax_id(tax_id)).to_json()
    if as_json:
        print_json(data)
    else:
        typer.echo(f"company {company} {'saved' if exists else 'created'}")


@companies.command("duplicate")
def companies_duplicate(
    source: str = typer.Argument(..., metavar="FROM"),
    new: str = typer.Argument(..., metavar="NEW"),
    name: str | None = typer.Option(None, "--name", help="The new company's name."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Create company NEW from company FROM: its name (or --name), tax id and branches."""
    actor = actor_of(by)
    with tenant_uow(tenant) as uow:
        authorize(uow, actor, "companies", "include")
        data = service.duplicate_company(uow, source, new, by=actor, name=name).to_json()
    typer.echo(f"company {new} created from {source} with {len(data['branches'])} branch(es)")


@companies.command("delete")
def companies_delete(
    company: str = typer.Argument(..., metavar="ID"),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Delete a company and its branches; refused, listing what is linked, while tickets,
    users' scope, settings, enrollments or delivery locations name it."""
    actor = actor_of(by)
    with tenant_uow(tenant) as uow:
        authorize(uow, actor, "companies", "delete")
        service.delete_company(uow, company, by=actor)
    typer.echo(f"company {company} deleted")


# --- branches ----------------------------------------------------------------------------


@branches.command("list")
def branches_list(
    company: str | None = typer.Argument(None, metavar="[COMPANY]"),
    as_json: bool = JSON_OPTION,
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """The branches of every company, or of COMPANY."""
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "companies", "view")
        repo = service.Companies(uow)
        if company is not None:
            repo.get(company)
        items = [service.branch_json(b) for b in repo.branches(company)]
    if as_json:
        print_json(items)
        return
    for b in items:
        typer.echo(_branch_line(b))


@branches.command("show")
def branches_show(
    company: str = typer.Argument(..., metavar="COMPANY"),
    branch: str = typer.Argument(..., metavar="BRANCH"),
    as_json: bool = JSON_OPTION,
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """One branch."""
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "companies", "view")
        data = service.show_branch(uow, company, branch)
    if as_json:
        print_json(data)
    else:
        typer.echo(_branch_line(data))


@branches.command("set")
def branches_set(
    company: str = typer.Argument(..., metavar="COMPANY"),
    branch: str = typer.Argument(..., metavar="BRANCH"),
    name: str | None = NAME_OPTION,
    headquarters: bool | None = typer.Option(
        None, "--headquarters/--no-headquarters", help="Whether it is the company's head office."
    ),
    tax_id: str | None = TAX_ID_OPTION,
    as_json: bool = JSON_OPTION,
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Create a branch of a company or change it (a local edit, as for companies)."""
    actor = actor_of(by)
    with tenant_uow(tenant) as uow:
        exists = service.Companies(uow).find_branch(company, branch) is not None
        authorize(uow, actor, "companies", "edit" if exists else "include")
        data = service.set_branch(
            uow, company, branch, by=actor, name=name, headquarters=headquarters, **_tax_id(tax_id)
        )
    if as_json:
        print_json(data)
    else:
        typer.echo(f"branch {company}/{branch} {'saved' if exists else 'created'}")


@branches.command("duplicate")
def branches_duplicate(
    company: str = typer.Argument(..., metavar="COMPANY"),
    source: str = typer.Argument(..., metavar="FROM"),
    new: str = typer.Argument(..., metavar="NEW"),
    to_company: str | None = typer.Option(
        None, "--to-company", help="Create it in this company (default: the same)."
    ),
    name: str | None = typer.Option(None, "--name", help="The new branch's name."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Create branch NEW from branch FROM of COMPANY: its name (or --name), headquarters flag
    and tax id."""
    actor = actor_of(by)
    with tenant_uow(tenant) as uow:
        authorize(uow, actor, "companies", "include")
        data = service.duplicate_branch(
            uow, company, source, new, by=actor, to_company=to_company, name=name
        )
    typer.echo(f"branch {data['company']}/{new} created from {company}/{source}")


@branches.command("delete")
def branches_delete(
    company: str = typer.Argument(..., metavar="COMPANY"),
    branch: str = typer.Argument(..., metavar="BRANCH"),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Delete a branch; refused, listing what is linked, while data names it."""
    actor = actor_of(by)
    with tenant_uow(tenant) as uow:
        authorize(uow, actor, "companies", "delete")
        service.delete_branch(uow, company, branch, by=actor)
    typer.echo(f"branch {company}/{branch} deleted")
