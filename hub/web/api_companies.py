"""``/api/companies`` and ``/api/companies/{company_id}/branches``: a tenant's companies and
branches (module ``companies``). The same functions as the CLI; a delete of a company or branch
with linked data is refused with 409, the detail listing what is linked with counts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from hub.companies import service
from hub.companies.service import ID_MAX, NAME_MAX, TAX_ID_MAX, CompanyExists
from hub.runtime.uow import Cause, UnitOfWork
from hub.web.context import WebContext
from hub.web.errors import responses
from hub.web.security import context, require
from hub.web.tokens import Principal

router = APIRouter(prefix="/api/companies", responses=responses(401, 403, 422, 503))

#: An id of a company or a branch: no '/', no surrounding spaces.
ID_PATTERN = r"^[^/\s]([^/]*[^/\s])?$"
CompanyId = Annotated[
    str,
    Path(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN, description="The company's id."),
]
BranchId = Annotated[
    str,
    Path(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN, description="The branch's id."),
]
Id = Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)]
Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX, pattern=r"\S")]
TaxId = Annotated[str, Field(max_length=TAX_ID_MAX, description="'' clears it.")]


class CompanyChange(BaseModel):
    """Fields to change; those left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    tax_id: TaxId | None = None


class NewCompany(CompanyChange):
    id: Id
    name: Name


class BranchChange(CompanyChange):
    headquarters: bool | None = None


class NewBranch(BranchChange):
    id: Id
    name: Name


class Duplicate(BaseModel):
    """The new record's id, and its name when not the original's."""

    model_config = ConfigDict(extra="forbid")

    id: Id
    name: Name | None = None
    company: Id | None = Field(
        default=None, description="A branch only: the company to create it in (default: the same)."
    )


def _uow(ctx: WebContext, who: Principal) -> Any:
    return ctx.uow(Cause.action(tenant=who.tenant))


def _changes(body: BaseModel) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True, exclude={"id"})


def _company(uow: UnitOfWork, company_id: str) -> dict[str, Any]:
    return service.view(uow, company_id).to_json()


@router.get("", tags=["companies"])
def list_companies(
    ctx: WebContext = Depends(context), who: Principal = Depends(require("companies", "view"))
) -> list[dict[str, Any]]:
    """The tenant's companies, each with its branches."""
    with _uow(ctx, who) as uow:
        return [v.to_json() for v in service.list_companies(uow)]


@router.post("", tags=["companies"], status_code=201, responses=responses(409))
def create_company(
    body: NewCompany,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("companies", "include")),
) -> dict[str, Any]:
    """A new local company."""
    with _uow(ctx, who) as uow:
        if service.Companies(uow).find(body.id) is not None:
            raise CompanyExists(f"tenant {who.tenant!r} has a company {body.id!r} already")
        return service.set_company(uow, body.id, by=who.user, **_changes(body)).to_json()


@router.get("/{company_id}", tags=["companies"], responses=responses(404))
def show_company(
    company_id: CompanyId,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("companies", "view")),
) -> dict[str, Any]:
    """A company with its branches, and who changed it last and when."""
    with _uow(ctx, who) as uow:
        return _company(uow, company_id)


@router.post("/{company_id}", tags=["companies"], responses=responses(404, 409))
def change_company(
    company_id: CompanyId,
    body: CompanyChange,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("companies", "edit")),
) -> dict[str, Any]:
    """Change a company's name or tax id (a local edit; the ERP's next newer version wins)."""
    with _uow(ctx, who) as uow:
        service.Companies(uow).get(company_id)
        return service.set_company(uow, company_id, by=who.user, **_changes(body)).to_json()


@router.delete("/{company_id}", tags=["companies"], responses=responses(404, 409))
def delete_company(
    company_id: CompanyId,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("companies", "delete")),
) -> dict[str, Any]:
    """Delete a company and its branches; 409, listing what is linked, while data names it."""
    with _uow(ctx, who) as uow:
        service.delete_company(uow, company_id, by=who.user)
    return {"id": company_id, "deleted": True}


@router.post(
    "/{company_id}/duplicate", tags=["companies"], status_code=201, responses=responses(404, 409)
)
def duplicate_company(
    company_id: CompanyId,
    body: Duplicate,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("companies", "include")),
) -> dict[str, Any]:
    """A new company from this one: its name (or ``name``), tax id and branches."""
    with _uow(ctx, who) as uow:
        return service.duplicate_company(
            uow, company_id, body.id, by=who.user, name=body.name
        ).to_json()


@router.get("/{company_id}/branches", tags=["companies"], responses=responses(404))
def list_branches(
    company_id: CompanyId,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("companies", "view")),
) -> list[dict[str, Any]]:
    with _uow(ctx, who) as uow:
        return _company(uow, company_id)["branches"]  # type: ignore[no-any-return]


@router.post(
    "/{company_id}/branches", tags=["companies"], status_code=201, responses=responses(404, 409)
)
def create_branch(
    company_id: CompanyId,
    body: NewBranch,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("companies", "include")),
) -> dict[str, Any]:
    """A new local branch of the company."""
    with _uow(ctx, who) as uow:
        repo = service.Companies(uow)
        repo.get(company_id)
        if repo.find_branch(company_id, body.id) is not None:
            raise CompanyExists(f"company {company_id!r} has a branch {body.id!r} already")
        return service.set_branch(uow, company_id, body.id, by=who.user, **_changes(body))


@router.get("/{company_id}/branches/{branch_id}", tags=["companies"], responses=responses(404))
def show_branch(
    company_id: CompanyId,
    branch_id: BranchId,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("companies", "view")),
) -> dict[str, Any]:
    with _uow(ctx, who) as uow:
        return service.show_branch(uow, company_id, branch_id)


@router.post(
    "/{company_id}/branches/{branch_id}", tags=["companies"], responses=responses(404, 409)
)
def change_branch(
    company_id: CompanyId,
    branch_id: BranchId,
    body: BranchChange,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("companies", "edit")),
) -> dict[str, Any]:
    """Change a branch's name, headquarters flag or tax id (a local edit)."""
    with _uow(ctx, who) as uow:
        service.Companies(uow).get_branch(company_id, branch_id)
        return service.set_branch(uow, company_id, branch_id, by=who.user, **_changes(body))


@router.delete(
    "/{company_id}/branches/{branch_id}", tags=["companies"], responses=responses(404, 409)
)
def delete_branch(
    company_id: CompanyId,
    branch_id: BranchId,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("companies", "delete")),
) -> dict[str, Any]:
    """Delete a branch; 409, listing what is linked, while data names it."""
    with _uow(ctx, who) as uow:
        service.delete_branch(uow, company_id, branch_id, by=who.user)
    return {"company": company_id, "id": branch_id, "deleted": True}


@router.post(
    "/{company_id}/branches/{branch_id}/duplicate",
    tags=["companies"],
    status_code=201,
    responses=responses(404, 409),
)
def duplicate_branch(
    company_id: CompanyId,
    branch_id: BranchId,
    body: Duplicate,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("companies", "include")),
) -> dict[str, Any]:
    """A new branch from this one (in ``company``, default the same): its name (or ``name``),
    headquarters flag and tax id."""
    with _uow(ctx, who) as uow:
        return service.duplicate_branch(
            uow,
            company_id,
            branch_id,
            body.id,
            by=who.user,
            to_company=body.company,
            name=body.name,
        )
