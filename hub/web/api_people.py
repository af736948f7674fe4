"""``/api/users``, ``/api/roles``, ``/api/tenants``: a tenant's people and roles, and (for the
default tenant's administrators) the tenants themselves. The same functions as the CLI."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from hub.identity import service
from hub.identity.permissions import ACTIONS, MODULES, Forbidden
from hub.identity.users import ScopeItem, Users, role_def
from hub.provisioning import provision
from hub.runtime.uow import Cause
from hub.store.models import DEFAULT_TENANT
from hub.tenancy.tenants import Tenants
from hub.web.context import WebContext
from hub.web.errors import responses
from hub.web.security import context, permissions_of_request, require
from hub.web.tokens import Principal

router = APIRouter(prefix="/api", responses=responses(401, 403, 422, 503))

UserId = Annotated[str, Path(min_length=1, max_length=200, description="The user's id.")]
RoleId = Annotated[str, Path(min_length=1, max_length=100, description="The role's id.")]
Actions = Annotated[list[str], Field(max_length=len(ACTIONS))]
#: COMPANY or COMPANY/BRANCH.
ScopeText = Annotated[str, Field(max_length=201, pattern=r"^\s*[^/\s][^/]*(/[^/]*[^/\s])?\s*$")]
#: ``PLANS`` and ``SCOPES`` as the OpenAPI document's enumerations.
Plan = Literal["freemium", "starter", "advanced"]
RoleScope = Literal["tenant", "subordinates", "own"]


class UserChange(BaseModel):
    """Fields to change; those left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    roles: list[str] | None = Field(default=None, max_length=50)
    manager: str | None = Field(default=None, max_length=200, description="'' for nobody.")
    department: str | None = Field(default=None, max_length=200)
    function: str | None = Field(default=None, max_length=200)
    scope: list[ScopeText] | None = Field(
        default=None, max_length=500, description="COMPANY or COMPANY/BRANCH items."
    )
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=400)


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    scope: RoleScope | None = None
    permissions: dict[str, Actions] | None = Field(
        default=None,
        max_length=len(MODULES),
        description=f"Module -> actions. Modules: {', '.join(MODULES)}; "
        f"actions: {', '.join(ACTIONS)}.",
    )


class NewRole(RoleChange):
    id: str = Field(min_length=1, max_length=100)


class NewTenant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=200)
    plan: Plan
    demo: bool = False


@router.get("/users", tags=["users"])
def list_users(
    ctx: WebContext = Depends(context), who: Principal = Depends(require("users", "view"))
) -> list[dict[str, Any]]:
    """The tenant's users: status, roles, manager, scope."""
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        return [v.to_json() for v in service.list_users(uow)]


@router.get("/users/{user_id}", tags=["users"], responses=responses(404))
def show_user(
    user_id: UserId,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("users", "view")),
) -> dict[str, Any]:
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        return service.view_user(uow, user_id).to_json()


@router.post("/users/{user_id}", tags=["users"], responses=responses(404, 409))
def change_user(
    user_id: UserId,
    body: UserChange,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("users", "edit")),
) -> dict[str, Any]:
    """Set a user's roles, manager, department, function, scope, name or e-mail."""
    try:
        scope = [ScopeItem.parse(s) for s in body.scope] if body.scope is not None else None
    except ValueError as e:
        raise HTTPException(422, str(e)) from None
    changes = body.model_dump(exclude_unset=True, exclude={"roles", "scope", "name"})
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        service.set_user(
            uow, user_id, by=who.user, roles=body.roles, scope=scope, name=body.name, **changes
        )
        return service.view_user(uow, user_id).to_json()


@router.post("/users/{user_id}/activate", tags=["users"], responses=responses(404, 409))
def activate_user(
    user_id: UserId,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("users", "edit")),
) -> dict[str, Any]:
    """Activate a pending user (the Admin role only); emits ``crm.user.activated``."""
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        changed = service.activate_user(uow, user_id, by=who.user)
        return {**service.view_user(uow, user_id).to_json(), "changed": changed}


@router.get("/roles", tags=["users"])
def list_roles(
    ctx: WebContext = Depends(context), who: Principal = Depends(require("users", "view"))
) -> list[dict[str, Any]]:
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        return [role_def(r).to_json() for r in Users(uow.session, uow.tenant).roles()]


@router.post("/roles", tags=["users"], status_code=201, responses=responses(409))
def create_role(
    body: NewRole,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("users", "include")),
) -> dict[str, Any]:
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        return service.put_role(
            uow,
            body.id,
            name=body.name,
            scope=body.scope,
            permissions=body.permissions,
            create=True,
        )


@router.post("/roles/{role_id}", tags=["users"], responses=responses(404, 409))
def change_role(
    role_id: RoleId,
    body: RoleChange,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("users", "edit")),
) -> dict[str, Any]:
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        return service.put_role(
            uow,
            role_id,
            name=body.name,
            scope=body.scope,
            permissions=body.permissions,
            create=False,
        )


def operator(request: Request, who: Principal = Depends(require("settings", "view"))) -> Principal:
    """An administrator of the default tenant: the hub's own operators manage tenants."""
    if who.tenant != DEFAULT_TENANT:
        raise HTTPException(404, "not found")
    return who


@router.get("/tenants", tags=["tenants"], responses=responses(404))
def list_tenants(
    ctx: WebContext = Depends(context), who: Principal = Depends(operator)
) -> list[dict[str, Any]]:
    with ctx.uow.sessions() as session:
        return [
            {"id": t.id, "name": t.name, "plan": t.plan, "created_at": t.created_at.isoformat()}
            for t in Tenants(session).all()
        ]


@router.post("/tenants", tags=["tenants"], status_code=201, responses=responses(404, 409))
def create_tenant(
    request: Request,
    body: NewTenant,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(operator),
) -> dict[str, Any]:
    """Provision a tenant (again: completes what is missing, changes nothing else)."""
    try:
        permissions_of_request(request, who).check("settings", "include")
    except Forbidden as e:
        raise HTTPException(403, str(e)) from None
    return provision(ctx.uow, body.id, name=body.name, plan=body.plan, demo=body.demo).to_json()
