"""finance

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "finance_agreement_states",
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("agreement_id", sa.String(length=200), nullable=False),
        sa.Column("ticket_id", sa.String(length=40), nullable=True),
        sa.Column("pending_event_id", sa.String(length=200), nullable=True),
        sa.Column("cancel_event_id", sa.String(length=200), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "agreement_id"),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("correlation_id", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("correlation_id")

    op.drop_table("finance_agreement_states")
