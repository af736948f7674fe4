"""Who may act on a ticket.

- ``system`` (or ``system:<name>``: consumers, timers) may do anything the flow allows.
- An attendant with the role ``admin`` may act on any ticket.
- Otherwise only whoever holds the ticket now acts on it: the holding attendant, a member of
  the holding group, or a manager above either (the attendant's chain of ``manager``, the
  group's ``manager`` and that one's chain).
- The customer (``by`` = the ticket's ``customer_id``) acts only while the ticket is under their
  responsibility (holder = customer); that includes cancelling it.
- Discussion and attachments are open to anyone who may see the ticket: any attendant, and the
  ticket's customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hub.workflow.config import WorkflowConfig
from hub.workflow.errors import PermissionDenied

ADMIN_ROLE = "admin"
SYSTEM = "system"


@dataclass(frozen=True)
class Holder:
    """Who holds a ticket now: an attendant, a group, or the customer (``id`` = customer id)."""

    kind: Literal["attendant", "group", "customer"]
    id: str | None


@dataclass(frozen=True)
class Actor:
    id: str
    kind: Literal["system", "attendant", "customer"]
    roles: frozenset[str] = frozenset()


def identify(config: WorkflowConfig, by: str, customer_id: str | None) -> Actor:
    """The actor named ``by``; raises ``PermissionDenied`` for an unknown user."""
    if by == SYSTEM or by.startswith(SYSTEM + ":"):
        return Actor(by, "system")
    if by in config.attendants:
        return Actor(by, "attendant", frozenset(config.attendants[by].roles))
    if customer_id is not None and by == customer_id:
        return Actor(by, "customer")
    raise PermissionDenied(f"unknown user {by!r}")


def managers_of(config: WorkflowConfig, attendant: str | None) -> list[str]:
    """The chain of managers above ``attendant`` (nearest first)."""
    chain: list[str] = []
    boss = config.attendants[attendant].manager if attendant in config.attendants else None
    while boss is not None and boss not in chain:
        chain.append(boss)
        boss = config.attendants[boss].manager if boss in config.attendants else None
    return chain


def may_act(config: WorkflowConfig, actor: Actor, holder: Holder) -> bool:
    """Whether ``actor`` may move / cancel / edit a ticket held by ``holder``."""
    if actor.kind == "system" or ADMIN_ROLE in actor.roles:
        return True
    if actor.kind == "customer":
        return holder.kind == "customer" and holder.id == actor.id
    if holder.kind == "attendant":
        return actor.id == holder.id or actor.id in managers_of(config, holder.id)
    if holder.kind == "group" and holder.id in config.service_groups:
        group = config.service_groups[holder.id]
        return (
            actor.id in group.members
            or actor.id == group.manager
            or actor.id in managers_of(config, group.manager)
        )
    return False


def escalation_target(config: WorkflowConfig, holder: Holder) -> str | None:
    """The manager a ticket held by ``holder`` is handed to when overdue (``None``: nobody)."""
    if holder.kind == "attendant":
        chain = managers_of(config, holder.id)
        return chain[0] if chain else None
    if holder.kind == "group" and holder.id in config.service_groups:
        return config.service_groups[holder.id].manager
    return None
