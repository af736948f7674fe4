"""The tenants table as the rest of the hub reads it: plans, settings, required fields."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import HubError
from hub.store.models import DEFAULT_TENANT, Tenant

PLANS = ("freemium", "starter", "advanced")
_ID = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62})$")

__all__ = ["DEFAULT_TENANT", "PLANS", "TenantError", "Tenants", "check_tenant_id"]


class TenantError(HubError):
    """A tenant cannot be created, found or changed as asked."""


class UnknownTenantError(TenantError):
    pass


def check_tenant_id(tenant_id: str) -> str:
    """``tenant_id`` when it is a valid tenant id; raises ``TenantError`` saying why not."""
    if not _ID.match(tenant_id):
        raise TenantError(
            f"a tenant id is 1 to 63 lower-case letters, digits, '-' or '_', starting with a "
            f"letter or digit, not {tenant_id!r}"
        )
    return tenant_id


class Tenants:
    """Tenants inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, tenant_id: str) -> Tenant | None:
        return self.session.get(Tenant, tenant_id)

    def get(self, tenant_id: str) -> Tenant:
        row = self.find(tenant_id)
        if row is None:
            raise UnknownTenantError(f"no tenant {tenant_id!r} (see `hub tenants list`)")
        return row

    def all(self) -> list[Tenant]:
        return list(self.session.scalars(select(Tenant).order_by(Tenant.id)))

    def create(self, tenant_id: str, *, name: str, plan: str, now: datetime) -> Tenant:
        check_tenant_id(tenant_id)
        if plan not in PLANS:
            raise TenantError(f"a plan is one of {', '.join(PLANS)}, not {plan!r}")
        row = Tenant(
            id=tenant_id, name=name, plan=plan, required_fields={}, settings={}, created_at=now
        )
        self.session.add(row)
        self.session.flush()
        return row

    def setting(self, tenant_id: str, name: str, default: Any = None) -> Any:
        row = self.get(tenant_id)
        return (row.settings or {}).get(name, default)

    def set_settings(self, tenant_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        row = self.get(tenant_id)
        merged = {**(row.settings or {}), **values}
        row.settings = {k: v for k, v in merged.items() if v is not None}
        return dict(row.settings)
