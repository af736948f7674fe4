"""occurrences: contact-center occurrences recorded from script items and omnichannel forms

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "occurrences",
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("script_item", sa.String(length=200), nullable=True),
        sa.Column("form", sa.String(length=200), nullable=False),
        sa.Column("ticket_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=200), nullable=True),
        sa.Column("customer_id", sa.String(length=200), nullable=True),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("complement", sa.JSON(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index("ix_occurrences_contact", "occurrences", ["tenant_id", "contact_id"])
    op.create_index("ix_occurrences_ticket", "occurrences", ["tenant_id", "ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_occurrences_ticket", table_name="occurrences")
    op.drop_index("ix_occurrences_contact", table_name="occurrences")
    op.drop_table("occurrences")
