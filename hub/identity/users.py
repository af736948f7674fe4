"""Loading and saving a tenant's users and roles through a SQLAlchemy session (one unit of
work). ``load_directory`` reads the whole tenant once per transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.identity.directory import Directory, Person
from hub.identity.permissions import DEFAULT_ROLES, SCOPES, RoleDef, grants_of
from hub.identity.tables import RoleRow, UserRoleRow, UserRow, UserScopeRow

_DIRECTORY = "hub.identity.directory"


class UnknownUser(LookupError):
    """No such user in the tenant."""


@dataclass(frozen=True)
class ScopeItem:
    """A company, or one of its branches, in a user's scope: ``COMPANY`` or ``COMPANY/BRANCH``."""

    company: str
    branch: str | None = None

    @classmethod
    def parse(cls, text: str) -> ScopeItem:
        company, sep, branch = text.strip().partition("/")
        if not company or (sep and not branch) or "/" in branch:
            raise ValueError(f"a scope is COMPANY or COMPANY/BRANCH, not {text!r}")
        return cls(company, branch or None)

    def __str__(self) -> str:
        return f"{self.company}/{self.branch}" if self.branch else self.company


def role_def(row: RoleRow) -> RoleDef:
    return RoleDef(
        row.id,
        row.name,
        row.scope if row.scope in SCOPES else "own",  # type: ignore[arg-type]
        grants_of(row.permissions or {}),
        builtin=row.builtin,
    )


def load_directory(session: Session, tenant: str) -> Directory:
    """The tenant's people and roles, read once per transaction of ``session``."""
    transaction = session.get_transaction()
    cached = session.info.get(_DIRECTORY, {}).get(tenant)
    if transaction is not None and cached is not None and cached[0] is transaction:
        return cached[1]  # type: ignore[no-any-return]
    directory = _read_directory(session, tenant)
    if transaction is not None:
        session.info.setdefault(_DIRECTORY, {})[tenant] = (transaction, directory)
    return directory


def forget_directory(session: Session) -> None:
    """Drop the cached directory after a change to users or roles in this transaction."""
    session.info.pop(_DIRECTORY, None)


def _read_directory(session: Session, tenant: str) -> Directory:
    roles: dict[str, set[str]] = {}
    for user_id, role_id in session.execute(
        select(UserRoleRow.user_id, UserRoleRow.role_id).where(UserRoleRow.tenant_id == tenant)
    ):
        roles.setdefault(user_id, set()).add(role_id)
    scopes: dict[str, set[tuple[str, str | None]]] = {}
    for user_id, company, branch in session.execute(
        select(UserScopeRow.user_id, UserScopeRow.company, UserScopeRow.branch).where(
            UserScopeRow.tenant_id == tenant
        )
    ):
        scopes.setdefault(user_id, set()).add((company, branch or None))
    people = [
        Person(
            id=row.id,
            name=row.name,
            email=row.email,
            status=row.status,
            manager=row.manager,
            roles=frozenset(roles.get(row.id, ())),
            scope=frozenset(scopes.get(row.id, ())),
            department=row.department,
            function=row.function,
        )
        for row in session.scalars(select(UserRow).where(UserRow.tenant_id == tenant))
    ]
    role_defs = [
        role_def(r) for r in session.scalars(select(RoleRow).where(RoleRow.tenant_id == tenant))
    ]
    return Directory.of(people, role_defs)


class Users:
    """A tenant's users and roles, inside the caller's transaction."""

    def __init__(self, session: Session, tenant: str) -> None:
        self.session = session
        self.tenant = tenant

    # --- users ------------------------------------------------------------------------

    def get(self, user_id: str, *, for_update: bool = False) -> UserRow:
        query = select(UserRow).where(UserRow.tenant_id == self.tenant, UserRow.id == user_id)
        if for_update:
            query = query.with_for_update()
        row = self.session.scalars(query).first()
        if row is None:
            raise UnknownUser(f"tenant {self.tenant!r} has no user {user_id!r}")
        return row

    def find(self, user_id: str) -> UserRow | None:
        return self.session.get(UserRow, (self.tenant, user_id))

    def all(self) -> list[UserRow]:
        return list(
            self.session.scalars(
                select(UserRow).where(UserRow.tenant_id == self.tenant).order_by(UserRow.id)
            )
        )

    def add(self, row: UserRow) -> UserRow:
        row.tenant_id = self.tenant
        self.session.add(row)
        self.session.flush()
        forget_directory(self.session)
        return row

    def roles_of(self, user_id: str) -> list[str]:
        return sorted(
            self.session.scalars(
                select(UserRoleRow.role_id).where(
                    UserRoleRow.tenant_id == self.tenant, UserRoleRow.user_id == user_id
                )
            )
        )

    def scope_of(self, user_id: str) -> list[ScopeItem]:
        rows = self.session.execute(
            select(UserScopeRow.company, UserScopeRow.branch)
            .where(UserScopeRow.tenant_id == self.tenant, UserScopeRow.user_id == user_id)
            .order_by(UserScopeRow.company, UserScopeRow.branch)
        )
        return [ScopeItem(c, b or None) for c, b in rows]

    def set_roles(self, user_id: str, role_ids: Iterable[str]) -> None:
        wanted = sorted(set(role_ids))
        known = set(self.role_ids())
        unknown = [r for r in wanted if r not in known]
        if unknown:
            raise UnknownRole(
                f"tenant {self.tenant!r} has no role {', '.join(map(repr, unknown))} "
                f"(roles: {', '.join(sorted(known))})"
            )
        self.session.execute(
            delete(UserRoleRow).where(
                UserRoleRow.tenant_id == self.tenant, UserRoleRow.user_id == user_id
            )
        )
        for role in wanted:
            self.session.add(UserRoleRow(tenant_id=self.tenant, user_id=user_id, role_id=role))
        self.session.flush()
        forget_directory(self.session)

    def add_role(self, user_id: str, role_id: str) -> bool:
        """Give the user ``role_id`` unless they have it; ``True`` when it was given."""
        if role_id in self.roles_of(user_id):
            return False
        self.session.add(UserRoleRow(tenant_id=self.tenant, user_id=user_id, role_id=role_id))
        self.session.flush()
        forget_directory(self.session)
        return True

    def set_scope(self, user_id: str, items: Iterable[ScopeItem]) -> None:
        self.session.execute(
            delete(UserScopeRow).where(
                UserScopeRow.tenant_id == self.tenant, UserScopeRow.user_id == user_id
            )
        )
        for item in {(i.company, i.branch or "") for i in items}:
            self.session.add(
                UserScopeRow(
                    tenant_id=self.tenant, user_id=user_id, company=item[0], branch=item[1]
                )
            )
        self.session.flush()
        forget_directory(self.session)

    # --- roles ------------------------------------------------------------------------

    def role_ids(self) -> list[str]:
        return sorted(
            self.session.scalars(select(RoleRow.id).where(RoleRow.tenant_id == self.tenant))
        )

    def role(self, role_id: str) -> RoleRow:
        row = self.session.get(RoleRow, (self.tenant, role_id))
        if row is None:
            raise UnknownRole(f"tenant {self.tenant!r} has no role {role_id!r}")
        return row

    def roles(self) -> list[RoleRow]:
        return list(
            self.session.scalars(
                select(RoleRow).where(RoleRow.tenant_id == self.tenant).order_by(RoleRow.id)
            )
        )

    def put_role(
        self,
        role_id: str,
        *,
        name: str,
        scope: str,
        permissions: Mapping[str, Iterable[str]],
        now: datetime,
        builtin: bool = False,
    ) -> RoleRow:
        """Create the role, or replace its name, scope and permissions."""
        if scope not in SCOPES:
            raise ValueError(f"a role's scope is one of {', '.join(SCOPES)}, not {scope!r}")
        grants = grants_of(permissions)
        body: dict[str, Any] = {m: sorted(a) for m, a in grants.items()}
        row = self.session.get(RoleRow, (self.tenant, role_id))
        if row is None:
            row = RoleRow(
                tenant_id=self.tenant,
                id=role_id,
                name=name,
                scope=scope,
                permissions=body,
                builtin=builtin,
                created_at=now,
                updated_at=now,
            )
            self.session.add(row)
        else:
            row.name, row.scope, row.permissions, row.updated_at = name, scope, body, now
        self.session.flush()
        forget_directory(self.session)
        return row


class UnknownRole(LookupError):
    """No such role in the tenant."""


def default_role_rows(tenant: str, now: datetime) -> list[RoleRow]:
    """The rows of the default roles of a new tenant."""
    return [
        RoleRow(
            tenant_id=tenant,
            id=r.id,
            name=r.name,
            scope=r.scope,
            permissions={m: sorted(a) for m, a in r.grants.items()},
            builtin=True,
            created_at=now,
            updated_at=now,
        )
        for r in DEFAULT_ROLES.values()
    ]
