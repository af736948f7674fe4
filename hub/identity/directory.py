"""The tenant's people as the workflow sees them: who exists, who manages whom, which roles and
which companies / branches each has. Plain data, loaded once per unit of work."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from hub.identity.permissions import DEFAULT_ROLES, Permissions, RoleDef


@dataclass(frozen=True)
class Person:
    """A user of the tenant. ``scope``: (company, branch) pairs, branch ``None`` for the whole
    company; empty: every company."""

    id: str
    name: str = ""
    email: str | None = None
    status: str = "active"  # pending | active | disabled
    manager: str | None = None
    roles: frozenset[str] = frozenset()
    scope: frozenset[tuple[str, str | None]] = frozenset()
    department: str | None = None
    function: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"

    def covers(self, company: str | None, branch: str | None) -> bool:
        """Whether ``company``/``branch`` lies within the user's scope."""
        if not self.scope or company is None:
            return True
        return (company, None) in self.scope or (company, branch) in self.scope


@dataclass(frozen=True)
class Directory:
    """The people and roles of one tenant."""

    people: Mapping[str, Person] = field(default_factory=dict)
    roles: Mapping[str, RoleDef] = field(default_factory=lambda: dict(DEFAULT_ROLES))

    def get(self, user: str) -> Person | None:
        return self.people.get(user)

    def managers_of(self, user: str | None) -> list[str]:
        """The chain of managers above ``user`` (nearest first); stops at a cycle."""
        chain: list[str] = []
        person = self.people.get(user or "")
        boss = person.manager if person else None
        while boss is not None and boss not in chain and boss != user:
            chain.append(boss)
            above = self.people.get(boss)
            boss = above.manager if above else None
        return chain

    def subordinates_of(self, user: str) -> set[str]:
        """Everyone whose manager chain reaches ``user``."""
        return {p for p in self.people if p != user and user in self.managers_of(p)}

    def permissions(self, user: str) -> Permissions:
        """The user's permissions (none for an unknown or inactive user)."""
        person = self.people.get(user)
        if person is None or not person.active:
            return Permissions.of(user, [])
        return Permissions.of(user, [self.roles[r] for r in person.roles if r in self.roles])

    @classmethod
    def of(cls, people: Iterable[Person], roles: Iterable[RoleDef] | None = None) -> Directory:
        return cls(
            {p.id: p for p in people},
            {r.id: r for r in roles} if roles is not None else dict(DEFAULT_ROLES),
        )
