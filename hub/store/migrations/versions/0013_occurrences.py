"""occurrences: contact-center occurrences recorded from script items and omnichannel forms;
the contact center's default roles in every tenant

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WORK = ["access", "view", "include", "edit", "filter"]
#: The contact center's default roles as this revision provisions them (frozen here).
NEW_ROLES: dict[str, tuple[str, str, dict[str, list[str]]]] = {
    "desk_operator": ("Desk operator", "own", {"tickets": _WORK}),
    "master_operator": ("Master operator", "subordinates", {"tickets": [*_WORK, "export"]}),
    "supervisor": (
        "Supervisor",
        "subordinates",
        {"tickets": [*_WORK, "export"], "operations": ["access", "view"]},
    ),
}


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
    bind = op.get_bind()
    tenants = [r[0] for r in bind.execute(sa.text("SELECT id FROM tenants"))]
    have = {(r[0], r[1]) for r in bind.execute(sa.text("SELECT tenant_id, id FROM roles"))}
    roles = sa.table(
        "roles",
        *(
            sa.column(c)
            for c in ("tenant_id", "id", "name", "scope", "builtin", "created_at", "updated_at")
        ),
        sa.column("permissions", sa.JSON()),
    )
    now = datetime.now(UTC)
    rows = [
        {
            "tenant_id": tenant,
            "id": rid,
            "name": name,
            "scope": scope,
            "permissions": {m: sorted(a) for m, a in grants.items()},
            "builtin": True,
            "created_at": now,
            "updated_at": now,
        }
        for tenant in tenants
        for rid, (name, scope, grants) in NEW_ROLES.items()
        if (tenant, rid) not in have
    ]
    if rows:
        op.bulk_insert(roles, rows)


def downgrade() -> None:
    op.drop_index("ix_occurrences_ticket", table_name="occurrences")
    op.drop_index("ix_occurrences_contact", table_name="occurrences")
    op.drop_table("occurrences")
