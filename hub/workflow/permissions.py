"""Who may act on a ticket, and which tickets a person's data scope reaches.

The people are the tenant's users (``hub.identity``); groups and their managers are the
configuration's service groups.

- ``system`` (or ``system:<name>``: consumers, timers) may do anything the flow allows.
- A user with the ``admin`` role may act on any ticket of the tenant.
- Otherwise only whoever holds the ticket now acts on it: the holding user, a member of the
  holding group, or a manager above either (the user's chain of managers, the group's
  ``manager`` and that one's chain).
- The customer (``by`` = the ticket's ``customer_id``) acts only while the ticket is under their
  responsibility (holder = customer).
- Discussion and attachments are open to anyone who may see the ticket: any active user, and
  the ticket's customer.

A person's reach (which tickets they see) follows their roles' data scope: the whole tenant;
their own and their subordinates' (``subordinates``); or their own (``own``): tickets they, or
a group they belong to, hold — the last two within the companies and branches of their scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hub.identity.directory import Directory, Person
from hub.identity.permissions import ADMIN
from hub.workflow.config import WorkflowConfig
from hub.workflow.errors import PermissionDenied

ADMIN_ROLE = ADMIN
SYSTEM = "system"


@dataclass(frozen=True)
class Holder:
    """Who holds a ticket now: a user, a group, or the customer (``id`` = customer id)."""

    kind: Literal["attendant", "group", "customer"]
    id: str | None


@dataclass(frozen=True)
class Actor:
    id: str
    kind: Literal["system", "attendant", "customer"]
    roles: frozenset[str] = frozenset()


def seed_directory(config: WorkflowConfig) -> Directory:
    """The people a configuration's ``attendants`` seed: what a tenant without users of its own
    (a test, a configuration checked on its own) works with."""
    people = [
        Person(
            id=aid,
            name=a.name,
            email=a.email,
            manager=a.manager,
            roles=frozenset({ADMIN_ROLE} if ADMIN_ROLE in a.roles else {"user"}),
        )
        for aid, a in config.attendants.items()
    ]
    return Directory.of(people)


def identify(directory: Directory, by: str, customer_id: str | None) -> Actor:
    """The actor named ``by``; raises ``PermissionDenied`` for an unknown or inactive user."""
    if by == SYSTEM or by.startswith(SYSTEM + ":"):
        return Actor(by, "system")
    person = directory.get(by)
    if person is not None:
        if not person.active:
            raise PermissionDenied(f"user {by!r} is {person.status}, not active")
        return Actor(by, "attendant", person.roles)
    if customer_id is not None and by == customer_id:
        return Actor(by, "customer")
    raise PermissionDenied(f"unknown user {by!r}")


def groups_of(config: WorkflowConfig, people: set[str]) -> set[str]:
    """The service groups any of ``people`` is a member or the manager of."""
    return {
        gid
        for gid, g in config.service_groups.items()
        if people & set(g.members) or (g.manager is not None and g.manager in people)
    }


def may_act(config: WorkflowConfig, directory: Directory, actor: Actor, holder: Holder) -> bool:
    """Whether ``actor`` may move / cancel / edit a ticket held by ``holder``."""
    if actor.kind == "system" or ADMIN_ROLE in actor.roles:
        return True
    if actor.kind == "customer":
        return holder.kind == "customer" and holder.id == actor.id
    if holder.kind == "attendant":
        return actor.id == holder.id or actor.id in directory.managers_of(holder.id)
    if holder.kind == "group" and holder.id in config.service_groups:
        group = config.service_groups[holder.id]
        return (
            actor.id in group.members
            or actor.id == group.manager
            or actor.id in directory.managers_of(group.manager)
        )
    return False


def escalation_target(config: WorkflowConfig, directory: Directory, holder: Holder) -> str | None:
    """The manager a ticket held by ``holder`` is handed to when overdue (``None``: nobody)."""
    if holder.kind == "attendant":
        chain = directory.managers_of(holder.id)
        return chain[0] if chain else None
    if holder.kind == "group" and holder.id in config.service_groups:
        return config.service_groups[holder.id].manager
    return None


@dataclass(frozen=True)
class Reach:
    """The tickets a person's data scope reaches. ``everything``: the whole tenant; otherwise
    tickets held by one of ``people`` or one of ``groups``, of a company / branch in
    ``scope`` (empty: any)."""

    everything: bool
    people: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    scope: frozenset[tuple[str, str | None]] = frozenset()

    def covers(self, holder: Holder, company: str | None, branch: str | None) -> bool:
        if self.everything:
            return True
        held = (holder.kind == "attendant" and holder.id in self.people) or (
            holder.kind == "group" and holder.id in self.groups
        )
        if not held:
            return False
        if not self.scope or company is None:
            return True
        return (company, None) in self.scope or (company, branch) in self.scope


NOTHING = Reach(everything=False)


def reach_of(config: WorkflowConfig, directory: Directory, user: str) -> Reach:
    """What ``user``'s roles let them see (nothing for an unknown or inactive user)."""
    if user == SYSTEM or user.startswith(SYSTEM + ":"):
        return Reach(everything=True)
    person = directory.get(user)
    if person is None or not person.active:
        return NOTHING
    scope = directory.permissions(user).scope
    if scope == "tenant":
        return Reach(everything=True)
    people = {user}
    if scope == "subordinates":
        people |= directory.subordinates_of(user)
    return Reach(
        everything=False,
        people=frozenset(people),
        groups=frozenset(groups_of(config, people)),
        scope=person.scope,
    )
