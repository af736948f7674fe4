"""companies and branches: a tenant's master data; the Admin role gets the companies module

Each tenant's newest workflow configuration seeds them from its ``companies`` section, as
applying it does from now on.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ALL = ["access", "delete", "edit", "export", "filter", "include", "view"]


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("id", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("tax_id", sa.String(length=40), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_table(
        "branches",
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("company", sa.String(length=50), nullable=False),
        sa.Column("id", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("headquarters", sa.Boolean(), nullable=False),
        sa.Column("tax_id", sa.String(length=40), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "company"],
            ["companies.tenant_id", "companies.id"],
            name="fk_branches_company",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "company", "id"),
    )
    _seed_from_configurations()
    # the Admin role of every tenant grants every module, the new one included
    roles = sa.table(
        "roles", sa.column("tenant_id"), sa.column("id"), sa.column("permissions", sa.JSON())
    )
    bind = op.get_bind()
    for tenant, permissions in bind.execute(
        sa.select(roles.c.tenant_id, roles.c.permissions).where(roles.c.id == "admin")
    ):
        granted = {**(permissions or {}), "companies": _ALL}
        bind.execute(
            roles.update()
            .where(roles.c.tenant_id == tenant, roles.c.id == "admin")
            .values(permissions=granted)
        )


def _seed_from_configurations() -> None:
    bind = op.get_bind()
    versions = sa.table(
        "workflow_config_versions",
        sa.column("tenant_id"),
        sa.column("version"),
        sa.column("body", sa.JSON()),
    )
    newest = (
        sa.select(versions.c.tenant_id, sa.func.max(versions.c.version).label("version"))
        .group_by(versions.c.tenant_id)
        .subquery()
    )
    rows = bind.execute(
        sa.select(versions.c.tenant_id, versions.c.body).join(
            newest,
            sa.and_(
                versions.c.tenant_id == newest.c.tenant_id,
                versions.c.version == newest.c.version,
            ),
        )
    )
    now = datetime.now(UTC)
    stamp = {
        "source": "seed",
        "updated_by": "system:configuration",
        "created_at": now,
        "updated_at": now,
    }
    companies: list[dict[str, Any]] = []
    branches: list[dict[str, Any]] = []
    for tenant, body in rows:
        for cid, company in ((body or {}).get("companies") or {}).items():
            name = company.get("name") or cid
            companies.append({"tenant_id": tenant, "id": cid, "name": name, **stamp})
            for bid, branch in (company.get("branches") or {}).items():
                branches.append(
                    {
                        "tenant_id": tenant,
                        "company": cid,
                        "id": bid,
                        "name": branch.get("name") or bid,
                        "headquarters": False,
                        **stamp,
                    }
                )
    if companies:
        op.bulk_insert(_table("companies"), companies)
    if branches:
        op.bulk_insert(_table("branches", "company", "headquarters"), branches)


def _table(name: str, *extra: str) -> sa.TableClause:
    columns = ["tenant_id", "id", "name", "source", "updated_by", *extra]
    return sa.table(
        name,
        *(sa.column(c) for c in columns),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("branches")
    op.drop_table("companies")
