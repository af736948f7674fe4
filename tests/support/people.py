"""Users and roles for tests: the former token roles as ordinary roles, and users with them."""

from __future__ import annotations

from hub.identity import service
from hub.identity.tables import UserRow
from hub.identity.users import Users
from hub.runtime.uow import Cause, UnitOfWorkFactory

_READ = ["access", "view", "filter", "export"]
_WORK = ["access", "view", "include", "edit", "filter", "export"]
_ALL = ["access", "view", "include", "edit", "delete", "export", "filter"]
_CRM = ["tickets", "agreements", "student_requests"]
_HUB = ["dead_letters", "operations", "configuration"]
#: What ``hub db upgrade`` makes of the former token roles (see migration 0008).
ROLES: dict[str, dict[str, list[str]]] = {
    "reader": {m: _READ for m in [*_CRM, *_HUB]},
    "attendant": {**{m: _WORK for m in _CRM}, **{m: _READ for m in _HUB}},
    "operator": {
        **{m: _WORK for m in _CRM},
        "dead_letters": _ALL,
        "operations": _READ,
        "configuration": _READ,
    },
}


def person(
    factory: UnitOfWorkFactory,
    user: str,
    *roles: str,
    tenant: str = "default",
    manager: str | None = None,
    status: str = "active",
) -> None:
    """Make ``user`` a user of ``tenant`` (creating the named former token roles it needs) with
    ``roles`` added to the ones it has."""
    with factory(Cause.action(tenant=tenant)) as uow:
        users = Users(uow.session, tenant)
        for role in roles:
            if role in ROLES and role not in users.role_ids():
                service.put_role(
                    uow,
                    role,
                    name=role.capitalize(),
                    scope="tenant",
                    permissions=ROLES[role],
                    create=True,
                )
        if users.find(user) is None:
            now = uow.now()
            users.add(
                UserRow(
                    id=user,
                    name=user.capitalize(),
                    status=status,
                    source="import",
                    version=0,
                    manager=manager,
                    created_at=now,
                    updated_at=now,
                )
            )
        for role in roles:
            users.add_role(user, role)
