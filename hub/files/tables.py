"""The ``file_servers`` table: one FTP/SFTP setting per tenant, company and branch."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base, BigId


class FileServerRow(Base):
    """A company's (``branch`` NULL) or a branch's file server. Companies and branches are
    named by their codes; ``password_sealed`` is a ``SecretBox`` value, never shown."""

    __tablename__ = "file_servers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(100))
    company: Mapped[str] = mapped_column(String(50))
    branch: Mapped[str | None] = mapped_column(String(50))
    host: Mapped[str] = mapped_column(String(253))
    port: Mapped[int] = mapped_column(Integer)
    folder: Mapped[str] = mapped_column(String(400))
    username: Mapped[str] = mapped_column(String(200))
    password_sealed: Mapped[str] = mapped_column(Text)
    protocol: Mapped[str] = mapped_column(String(10))  # ftp|sftp
    transfer: Mapped[str] = mapped_column(String(10))  # hub|server
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index(
            "ux_file_servers_branch",
            "tenant_id",
            "company",
            "branch",
            unique=True,
            postgresql_where=text("branch IS NOT NULL"),
            sqlite_where=text("branch IS NOT NULL"),
        ),
        Index(
            "ux_file_servers_company",
            "tenant_id",
            "company",
            unique=True,
            postgresql_where=text("branch IS NULL"),
            sqlite_where=text("branch IS NULL"),
        ),
    )
