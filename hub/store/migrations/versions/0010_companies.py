"""companies and branches: a tenant's master data; the Admin role gets the companies module

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

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


def downgrade() -> None:
    op.drop_table("branches")
    op.drop_table("companies")
