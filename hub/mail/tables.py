"""The table of SMTP servers: one row per company (``branch`` null) or branch of a tenant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base, BigId


class MailServerRow(Base):
    """How a company's or branch's mail is sent. Companies and branches are named by their
    codes. ``password_sealed`` is the password sealed by ``hub.secrets.SecretBox``; it leaves
    this table only to log in to the server."""

    __tablename__ = "mail_servers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(100))
    company: Mapped[str] = mapped_column(String(100))
    branch: Mapped[str | None] = mapped_column(String(100))
    host: Mapped[str] = mapped_column(String(253))
    port: Mapped[int] = mapped_column(Integer)
    delay_seconds: Mapped[int] = mapped_column(Integer, default=0)
    sender: Mapped[str] = mapped_column(String(320))
    sender_name: Mapped[str | None] = mapped_column(String(200))
    auth_required: Mapped[bool] = mapped_column(Boolean, default=False)
    username: Mapped[str | None] = mapped_column(String(200))
    password_sealed: Mapped[str | None] = mapped_column(String(2000))
    secure: Mapped[str] = mapped_column(String(10))  # none | ssl | starttls
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("tenant_id", "company", "branch", name="uq_mail_servers_scope"),
    )
