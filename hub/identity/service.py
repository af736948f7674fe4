"""Application functions on a tenant's users and roles, each inside a ``UnitOfWork``.

Users arrive from the platform (``platform.user.upserted``, applied in version order) or from
an import file; a new one is active at once only on the freemium plan, and otherwise waits until
a user with the Admin role activates it (``crm.user.activated``). Roles, manager, department,
function and scope are set locally. Callers check the caller's permissions first
(``hub.identity.access``); the rules of the data itself are checked here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hub.errors import HubError
from hub.identity.directory import Directory
from hub.identity.passwords import hash_password
from hub.identity.permissions import ADMIN, Forbidden
from hub.identity.tables import RoleRow, UserRow
from hub.identity.users import (
    ScopeItem,
    UnknownRole,
    UnknownUser,
    Users,
    load_directory,
    role_def,
)
from hub.runtime.uow import UnitOfWork
from hub.tenancy import required as required_fields
from hub.tenancy.tenants import Tenants
from schemas.events import UserActivated, UserUpserted

log = logging.getLogger(__name__)

#: The role a user synced or imported without one gets.
DEFAULT_ROLE = "user"
_UNSET: Any = object()


class UserError(HubError):
    """A change to a user or a role is refused; the message says why."""


class UserNotFound(UserError):
    """The tenant has no such user."""


class RoleNotFound(UserError):
    """The tenant has no such role."""


class RoleExists(UserError):
    """The tenant has a role of this id already."""


def users_of(uow: UnitOfWork) -> Users:
    return Users(uow.session, uow.tenant)


def directory_of(uow: UnitOfWork) -> Directory:
    return load_directory(uow.session, uow.tenant)


def sync_user(uow: UnitOfWork, data: UserUpserted, *, source: str = "platform") -> str:
    """Apply a user as the platform gives it, unless a version at least as new is stored.

    Returns ``created``, ``updated`` or ``stale``. A new user is ``active`` on the freemium
    plan and ``pending`` on the others; ``active: false`` disables a user, ``active: true``
    brings a disabled one back to where it was (active once activated, else pending).
    """
    users = users_of(uow)
    now = uow.now()
    row = users.find(data.user_id)
    if row is None:
        plan = Tenants(uow.session).get(uow.tenant).plan
        status = ("active" if plan == "freemium" else "pending") if data.active else "disabled"
        users.add(
            UserRow(
                id=data.user_id,
                name=data.name,
                email=data.email,
                status=status,
                source=source,
                version=data.version,
                created_at=now,
                updated_at=now,
                updated_by=f"system:{source}",
                activated_at=now if status == "active" else None,
                activated_by=f"system:{source}" if status == "active" else None,
            )
        )
        users.set_roles(data.user_id, [DEFAULT_ROLE])
        log.info("user %s of %s: %s (%s plan)", data.user_id, uow.tenant, status, plan)
        return "created"
    if data.version <= row.version and row.source in {"platform", "import"}:
        return "stale"
    row.name, row.email, row.version = data.name, data.email, data.version
    if not data.active:
        row.status = "disabled"
    elif row.status == "disabled":
        row.status = "active" if row.activated_at is not None else "pending"
    row.source = source
    row.updated_at = now
    row.updated_by = f"system:{source}"
    users.add(row)  # refreshes the directory
    return "updated"


def activate_user(uow: UnitOfWork, user_id: str, *, by: str) -> bool:
    """Activate a pending (or disabled) user; only a user with the Admin role may. Emits
    ``crm.user.activated``; ``False`` (and nothing emitted) when the user was active."""
    people = directory_of(uow)
    if not people.permissions(by).is_admin and not by.startswith("system:"):
        raise Forbidden(f"{by} may not activate users (needs the Admin role)")
    users = users_of(uow)
    row = _user(users, user_id, for_update=True)
    if row.status == "active":
        return False
    now = uow.now()
    row.status, row.activated_at, row.activated_by = "active", now, by
    row.updated_at, row.updated_by = now, by
    users.add(row)
    uow.emit("crm.user.activated", user_id, UserActivated(user_id=user_id, by=by))
    log.info("user %s of %s activated by %s", user_id, uow.tenant, by)
    return True


def set_user(
    uow: UnitOfWork,
    user_id: str,
    *,
    by: str,
    roles: Iterable[str] | None = None,
    manager: str | None = _UNSET,
    department: str | None = _UNSET,
    function: str | None = _UNSET,
    scope: Iterable[ScopeItem] | None = None,
    name: str | None = None,
    email: str | None = _UNSET,
) -> UserRow:
    """Change a user's roles, manager ("subordinate of": a user of the same tenant, never in a
    cycle), department, function, scope, name or e-mail. Unset arguments stay as they are."""
    users = users_of(uow)
    row = _user(users, user_id, for_update=True)
    if manager is not _UNSET:
        _check_manager(uow, user_id, manager)
        row.manager = manager or None
    if department is not _UNSET:
        row.department = department or None
    if function is not _UNSET:
        row.function = function or None
    if email is not _UNSET:
        row.email = email or None
    if name is not None:
        if not name.strip():
            raise UserError("a user's name cannot be blank")
        row.name = name.strip()
    required_fields.check(uow.session, uow.tenant, "users", _fields(row))
    row.updated_at, row.updated_by = uow.now(), by
    users.add(row)
    try:
        if roles is not None:
            users.set_roles(user_id, roles)
    except UnknownRole as e:
        raise UserError(str(e)) from None
    if scope is not None:
        users.set_scope(user_id, scope)
    return row


def set_password(uow: UnitOfWork, user_id: str, password: str, *, by: str) -> None:
    """Store the argon2id hash of the user's new password; raises ``WeakPassword``."""
    users = users_of(uow)
    row = _user(users, user_id, for_update=True)
    row.password_hash = hash_password(password)
    row.updated_at, row.updated_by = uow.now(), by


def put_role(
    uow: UnitOfWork,
    role_id: str,
    *,
    name: str | None,
    scope: str | None,
    permissions: Mapping[str, Iterable[str]] | None,
    create: bool,
) -> dict[str, Any]:
    """Create a custom role (``create``) or change one; the built-in Admin role is fixed."""
    users = users_of(uow)
    existing = uow.session.get(RoleRow, (uow.tenant, role_id))
    if create and existing is not None:
        raise RoleExists(f"tenant {uow.tenant!r} has a role {role_id!r} already")
    if not create and existing is None:
        raise RoleNotFound(f"tenant {uow.tenant!r} has no role {role_id!r}")
    if role_id == ADMIN and not create:
        raise UserError("the Admin role grants everything and cannot be changed")
    if not role_id.replace("-", "").replace("_", "").isalnum() or len(role_id) > 100:
        raise UserError(f"a role id is letters, digits, '-' and '_', not {role_id!r}")
    try:
        row = users.put_role(
            role_id,
            name=name or (existing.name if existing else role_id),
            scope=scope or (existing.scope if existing else "own"),
            permissions=permissions
            if permissions is not None
            else (existing.permissions if existing else {}),
            now=uow.now(),
            builtin=existing.builtin if existing else False,
        )
    except ValueError as e:
        raise UserError(str(e)) from None
    return role_def(row).to_json()


@dataclass
class UserView:
    row: UserRow
    roles: list[str]
    scope: list[ScopeItem]

    def to_json(self) -> dict[str, Any]:
        r = self.row
        return {
            "id": r.id,
            "name": r.name,
            "email": r.email,
            "status": r.status,
            "source": r.source,
            "version": r.version,
            "roles": self.roles,
            "manager": r.manager,
            "department": r.department,
            "function": r.function,
            "scope": [str(s) for s in self.scope],
            "has_password": r.password_hash is not None,
            "activated_at": r.activated_at.isoformat() if r.activated_at else None,
            "activated_by": r.activated_by,
            "updated_at": r.updated_at.isoformat(),
            "updated_by": r.updated_by,
        }


def view_user(uow: UnitOfWork, user_id: str) -> UserView:
    users = users_of(uow)
    row = _user(users, user_id)
    return UserView(row, users.roles_of(user_id), users.scope_of(user_id))


def list_users(uow: UnitOfWork) -> list[UserView]:
    users = users_of(uow)
    people = directory_of(uow)
    out = []
    for row in users.all():
        person = people.get(row.id)
        roles = sorted(person.roles) if person else []
        scope = sorted((ScopeItem(c, b) for c, b in (person.scope if person else ())), key=str)
        out.append(UserView(row, roles, scope))
    return out


def _user(users: Users, user_id: str, *, for_update: bool = False) -> UserRow:
    try:
        return users.get(user_id, for_update=for_update)
    except UnknownUser as e:
        raise UserNotFound(str(e)) from None


def _check_manager(uow: UnitOfWork, user_id: str, manager: str | None) -> None:
    if not manager:
        return
    if manager == user_id:
        raise UserError(f"{user_id} cannot be their own manager")
    people = directory_of(uow)
    if people.get(manager) is None:
        raise UserError(f"manager {manager!r} is not a user of tenant {uow.tenant!r}")
    chain = [manager, *people.managers_of(manager)]
    if user_id in chain:
        loop = " -> ".join([user_id, *chain[: chain.index(user_id) + 1]])
        raise UserError(f"{manager!r} cannot manage {user_id!r}: the chain would loop ({loop})")


def _fields(row: UserRow) -> dict[str, Any]:
    return {
        "email": row.email,
        "department": row.department,
        "function": row.function,
        "manager": row.manager,
    }


@dataclass(frozen=True)
class Seed:
    """A user a workflow configuration names in its ``attendants`` section."""

    id: str
    name: str
    email: str | None = None
    manager: str | None = None
    admin: bool = False
    company: str | None = None


def seed_users(uow: UnitOfWork, seeds: Iterable[Seed]) -> list[str]:
    """Create each seeded user the tenant does not have yet (active, with the User role, or
    Admin for an ``admin`` attendant, scoped to the attendant's company). Users the tenant
    has are left as they are: after the first apply the users are the truth. Returns the ids
    created."""
    users = users_of(uow)
    now = uow.now()
    created = []
    for seed in seeds:
        if users.find(seed.id) is not None:
            continue
        users.add(
            UserRow(
                id=seed.id,
                name=seed.name,
                email=seed.email,
                status="active",
                source="seed",
                version=0,
                manager=seed.manager,
                created_at=now,
                updated_at=now,
                updated_by="system:configuration",
                activated_at=now,
                activated_by="system:configuration",
            )
        )
        users.set_roles(seed.id, [ADMIN if seed.admin else DEFAULT_ROLE])
        if seed.company:
            users.set_scope(seed.id, [ScopeItem(seed.company)])
        created.append(seed.id)
    if created:
        log.info("tenant %s: users %s created from the configuration", uow.tenant, created)
    return created
