"""Fields a tenant makes mandatory per module (seed 004), enforced server-side on every path:
the API, the console, the CLI and events all call ``check``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from hub.errors import PermanentError
from hub.store.models import Tenant

#: What can be made mandatory, per module.
REQUIRABLE: dict[str, tuple[str, ...]] = {
    "tickets": ("subject", "description", "customer_id", "company", "branch", "classification"),
    "users": ("email", "department", "function", "manager"),
}


class RequiredFieldMissing(PermanentError):
    """A field the tenant requires in this module is missing or blank."""


def validate(module: str, fields: Iterable[str]) -> list[str]:
    """``fields`` when each may be required in ``module``; raises ``ValueError`` naming every
    one that may not."""
    if module not in REQUIRABLE:
        raise ValueError(f"unknown module {module!r} (one of: {', '.join(REQUIRABLE)})")
    wanted = sorted(set(fields))
    unknown = [f for f in wanted if f not in REQUIRABLE[module]]
    if unknown:
        raise ValueError(
            f"{module}: {', '.join(unknown)} cannot be required "
            f"(one of: {', '.join(REQUIRABLE[module])})"
        )
    return wanted


def required(session: Session, tenant: str, module: str) -> list[str]:
    # the session holds the row: its identity map (weak) then answers the next event of the
    # batch without a query, and sees any change made through it
    held: dict[str, Tenant] = session.info.setdefault("hub.tenants", {})
    row = held.get(tenant) or session.get(Tenant, tenant)
    if row is None:
        return []
    held[tenant] = row
    return list((row.required_fields or {}).get(module, []))


def check(session: Session, tenant: str, module: str, values: Mapping[str, Any]) -> None:
    """Raise ``RequiredFieldMissing`` naming every field of ``module`` the tenant requires
    that ``values`` lacks."""
    missing = [f for f in required(session, tenant, module) if _blank(values.get(f))]
    if missing:
        raise RequiredFieldMissing(f"tenant {tenant!r} requires {', '.join(missing)} for {module}")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
