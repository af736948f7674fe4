"""The one place permissions are checked, for the API, the console and the CLI alike."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.identity.permissions import (
    ADMIN,
    DEFAULT_ROLES,
    SERVICE_MODULES,
    Forbidden,
    Permissions,
)
from hub.identity.users import load_directory

__all__ = ["SYSTEM", "Forbidden", "authorize", "permissions_of", "ticket_modules"]

SYSTEM = "system"


def permissions_of(session: Session, tenant: str, user: str) -> Permissions:
    """What ``user`` of ``tenant`` may do (nothing for an unknown or inactive user; everything
    for the hub itself, ``system`` or ``system:<name>``)."""
    if user == SYSTEM or user.startswith(SYSTEM + ":"):
        return Permissions.of(user, [DEFAULT_ROLES[ADMIN]])
    return load_directory(session, tenant).permissions(user)


def authorize(session: Session, tenant: str, user: str, module: str, action: str) -> Permissions:
    """``user``'s permissions, when they grant ``action`` on ``module``; raises ``Forbidden``
    naming the missing permission otherwise."""
    granted = permissions_of(session, tenant, user)
    granted.check(module, action)
    return granted


def ticket_modules(service: str) -> list[str]:
    """The modules an action on a ticket of ``service`` needs: ``tickets``, and the service's
    own (``agreements``, ``student_requests``) where it has one."""
    own = SERVICE_MODULES.get(service)
    return ["tickets", own] if own else ["tickets"]
