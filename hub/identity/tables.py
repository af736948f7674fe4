"""Tables of a tenant's people: users, roles, who has which role, and each user's scope."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base


class UserRow(Base):
    """A user of a tenant: synced from the platform (``source = platform``, ``version``
    ordered), imported, or seeded from a workflow configuration's ``attendants``."""

    __tablename__ = "users"

    tenant_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(20))  # pending | active | disabled
    source: Mapped[str] = mapped_column(String(20))  # platform | import | seed | provisioning
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    manager: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200))
    function: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(200))
    activated_at: Mapped[datetime | None]
    activated_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_users_tenant_manager", "tenant_id", "manager"),)


class RoleRow(Base):
    """A role of a tenant: the actions it grants per module and its data scope."""

    __tablename__ = "roles"

    tenant_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(20))  # tenant | subordinates | own
    permissions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class UserRoleRow(Base):
    __tablename__ = "user_roles"

    tenant_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    role_id: Mapped[str] = mapped_column(String(100), primary_key=True)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_user_roles_user",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "role_id"],
            ["roles.tenant_id", "roles.id"],
            name="fk_user_roles_role",
        ),
    )


class UserScopeRow(Base):
    """A company (``branch`` empty: all of it) or a branch in a user's scope."""

    __tablename__ = "user_scopes"

    tenant_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    company: Mapped[str] = mapped_column(String(50), primary_key=True)
    branch: Mapped[str] = mapped_column(String(50), primary_key=True, default="")

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_user_scopes_user",
            ondelete="CASCADE",
        ),
        Index("ix_user_scopes_tenant_company", "tenant_id", "company", "branch"),
    )
