"""API tokens. A token belongs to a user of a tenant and acts with that user's roles and
permissions. Only a SHA-256 hash of a token is stored; the token itself is shown once, when it
is created.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.errors import HubError
from hub.identity.users import Users
from hub.runtime.uow import UnitOfWorkFactory
from hub.web.tables import ApiToken

PREFIX = "hub_"
MAX_TOKEN_LENGTH = 200


class TokenError(HubError):
    """A token cannot be created or revoked as asked."""


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a user of a tenant, through a token or a signed-in session.

    ``token_id`` is the token's id, or 0 for a session; ``key`` tells callers apart (stored
    idempotent responses are per key)."""

    token_id: int
    name: str
    tenant: str
    user: str
    kind: str = "token"  # token | session
    session_id: str | None = None

    @property
    def key(self) -> str:
        return (
            f"token:{self.token_id}" if self.kind == "token" else f"user:{self.tenant}/{self.user}"
        )


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Tokens:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow = uow

    def create(self, name: str, *, tenant: str, user: str | None = None) -> str:
        """Create a token of ``user`` (default: a user named ``name``) of ``tenant``; returns it
        (the only time it is visible). Raises ``TokenError``."""
        if not name.strip() or len(name) > 100:
            raise TokenError("a token needs a name of 1 to 100 characters")
        user = user or name
        token = PREFIX + secrets.token_urlsafe(32)
        try:
            with self.uow.sessions.begin() as session:
                if Users(session, tenant).find(user) is None:
                    raise TokenError(
                        f"tenant {tenant!r} has no user {user!r}: a token belongs to a user "
                        "(see `hub users list`)"
                    )
                session.add(
                    ApiToken(
                        tenant_id=tenant,
                        name=name,
                        user=user,
                        token_hash=digest(token),
                        prefix=token[: len(PREFIX) + 6],
                        created_at=self.uow.clock.now(),
                    )
                )
        except IntegrityError:
            raise TokenError(f"tenant {tenant!r} has a token named {name!r} already") from None
        return token

    def list(self, tenant: str) -> list[dict[str, Any]]:
        with self.uow.sessions() as session:
            rows = session.scalars(
                select(ApiToken).where(ApiToken.tenant_id == tenant).order_by(ApiToken.id)
            )
            return [
                {
                    "name": r.name,
                    "user": r.user,
                    "prefix": r.prefix,
                    "created_at": r.created_at.isoformat(),
                    "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
                }
                for r in rows
            ]

    def revoke(self, name: str, *, tenant: str) -> None:
        with self.uow.sessions.begin() as session:
            row = session.scalars(
                select(ApiToken).where(ApiToken.tenant_id == tenant, ApiToken.name == name)
            ).first()
            if row is None:
                raise TokenError(f"tenant {tenant!r} has no token named {name!r}")
            if row.revoked_at is None:
                row.revoked_at = self.uow.clock.now()

    def verify(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked token; ``None`` otherwise."""
        if not token.startswith(PREFIX) or len(token) > MAX_TOKEN_LENGTH:
            return None
        with self.uow.sessions() as session:
            row = session.scalars(
                select(ApiToken).where(ApiToken.token_hash == digest(token))
            ).first()
        if row is None or row.revoked_at is not None:
            return None
        return Principal(row.id, row.name, row.tenant_id, row.user)
