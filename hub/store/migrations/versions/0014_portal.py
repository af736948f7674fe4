"""portal: customers' accounts and invitations; internal notes in the discussion; tombstones of
deleted tickets; the names of an enrollment's disciplines

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_accounts",
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id"),
        sa.UniqueConstraint("tenant_id", "email", name="uq_portal_accounts_email"),
    )
    op.create_table(
        "portal_invites",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_portal_invites_account", "portal_invites", ["tenant_id", "customer_id"])
    with op.batch_alter_table("ticket_comments") as batch:
        batch.add_column(
            sa.Column("internal", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("edu_enrollments") as batch:
        batch.add_column(sa.Column("discipline_names", sa.JSON(), nullable=True))
    op.create_table(
        "ticket_tombstones",
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("ticket_id", sa.String(length=40), nullable=False),
        sa.Column("ticket_type", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.String(length=200), nullable=True),
        sa.Column("subject", sa.String(length=400), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("deleted_by", sa.String(length=200), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "ticket_id"),
    )


def downgrade() -> None:
    op.drop_table("ticket_tombstones")
    with op.batch_alter_table("edu_enrollments") as batch:
        batch.drop_column("discipline_names")
    with op.batch_alter_table("ticket_comments") as batch:
        batch.drop_column("internal")
    op.drop_index("ix_portal_invites_account", table_name="portal_invites")
    op.drop_table("portal_invites")
    op.drop_table("portal_accounts")
