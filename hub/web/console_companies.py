"""The console's pages of companies and branches: the list, a company's page with its branches,
their edit forms, "duplicate" and "delete" (refused, naming what is linked, while data names
the record). Module ``companies``, checked on every path."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from hub.companies import service
from hub.companies.service import ID_MAX, NAME_MAX, TAX_ID_MAX, CompanyError, CompanyExists
from hub.errors import HubError
from hub.identity.permissions import Forbidden
from hub.runtime.uow import Cause
from hub.web.console import act, back, page
from hub.web.context import WebContext
from hub.web.security import console_user, context, permissions_of_request
from hub.web.tokens import Principal

router = APIRouter(include_in_schema=False)
BOUNDS = {"id_max": ID_MAX, "name_max": NAME_MAX, "tax_id_max": TAX_ID_MAX}


def _refused(request: Request, who: Principal) -> HTMLResponse | None:
    try:
        permissions_of_request(request, who).check("companies", "view")
    except Forbidden as e:
        return page(request, "error.html", who, problem=str(e))
    return None


def _here(company: str) -> str:
    return f"/companies/{quote(company, safe='')}"


async def _fields(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(form.get(k) or "").strip() for k in ("id", "name", "tax_id", "company")} | {
        "headquarters": "1" if form.get("headquarters") == "1" else ""
    }


@router.get("/companies")
def companies_page(
    request: Request, ctx: WebContext = Depends(context), who: Principal = Depends(console_user)
) -> HTMLResponse:
    refused = _refused(request, who)
    if refused is not None:
        return refused
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        companies = [v.to_json() for v in service.list_companies(uow)]
    return page(request, "companies.html", who, companies=companies, **BOUNDS)


@router.post("/companies")
async def company_create(
    request: Request, ctx: WebContext = Depends(context), who: Principal = Depends(console_user)
) -> RedirectResponse:
    f = await _fields(request)

    def run() -> str:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            service.check_fields(company=f["id"])
            if service.Companies(uow).find(f["id"]) is not None:
                raise CompanyExists(f"company {f['id']!r} exists already")
            service.set_company(uow, f["id"], by=who.user, name=f["name"], tax_id=f["tax_id"])
        return f"company {f['id']} created"

    return await run_in_threadpool(act, request, who, ("companies", "include"), "/companies", run)


@router.get("/companies/{company}")
def company_page(
    request: Request,
    company: str,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> HTMLResponse:
    refused = _refused(request, who)
    if refused is not None:
        return refused
    try:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            data = service.view(uow, company).to_json()
            others = [c.id for c in service.Companies(uow).all()]
    except CompanyError as e:
        return page(request, "error.html", who, problem=str(e))
    return page(request, "company.html", who, c=data, others=others, **BOUNDS)


@router.post("/companies/{company}")
async def company_change(
    request: Request,
    company: str,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    f = await _fields(request)

    def run() -> str:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            service.Companies(uow).get(company)
            service.set_company(uow, company, by=who.user, name=f["name"], tax_id=f["tax_id"])
        return f"company {company} saved"

    return await run_in_threadpool(act, request, who, ("companies", "edit"), _here(company), run)


@router.post("/companies/{company}/duplicate")
async def company_duplicate(
    request: Request,
    company: str,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    f = await _fields(request)

    def run() -> str:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            service.duplicate_company(uow, company, f["id"], by=who.user, name=f["name"] or None)
        return f"company {f['id']} created from {company}"

    return await run_in_threadpool(act, request, who, ("companies", "include"), "/companies", run)


@router.post("/companies/{company}/delete")
def company_delete(
    request: Request,
    company: str,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    """Back to the list once deleted; a refusal is told on the company's page."""
    try:
        permissions_of_request(request, who).check("companies", "delete")
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            service.delete_company(uow, company, by=who.user)
    except (HubError, Forbidden) as e:
        return back(_here(company), error=str(e))
    return back("/companies", msg=f"company {company} deleted")


@router.post("/companies/{company}/branches")
async def branch_create(
    request: Request,
    company: str,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    f = await _fields(request)

    def run() -> str:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            service.check_fields(branch=f["id"])
            repo = service.Companies(uow)
            repo.get(company)
            if repo.find_branch(company, f["id"]) is not None:
                raise CompanyExists(f"branch {company}/{f['id']} exists already")
            service.set_branch(
                uow,
                company,
                f["id"],
                by=who.user,
                name=f["name"],
                headquarters=bool(f["headquarters"]),
                tax_id=f["tax_id"],
            )
        return f"branch {company}/{f['id']} created"

    return await run_in_threadpool(act, request, who, ("companies", "include"), _here(company), run)


@router.post("/companies/{company}/branches/{branch}")
async def branch_change(
    request: Request,
    company: str,
    branch: str,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    f = await _fields(request)

    def run() -> str:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            service.Companies(uow).get_branch(company, branch)
            service.set_branch(
                uow,
                company,
                branch,
                by=who.user,
                name=f["name"],
                headquarters=bool(f["headquarters"]),
                tax_id=f["tax_id"],
            )
        return f"branch {company}/{branch} saved"

    return await run_in_threadpool(act, request, who, ("companies", "edit"), _here(company), run)


@router.post("/companies/{company}/branches/{branch}/duplicate")
async def branch_duplicate(
    request: Request,
    company: str,
    branch: str,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    f = await _fields(request)
    target = f["company"] or company

    def run() -> str:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            service.duplicate_branch(
                uow,
                company,
                branch,
                f["id"],
                by=who.user,
                to_company=target,
                name=f["name"] or None,
            )
        return f"branch {target}/{f['id']} created from {company}/{branch}"

    return await run_in_threadpool(act, request, who, ("companies", "include"), _here(company), run)


@router.post("/companies/{company}/branches/{branch}/delete")
def branch_delete(
    request: Request,
    company: str,
    branch: str,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    def run() -> str:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            service.delete_branch(uow, company, branch, by=who.user)
        return f"branch {company}/{branch} deleted"

    return act(request, who, ("companies", "delete"), _here(company), run)
