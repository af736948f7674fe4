"""dead letters: the operators' audit (purged, edited, replayed)

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "dead_letter_audit",
        sa.Column("id", BigId, nullable=False),
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("dead_letter_id", BigId, nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=True),
        sa.Column("event_type", sa.String(length=200), nullable=True),
        sa.Column("error_type", sa.String(length=200), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("corrected", sa.LargeBinary(), nullable=True),
        sa.Column("diff", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_dead_letter_audit_tenant_letter", "dead_letter_audit", ["tenant_id", "dead_letter_id"]
    )
    op.create_index("ix_dead_letter_audit_at", "dead_letter_audit", ["at"])


def downgrade() -> None:
    op.drop_index("ix_dead_letter_audit_at", table_name="dead_letter_audit")
    op.drop_index("ix_dead_letter_audit_tenant_letter", table_name="dead_letter_audit")
    op.drop_table("dead_letter_audit")
