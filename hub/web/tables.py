"""The web surface's tables: API tokens and sign-in sessions (only hashes are kept), and the
stored first responses of write requests sent with an ``Idempotency-Key``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base, BigId


class ApiToken(Base):
    """A bearer token of a tenant's user: it acts with that user's roles and permissions."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    user: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_api_tokens_tenant_name"),)


class WebSession(Base):
    """A signed-in browser: the cookie holds a random id, the store only its hash.

    ``kind`` is ``staff`` (the console) or ``customer`` (the portal). A session ends at
    ``expires_at``, after ``idle`` seconds without a request, or when revoked (log-out).
    """

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    csrf_token: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_web_sessions_tenant_user", "tenant_id", "user_id"),)


class IdempotentRequest(Base):
    """The first response to a write request with an ``Idempotency-Key``, per caller (``owner``:
    a token, or a signed-in user of a tenant).

    ``status`` is 0 while the first request is still being handled.
    """

    __tablename__ = "idempotent_requests"

    owner: Mapped[str] = mapped_column(String(320), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(index=True)
