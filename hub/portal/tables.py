"""Tables of the customer portal: customers' accounts and their one-time invitation links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base


class PortalAccount(Base):
    """A customer's account: linked to the id the ERP knows them by (an agreement's
    ``customer.id``, a student's RA). ``status``: ``invited`` until a password is set through
    an invitation, then ``active``; ``disabled`` refuses sign-in and ends its sessions."""

    __tablename__ = "portal_accounts"

    tenant_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    activated_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    disabled_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("tenant_id", "email", name="uq_portal_accounts_email"),)


class PortalInvite(Base):
    """A one-time link to set an account's password: the store keeps only the hash of the
    link's token. Used once, or dead after ``expires_at``; a newer invitation replaces it."""

    __tablename__ = "portal_invites"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_portal_invites_account", "tenant_id", "customer_id"),)
