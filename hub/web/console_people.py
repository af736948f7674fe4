"""The console's pages of people: the tenant's users (activate, roles, manager, scope), its
roles with their permission matrix, and, for the default tenant's administrators, the tenants."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from hub.identity import service
from hub.identity.permissions import ACTIONS, MODULES, SCOPES, Forbidden
from hub.identity.users import ScopeItem, Users, role_def
from hub.provisioning import provision
from hub.runtime.uow import Cause
from hub.store.models import DEFAULT_TENANT
from hub.tenancy.tenants import PLANS, Tenants
from hub.web.console import act, page
from hub.web.context import WebContext
from hub.web.security import console_user, context, permissions_of_request
from hub.web.tokens import Principal

router = APIRouter(include_in_schema=False)


def _refused(request: Request, who: Principal, module: str, action: str) -> HTMLResponse | None:
    try:
        permissions_of_request(request, who).check(module, action)
    except Forbidden as e:
        return page(request, "error.html", who, problem=str(e))
    return None


@router.get("/users")
def users_page(
    request: Request, ctx: WebContext = Depends(context), who: Principal = Depends(console_user)
) -> HTMLResponse:
    refused = _refused(request, who, "users", "view")
    if refused is not None:
        return refused
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        users = [v.to_json() for v in service.list_users(uow)]
        roles = [role_def(r).to_json() for r in Users(uow.session, uow.tenant).roles()]
    return page(request, "users.html", who, users=users, roles=roles)


@router.get("/users/{user_id}")
def user_page(
    request: Request,
    user_id: str,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> HTMLResponse:
    refused = _refused(request, who, "users", "view")
    if refused is not None:
        return refused
    try:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            user = service.view_user(uow, user_id).to_json()
            roles = [role_def(r).to_json() for r in Users(uow.session, uow.tenant).roles()]
            others = [u.row.id for u in service.list_users(uow) if u.row.id != user_id]
    except service.UserError as e:
        return page(request, "error.html", who, problem=str(e))
    return page(request, "user.html", who, user=user, roles=roles, others=others)


@router.post("/users/{user_id}")
async def user_change(
    request: Request,
    user_id: str,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    form = await request.form()
    roles = [str(v) for v in form.getlist("role")]
    scope_text = str(form.get("scope") or "")
    values = {k: str(form.get(k) or "") for k in ("manager", "department", "function", "email")}

    def run() -> str:
        scope = [ScopeItem.parse(s) for s in scope_text.replace(",", " ").split()]
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            service.set_user(uow, user_id, by=who.user, roles=roles, scope=scope, **values)
        return f"{user_id} saved"

    return await run_in_threadpool(act, request, who, ("users", "edit"), f"/users/{user_id}", run)


@router.post("/users/{user_id}/activate")
def user_activate(
    request: Request,
    user_id: str,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    def run() -> str:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            changed = service.activate_user(uow, user_id, by=who.user)
        return f"{user_id} activated" if changed else f"{user_id} was active already"

    return act(request, who, ("users", "edit"), "/users", run)


@router.get("/roles")
def roles_page(
    request: Request, ctx: WebContext = Depends(context), who: Principal = Depends(console_user)
) -> HTMLResponse:
    refused = _refused(request, who, "users", "view")
    if refused is not None:
        return refused
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        roles = [role_def(r).to_json() for r in Users(uow.session, uow.tenant).roles()]
    return page(
        request, "roles.html", who, roles=roles, modules=MODULES, actions=ACTIONS, scopes=SCOPES
    )


@router.post("/roles/{role_id}")
async def role_change(
    request: Request,
    role_id: str,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    form = await request.form()
    create = form.get("create") == "1"
    grants: dict[str, list[str]] = {}
    for item in form.getlist("grant"):
        module, _, action = str(item).partition(":")
        grants.setdefault(module, []).append(action)
    name = str(form.get("name") or "") or None
    scope = str(form.get("scope") or "") or None
    new_id = str(form.get("id") or role_id).strip()

    def run() -> str:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            service.put_role(uow, new_id, name=name, scope=scope, permissions=grants, create=create)
        return f"role {new_id} saved"

    permission = ("users", "include" if create else "edit")
    return await run_in_threadpool(act, request, who, permission, "/roles", run)


def _tenants_refused(request: Request, who: Principal, action: str) -> HTMLResponse | None:
    if who.tenant != DEFAULT_TENANT:
        return page(request, "error.html", who, problem="not found")
    return _refused(request, who, "settings", action)


@router.get("/tenants")
def tenants_page(
    request: Request, ctx: WebContext = Depends(context), who: Principal = Depends(console_user)
) -> HTMLResponse:
    refused = _tenants_refused(request, who, "view")
    if refused is not None:
        return refused
    with ctx.uow.sessions() as session:
        tenants = [
            {"id": t.id, "name": t.name, "plan": t.plan, "created_at": t.created_at}
            for t in Tenants(session).all()
        ]
    return page(request, "tenants.html", who, tenants=tenants, plans=PLANS)


@router.post("/tenants")
async def tenant_create(
    request: Request, ctx: WebContext = Depends(context), who: Principal = Depends(console_user)
) -> Any:
    refused = _tenants_refused(request, who, "include")
    if refused is not None:
        return refused
    form = await request.form()
    tenant_id = str(form.get("id") or "").strip()
    name = str(form.get("name") or "").strip() or tenant_id
    plan = str(form.get("plan") or "freemium")
    demo = form.get("demo") == "1"

    def run() -> str:
        report = provision(ctx.uow, tenant_id, name=name, plan=plan, demo=demo)
        return f"tenant {tenant_id}: " + ("provisioned" if report.changed else "nothing to do")

    return await run_in_threadpool(act, request, who, ("settings", "include"), "/tenants", run)
