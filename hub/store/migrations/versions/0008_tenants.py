"""tenants: every row carries its tenant; users, roles, scopes and sign-in sessions

Existing rows belong to the ``default`` tenant. Token roles become ordinary roles of that tenant
(``reader``, ``attendant``, ``operator``): each existing token now belongs to the user it acted
as, created when the tenant did not have it, who is given the token's former role.

Revision ID: 0008
Revises: 0007
"""

import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT = "default"
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NAMES = {
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
}

_READ = ["access", "view", "filter", "export"]
_WORK = ["access", "view", "include", "edit", "filter", "export"]
_ALL = ["access", "view", "include", "edit", "delete", "export", "filter"]
_HUB = ["dead_letters", "operations", "configuration"]
_CRM = ["tickets", "agreements", "student_requests"]
#: The default tenant's roles and support user as this revision provisions them (frozen here:
#: later roles are added by provisioning, ``hub db upgrade`` and every start).
DEFAULT_ROLES: dict[str, tuple[str, str, dict[str, list[str]]]] = {
    "admin": ("Admin", "tenant", {m: _ALL for m in [*_CRM, *_HUB, "users", "settings"]}),
    "director": ("Director", "tenant", {m: _ALL for m in _CRM}),
    "coordinator": (
        "Coordinator",
        "subordinates",
        {m: ["access", "view", "include", "edit", "export", "filter"] for m in _CRM},
    ),
    "user": ("User", "own", {m: ["access", "view", "include", "edit", "filter"] for m in _CRM}),
}
#: The former token roles, as ordinary roles of the default tenant (frozen here: later
#: changes to the permission matrix do not rewrite history).
LEGACY_ROLES: dict[str, tuple[str, dict[str, list[str]]]] = {
    "reader": ("Reader", {m: _READ for m in [*_CRM, *_HUB]}),
    "attendant": ("Attendant", {**{m: _WORK for m in _CRM}, **{m: _READ for m in _HUB}}),
    "operator": (
        "Operator",
        {
            **{m: _WORK for m in _CRM},
            "dead_letters": _ALL,
            "operations": _READ,
            "configuration": _READ,
        },
    ),
}


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _tenant_column(primary: bool = False) -> sa.Column[Any]:
    return sa.Column(
        "tenant_id",
        sa.String(length=100),
        nullable=False,
        server_default=DEFAULT,
        primary_key=primary,
    )


def _add_tenant(
    table: str,
    *,
    primary_key: list[str] | None = None,
    drop_indexes: Sequence[str] = (),
    indexes: Sequence[tuple[str, list[str]]] = (),
    more: Callable[[Any], None] | None = None,
) -> None:
    """Give ``table`` a ``tenant_id`` (``default`` for existing rows), optionally a new primary
    key led by it, and replace its indexes by tenant-led ones."""
    old_pk = sa.inspect(op.get_bind()).get_pk_constraint(table).get("name")
    with (
        warnings.catch_warnings(),
        op.batch_alter_table(
            table, recreate="always" if _sqlite() else "auto", naming_convention=NAMES
        ) as batch,
    ):
        # SQLite's rebuilt table announces its new primary key; that is the point
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        batch.add_column(_tenant_column())
        for name in drop_indexes:
            batch.drop_index(name)
        if primary_key is not None:
            if old_pk:
                batch.drop_constraint(old_pk, type_="primary")
            batch.create_primary_key(f"{table}_pkey", primary_key)
        if more is not None:
            more(batch)
        for name, columns in indexes:
            batch.create_index(name, columns, unique=False)
    with op.batch_alter_table(table) as batch:
        batch.alter_column("tenant_id", server_default=None)


def _drop_fk_to(table: str, referred: str) -> Callable[[Any], None]:
    bind = op.get_bind()
    names = [
        fk["name"]
        or NAMES["fk"]
        % {
            "table_name": table,
            "column_0_name": fk["constrained_columns"][0],
            "referred_table_name": fk["referred_table"],
        }
        for fk in sa.inspect(bind).get_foreign_keys(table)
        if fk["referred_table"] == referred
    ]

    def drop(batch: Any) -> None:
        for name in names:
            batch.drop_constraint(name, type_="foreignkey")

    return drop


def upgrade() -> None:
    now = datetime.now(UTC)
    tenants = op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("plan", sa.String(length=20), nullable=False),
        sa.Column("required_fields", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(
        tenants,
        [
            {
                "id": DEFAULT,
                "name": "Default",
                "plan": "freemium",
                "required_fields": {},
                "settings": {},
                "created_at": now,
            }
        ],
    )

    # --- the message runtime -------------------------------------------------------------
    _add_tenant(
        "inbox",
        primary_key=["tenant_id", "consumer", "idempotency_key"],
        drop_indexes=["ix_inbox_correlation_id"],
        indexes=[("ix_inbox_tenant_correlation", ["tenant_id", "correlation_id"])],
    )
    _add_tenant(
        "outbox",
        drop_indexes=["ix_outbox_correlation_id"],
        indexes=[("ix_outbox_tenant_correlation", ["tenant_id", "correlation_id"])],
    )
    _add_tenant(
        "dead_letters",
        drop_indexes=[
            "ix_dead_letters_consumer",
            "ix_dead_letters_correlation_id",
            "ix_dead_letters_status",
        ],
        indexes=[
            ("ix_dead_letters_tenant_status", ["tenant_id", "status", "consumer"]),
            ("ix_dead_letters_tenant_correlation", ["tenant_id", "correlation_id"]),
        ],
    )

    # --- the workflow ------------------------------------------------------------------
    drop_ticket_fk = _drop_fk_to("tickets", "workflow_config_versions")
    if not _sqlite():  # the key it refers to changes next (SQLite drops it in the rebuild)
        with op.batch_alter_table("tickets") as batch:
            drop_ticket_fk(batch)
    _add_tenant("workflow_config_versions", primary_key=["tenant_id", "version"])

    def tickets_more(batch: Any) -> None:
        if _sqlite():
            drop_ticket_fk(batch)
        batch.add_column(sa.Column("subject", sa.String(length=400), nullable=True))
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch.create_foreign_key(
            "fk_tickets_config_version",
            "workflow_config_versions",
            ["tenant_id", "config_version"],
            ["tenant_id", "version"],
        )

    _add_tenant(
        "tickets",
        drop_indexes=[
            "ix_tickets_config_version",
            "ix_tickets_customer_id",
            "ix_tickets_holder",
            "ix_tickets_origin",
            "ix_tickets_stage",
            "ix_tickets_status",
            "ix_tickets_ticket_type",
        ],
        more=tickets_more,
        indexes=[
            ("ix_tickets_tenant_opened", ["tenant_id", "opened_at"]),
            ("ix_tickets_tenant_holder", ["tenant_id", "holder_kind", "holder_id"]),
            ("ix_tickets_tenant_origin", ["tenant_id", "origin_type", "origin_id"]),
            ("ix_tickets_tenant_customer", ["tenant_id", "customer_id"]),
            ("ix_tickets_tenant_type_stage", ["tenant_id", "ticket_type", "stage"]),
            ("ix_tickets_tenant_status", ["tenant_id", "status"]),
            ("ix_tickets_config_version", ["tenant_id", "config_version"]),
        ],
    )
    for table in ("ticket_stage_history", "ticket_comments", "ticket_attachments", "ticket_timers"):
        _add_tenant(table)

    # --- education ------------------------------------------------------------------------
    _add_tenant("edu_enrollments", primary_key=["tenant_id", "company", "ra", "academic_period"])
    _add_tenant("edu_customer_debts", primary_key=["tenant_id", "company", "customer_id"])
    _add_tenant(
        "edu_requests",
        primary_key=["tenant_id", "request_id"],
        drop_indexes=["ix_edu_requests_ra", "ix_edu_requests_ticket_id"],
        indexes=[
            ("ix_edu_requests_tenant_ra", ["tenant_id", "ra"]),
            ("ix_edu_requests_tenant_ticket", ["tenant_id", "ticket_id"]),
        ],
    )
    _add_tenant(
        "edu_charges",
        primary_key=["tenant_id", "charge_id"],
        drop_indexes=["ix_edu_charges_request_id", "ix_edu_charges_ticket_id"],
        indexes=[
            ("ix_edu_charges_tenant_request", ["tenant_id", "request_id"]),
            ("ix_edu_charges_tenant_ticket", ["tenant_id", "ticket_id"]),
        ],
    )

    # --- people ---------------------------------------------------------------------------
    op.create_table(
        "users",
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=400), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("manager", sa.String(length=200), nullable=True),
        sa.Column("department", sa.String(length=200), nullable=True),
        sa.Column("function", sa.String(length=200), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("activated_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index("ix_users_tenant_manager", "users", ["tenant_id", "manager"])
    roles = op.create_table(
        "roles",
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    user_roles = op.create_table(
        "user_roles",
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("role_id", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "role_id"], ["roles.tenant_id", "roles.id"], name="fk_user_roles_role"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_user_roles_user",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", "role_id"),
    )
    op.create_table(
        "user_scopes",
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("company", sa.String(length=50), nullable=False),
        sa.Column("branch", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_user_scopes_user",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", "company", "branch"),
    )
    op.create_index(
        "ix_user_scopes_tenant_company", "user_scopes", ["tenant_id", "company", "branch"]
    )
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_web_sessions_tenant_user", "web_sessions", ["tenant_id", "user_id"])

    # --- the default tenant's roles and support user ---------------------------------
    op.bulk_insert(
        roles,
        [
            {
                "tenant_id": DEFAULT,
                "id": rid,
                "name": name,
                "scope": scope,
                "permissions": grants,
                "builtin": True,
                "created_at": now,
                "updated_at": now,
            }
            for rid, (name, scope, grants) in DEFAULT_ROLES.items()
        ],
    )
    users = sa.table(
        "users",
        *(
            sa.column(c)
            for c in (
                "tenant_id",
                "id",
                "name",
                "status",
                "source",
                "version",
                "created_at",
                "updated_at",
                "activated_at",
                "activated_by",
            )
        ),
    )

    def user(user_id: str, name: str, source: str) -> dict[str, Any]:
        return {
            "tenant_id": DEFAULT,
            "id": user_id,
            "name": name,
            "status": "active",
            "source": source,
            "version": 0,
            "created_at": now,
            "updated_at": now,
            "activated_at": now,
            "activated_by": "system:upgrade",
        }

    op.bulk_insert(users, [user("support", "Support", "provisioning")])
    op.bulk_insert(user_roles, [{"tenant_id": DEFAULT, "user_id": "support", "role_id": "admin"}])

    # --- tokens belong to users -------------------------------------------------------
    bind = op.get_bind()
    legacy = list(bind.execute(sa.text('SELECT DISTINCT role, "user" FROM api_tokens')))
    if legacy:
        op.bulk_insert(
            roles,
            [
                {
                    "tenant_id": DEFAULT,
                    "id": rid,
                    "name": name,
                    "scope": "tenant",
                    "permissions": grants,
                    "builtin": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for rid, (name, grants) in LEGACY_ROLES.items()
            ],
        )
        op.bulk_insert(
            users, [user(u, u, "import") for u in sorted({u for _, u in legacy} - {"support"})]
        )
        op.bulk_insert(
            user_roles,
            [
                {"tenant_id": DEFAULT, "user_id": u, "role_id": r}
                for r, u in sorted(set(legacy))
                if r in LEGACY_ROLES
            ],
        )

    def tokens_more(batch: Any) -> None:
        batch.drop_column("role")
        uq = [
            c["name"] or "uq_api_tokens_name"
            for c in sa.inspect(op.get_bind()).get_unique_constraints("api_tokens")
            if c["column_names"] == ["name"]
        ]
        for name in uq:
            batch.drop_constraint(name, type_="unique")
        batch.create_unique_constraint("uq_api_tokens_tenant_name", ["tenant_id", "name"])

    _add_tenant("api_tokens", more=tokens_more)

    # stored first responses are kept per caller now (a token or a signed-in user); those of
    # requests made before the upgrade are forgotten
    op.drop_index("ix_idempotent_requests_created_at", table_name="idempotent_requests")
    op.drop_table("idempotent_requests")
    op.create_table(
        "idempotent_requests",
        sa.Column("owner", sa.String(length=320), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner", "key"),
    )
    op.create_index(
        "ix_idempotent_requests_created_at", "idempotent_requests", ["created_at"], unique=False
    )


def downgrade() -> None:
    raise NotImplementedError("tenants cannot be merged back into one: restore a backup")
