"""education

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "edu_charges",
        sa.Column("charge_id", sa.String(length=100), nullable=False),
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("ticket_id", sa.String(length=40), nullable=False),
        sa.Column("student_ra", sa.String(length=100), nullable=False),
        sa.Column("contract_id", sa.String(length=100), nullable=False),
        sa.Column("service", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.String(length=40), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("extra_service", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("installment_id", sa.String(length=200), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("charge_id"),
    )
    with op.batch_alter_table("edu_charges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_edu_charges_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_edu_charges_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "edu_customer_debts",
        sa.Column("company", sa.String(length=50), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("open_amount", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("company", "customer_id"),
    )
    op.create_table(
        "edu_enrollments",
        sa.Column("company", sa.String(length=50), nullable=False),
        sa.Column("ra", sa.String(length=100), nullable=False),
        sa.Column("academic_period", sa.String(length=50), nullable=False),
        sa.Column("contract_id", sa.String(length=100), nullable=False),
        sa.Column("contract_status", sa.String(length=50), nullable=False),
        sa.Column("disciplines", sa.JSON(), nullable=False),
        sa.Column("fixed_due_day", sa.Integer(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("company", "ra", "academic_period"),
    )
    op.create_table(
        "edu_requests",
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("ticket_type", sa.String(length=200), nullable=False),
        sa.Column("ra", sa.String(length=100), nullable=False),
        sa.Column("company", sa.String(length=50), nullable=False),
        sa.Column("branch", sa.String(length=50), nullable=False),
        sa.Column("academic_period", sa.String(length=50), nullable=False),
        sa.Column("delivery_location", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("email", sa.String(length=400), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rejection_reason", sa.String(length=50), nullable=True),
        sa.Column("rejection_detail", sa.Text(), nullable=True),
        sa.Column("ticket_id", sa.String(length=40), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )
    with op.batch_alter_table("edu_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_edu_requests_ra"), ["ra"], unique=False)
        batch_op.create_index(batch_op.f("ix_edu_requests_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("edu_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_edu_requests_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_edu_requests_ra"))

    op.drop_table("edu_requests")
    op.drop_table("edu_enrollments")
    op.drop_table("edu_customer_debts")
    with op.batch_alter_table("edu_charges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_edu_charges_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_edu_charges_request_id"))

    op.drop_table("edu_charges")
