"""API tokens with roles. Only a SHA-256 hash of a token is stored; the token itself is shown
once, when it is created.

Roles, each including the one before: ``reader`` (read everything), ``attendant`` (also move,
comment on, attach to and cancel tickets), ``operator`` (also replay and purge dead letters).
A token acts in the workflow as its ``user`` (an attendant id of the configuration, or
``system:<name>``), so the workflow's own permissions and field rules still apply.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.errors import HubError
from hub.runtime.uow import UnitOfWorkFactory
from hub.web.tables import ApiToken

ROLES = ("reader", "attendant", "operator")
PREFIX = "hub_"


class TokenError(HubError):
    """A token cannot be created or revoked as asked."""


@dataclass(frozen=True)
class Principal:
    """Who a request acts as."""

    token_id: int
    name: str
    role: str
    user: str

    def has(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Tokens:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow = uow

    def create(self, name: str, role: str, user: str | None = None) -> str:
        """Create a token; returns it (the only time it is visible). Raises ``TokenError``."""
        if role not in ROLES:
            raise TokenError(f"unknown role {role!r} (one of: {', '.join(ROLES)})")
        if not name.strip():
            raise TokenError("a token needs a name")
        token = PREFIX + secrets.token_urlsafe(32)
        row = ApiToken(
            name=name,
            role=role,
            user=user or name,
            token_hash=digest(token),
            prefix=token[: len(PREFIX) + 6],
            created_at=self.uow.clock.now(),
        )
        try:
            with self.uow.sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            raise TokenError(f"a token named {name!r} exists already") from None
        return token

    def list(self) -> list[dict[str, Any]]:
        with self.uow.sessions() as session:
            rows = session.scalars(select(ApiToken).order_by(ApiToken.id))
            return [
                {
                    "name": r.name,
                    "role": r.role,
                    "user": r.user,
                    "prefix": r.prefix,
                    "created_at": r.created_at.isoformat(),
                    "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
                }
                for r in rows
            ]

    def revoke(self, name: str) -> None:
        with self.uow.sessions.begin() as session:
            row = session.scalars(select(ApiToken).where(ApiToken.name == name)).first()
            if row is None:
                raise TokenError(f"no token named {name!r}")
            if row.revoked_at is None:
                row.revoked_at = self.uow.clock.now()

    def verify(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked token; ``None`` otherwise."""
        if not token.startswith(PREFIX):
            return None
        with self.uow.sessions() as session:
            row = session.scalars(
                select(ApiToken).where(ApiToken.token_hash == digest(token))
            ).first()
        if row is None or row.revoked_at is not None:
            return None
        return Principal(row.id, row.name, row.role, row.user)
