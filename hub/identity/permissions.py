"""The permission matrix: a role grants actions per module, and a data scope.

Modules are what a person opens in the console or calls in the API; actions are the seed's
(access, view, include, edit, delete, export, filter). ``access`` is the door: without it the
module's other actions are not granted either. A role's data scope says whose CRM data it
reaches: ``tenant`` (every record of the tenant), ``subordinates`` (the user's own and their
subordinates', down the whole manager chain) or ``own`` (tickets the user or their groups hold).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from hub.errors import HubError

MODULES: dict[str, str] = {
    "tickets": "Tickets",
    "agreements": "Agreements (finance approvals)",
    "student_requests": "Student requests",
    "dead_letters": "Dead letters",
    "operations": "Queues and traces",
    "configuration": "Configuration",
    "users": "Users and roles",
    "settings": "Settings",
    "companies": "Companies and branches",
}
ACTIONS: tuple[str, ...] = ("access", "view", "include", "edit", "delete", "export", "filter")
CRM_MODULES: tuple[str, ...] = ("tickets", "agreements", "student_requests")
Scope = Literal["tenant", "subordinates", "own"]
SCOPES: tuple[str, ...] = ("tenant", "subordinates", "own")
_SCOPE_RANK = {"own": 0, "subordinates": 1, "tenant": 2}

#: Which module a ticket belongs to besides ``tickets``, by its type's service.
SERVICE_MODULES: dict[str, str] = {
    "finance.agreements": "agreements",
    "edu.services": "student_requests",
}

ADMIN = "admin"


class Forbidden(HubError):
    """The caller's roles do not grant the action; the message names the missing permission."""


@dataclass(frozen=True)
class RoleDef:
    """A role: ``grants`` maps a module to the actions it allows."""

    id: str
    name: str
    scope: Scope = "own"
    grants: Mapping[str, frozenset[str]] = field(default_factory=dict)
    builtin: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "scope": self.scope,
            "builtin": self.builtin,
            "permissions": {m: sorted(a, key=ACTIONS.index) for m, a in self.grants.items() if a},
        }


def grants_of(raw: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """Validated grants from ``{module: [action, ...]}``; raises ``ValueError`` naming every
    unknown module or action."""
    problems = []
    out: dict[str, frozenset[str]] = {}
    for module, actions in raw.items():
        if module not in MODULES:
            problems.append(f"unknown module {module!r} (known: {', '.join(MODULES)})")
            continue
        wanted = set(actions)
        unknown = sorted(wanted - set(ACTIONS))
        if unknown:
            problems.append(
                f"{module}: unknown action(s) {', '.join(unknown)} (known: {', '.join(ACTIONS)})"
            )
        out[module] = frozenset(wanted & set(ACTIONS))
    if problems:
        raise ValueError("; ".join(problems))
    return out


def _all(modules: Iterable[str], actions: Iterable[str] = ACTIONS) -> dict[str, frozenset[str]]:
    return {m: frozenset(actions) for m in modules}


#: The roles every tenant is provisioned with (seed 004), by id.
DEFAULT_ROLES: dict[str, RoleDef] = {
    ADMIN: RoleDef(ADMIN, "Admin", "tenant", _all(MODULES), builtin=True),
    "director": RoleDef("director", "Director", "tenant", _all(CRM_MODULES), builtin=True),
    "coordinator": RoleDef(
        "coordinator",
        "Coordinator",
        "subordinates",
        _all(CRM_MODULES, ("access", "view", "include", "edit", "export", "filter")),
        builtin=True,
    ),
    "user": RoleDef(
        "user",
        "User",
        "own",
        _all(CRM_MODULES, ("access", "view", "include", "edit", "filter")),
        builtin=True,
    ),
    # the contact center's profiles (seed 003): they see only the script items authorised to
    # them; recording an occurrence opens or adds to a ticket (tickets:include)
    "desk_operator": RoleDef(
        "desk_operator",
        "Desk operator",
        "own",
        _all(("tickets",), ("access", "view", "include", "edit", "filter")),
        builtin=True,
    ),
    "master_operator": RoleDef(
        "master_operator",
        "Master operator",
        "subordinates",
        _all(("tickets",), ("access", "view", "include", "edit", "export", "filter")),
        builtin=True,
    ),
    "supervisor": RoleDef(
        "supervisor",
        "Supervisor",
        "subordinates",
        {
            **_all(("tickets",), ("access", "view", "include", "edit", "export", "filter")),
            "operations": frozenset({"access", "view"}),
        },
        builtin=True,
    ),
}


@dataclass(frozen=True)
class Permissions:
    """What a person may do: the union of their roles' grants, and the widest data scope."""

    user: str
    roles: frozenset[str]
    grants: Mapping[str, frozenset[str]]
    scope: Scope

    @classmethod
    def of(cls, user: str, roles: Iterable[RoleDef]) -> Permissions:
        chosen = list(roles)
        grants: dict[str, set[str]] = {}
        for role in chosen:
            for module, actions in role.grants.items():
                grants.setdefault(module, set()).update(actions)
        scope: Scope = max((r.scope for r in chosen), key=lambda s: _SCOPE_RANK[s], default="own")
        return cls(
            user,
            frozenset(r.id for r in chosen),
            {m: frozenset(a) for m, a in grants.items()},
            scope,
        )

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    def allows(self, module: str, action: str) -> bool:
        granted = self.grants.get(module, frozenset())
        return "access" in granted and action in granted

    def check(self, module: str, action: str) -> None:
        """Raise ``Forbidden`` unless the roles grant ``action`` on ``module``."""
        if module not in MODULES or action not in ACTIONS:
            raise ValueError(f"no permission {module}:{action}")
        if not self.allows(module, action):
            missing = f"{module}:{action}"
            if action != "access" and "access" not in self.grants.get(module, frozenset()):
                missing = f"{module}:access and {missing}"
            raise Forbidden(
                f"{self.user} may not {_VERBS[action]} {MODULES[module].lower()} "
                f"(needs the permission {missing})"
            )


_VERBS = {
    "access": "open",
    "view": "view",
    "include": "add to",
    "edit": "change",
    "delete": "delete from",
    "export": "export",
    "filter": "filter",
}
