"""handling attempts

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "handling_attempts",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("message_key", sa.String(length=400), nullable=False),
        sa.Column("started", sa.Integer(), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "message_key"),
    )


def downgrade() -> None:

    op.drop_table("handling_attempts")
