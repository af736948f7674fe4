"""A tenant's portal settings, kept in the tenant's ``settings`` under ``portal``:

- ``default_attendant``: the user a ticket opened in the portal goes to (the seed's
  "Atendente ClienteOnline"); unset, the ticket type's own first-stage assignment applies;
- ``customer_mail``: whether customers are e-mailed when a ticket comes back to them, is
  completed or is cancelled (on unless switched off).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session

from hub.errors import HubError
from hub.identity.users import Users
from hub.store.models import Tenant

KEY = "portal"


@dataclass(frozen=True)
class PortalSettings:
    default_attendant: str | None = None
    customer_mail: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def portal_settings(session: Session, tenant: str) -> PortalSettings:
    row = session.get(Tenant, tenant)
    stored = ((row.settings or {}) if row is not None else {}).get(KEY) or {}
    return PortalSettings(
        default_attendant=stored.get("default_attendant"),
        customer_mail=bool(stored.get("customer_mail", True)),
    )


def save_portal_settings(session: Session, tenant: str, settings: PortalSettings) -> None:
    row = session.get(Tenant, tenant)
    if row is None:
        raise LookupError(f"no tenant {tenant!r}")
    row.settings = {**(row.settings or {}), KEY: settings.to_json()}


class PortalSettingsError(HubError):
    """A refused change of the portal settings; the message says why."""


def change_portal_settings(
    session: Session,
    tenant: str,
    *,
    default_attendant: str | None = None,
    customer_mail: bool | None = None,
) -> PortalSettings:
    """Change what is given (``default_attendant=''``: none); the default attendant must be an
    active user of the tenant. Returns the settings now."""
    now = portal_settings(session, tenant)
    attendant = now.default_attendant
    if default_attendant is not None:
        attendant = default_attendant.strip()[:200] or None
        if attendant is not None:
            person = Users(session, tenant).find(attendant)
            if person is None or person.status != "active":
                raise PortalSettingsError(f"no active user {attendant!r} in tenant {tenant!r}")
    chosen = PortalSettings(
        default_attendant=attendant,
        customer_mail=now.customer_mail if customer_mail is None else customer_mail,
    )
    save_portal_settings(session, tenant, chosen)
    return chosen
