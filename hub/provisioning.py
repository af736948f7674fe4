"""Provisioning a tenant (seed 004): the tenant, its default roles, its support user and,
on request, the demo workflow configuration, in one transaction.

Running it again on an existing tenant completes whatever is missing and changes nothing else
(its name and plan included). ``crm.tenant.provisioned`` is emitted whenever something was
created.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from hub.identity.permissions import ADMIN, DEFAULT_ROLES
from hub.identity.tables import UserRow
from hub.identity.users import Users, default_role_rows
from hub.runtime.uow import Cause, UnitOfWorkFactory
from hub.store.models import DEFAULT_TENANT
from hub.tenancy.tenants import Tenants
from hub.workflow import service as workflow
from schemas.events import TenantProvisioned

log = logging.getLogger(__name__)

SUPPORT_USER = "support"
CREATED, PRESENT = "created", "present"


@dataclass(frozen=True)
class Step:
    step: str
    status: str  # created | present | applied | unchanged
    detail: str = ""


@dataclass
class Report:
    tenant: str
    plan: str
    steps: list[Step] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(s.status in {CREATED, "applied"} for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "plan": self.plan,
            "changed": self.changed,
            "steps": [asdict(s) for s in self.steps],
        }


def provision(
    factory: UnitOfWorkFactory,
    tenant_id: str,
    *,
    name: str | None = None,
    plan: str = "freemium",
    demo: bool = False,
) -> Report:
    """Provision ``tenant_id`` (see the module's docstring); raises ``TenantError`` for a bad id
    or plan."""
    with factory(Cause.action(tenant=tenant_id)) as uow:
        tenants = Tenants(uow.session)
        now = uow.now()
        row = tenants.find(tenant_id)
        if row is None:
            row = tenants.create(tenant_id, name=name or tenant_id, plan=plan, now=now)
            report = Report(tenant_id, row.plan, [Step("tenant", CREATED, f"{row.name}, {plan}")])
        else:
            report = Report(tenant_id, row.plan, [Step("tenant", PRESENT, row.name)])
        users = Users(uow.session, tenant_id)
        have = set(users.role_ids())
        for role in default_role_rows(tenant_id, now):
            if role.id in have:
                report.steps.append(Step(f"role {role.name}", PRESENT))
            else:
                uow.session.add(role)
                uow.session.flush()
                report.steps.append(Step(f"role {role.name}", CREATED))
        if users.find(SUPPORT_USER) is None:
            users.add(
                UserRow(
                    id=SUPPORT_USER,
                    name="Support",
                    status="active",
                    source="provisioning",
                    version=0,
                    created_at=now,
                    updated_at=now,
                    updated_by="system:provisioning",
                    activated_at=now,
                    activated_by="system:provisioning",
                )
            )
            report.steps.append(Step("support user", CREATED, SUPPORT_USER))
        else:
            report.steps.append(Step("support user", PRESENT, SUPPORT_USER))
        if users.add_role(SUPPORT_USER, ADMIN):
            report.steps.append(Step("support user's Admin role", CREATED))
        if demo:
            report.steps.append(_demo(uow))
        if report.changed:
            uow.emit(
                "crm.tenant.provisioned",
                tenant_id,
                TenantProvisioned(
                    tenant=tenant_id,
                    plan=row.plan,  # type: ignore[arg-type]
                    roles=[r.name for r in DEFAULT_ROLES.values()],
                    support_user=SUPPORT_USER,
                ),
            )
    log.info("tenant %s provisioned: %s", tenant_id, report.to_json()["steps"])
    return report


def _demo(uow: Any) -> Step:
    """The demo configuration, unless the tenant has a configuration already."""
    from hub.workflow.errors import NoConfiguration

    try:
        version, _ = workflow.current_config(uow)
        return Step("demo configuration", "unchanged", f"the tenant has version {version}")
    except NoConfiguration:
        version, _ = workflow.apply_config_file(uow)
        return Step("demo configuration", "applied", f"version {version}")


def ensure_default_tenant(factory: UnitOfWorkFactory, *, demo: bool = False) -> Report:
    """The ``default`` tenant with its roles and support user (and the demo configuration when
    it has none, with ``demo``): what ``hub db upgrade`` and every start make sure of, so
    existing flows keep working."""
    return provision(factory, DEFAULT_TENANT, name="Default", demo=demo)
