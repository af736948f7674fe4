"""file servers: FTP/SFTP settings per company and branch; where each attachment's bytes are

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "file_servers",
        sa.Column("id", BigId, nullable=False),
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("company", sa.String(length=50), nullable=False),
        sa.Column("branch", sa.String(length=50), nullable=True),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("folder", sa.String(length=400), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("password_sealed", sa.Text(), nullable=False),
        sa.Column("protocol", sa.String(length=10), nullable=False),
        sa.Column("transfer", sa.String(length=10), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ux_file_servers_branch",
        "file_servers",
        ["tenant_id", "company", "branch"],
        unique=True,
        postgresql_where=sa.text("branch IS NOT NULL"),
        sqlite_where=sa.text("branch IS NOT NULL"),
    )
    op.create_index(
        "ux_file_servers_company",
        "file_servers",
        ["tenant_id", "company"],
        unique=True,
        postgresql_where=sa.text("branch IS NULL"),
        sqlite_where=sa.text("branch IS NULL"),
    )
    with op.batch_alter_table("ticket_attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket_attachments", schema=None) as batch_op:
        batch_op.drop_column("location")
    op.drop_index("ux_file_servers_company", table_name="file_servers")
    op.drop_index("ux_file_servers_branch", table_name="file_servers")
    op.drop_table("file_servers")
