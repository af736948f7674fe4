"""Alembic environment: runs the hub's migrations against ``sqlalchemy.url``."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context

import hub.store.tables  # noqa: F401  (registers every table on Base.metadata)
from hub.store.db import make_engine
from hub.store.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def render_item(kind: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render the store's own column types as plain SQLAlchemy ones in migration files."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # a table rebuilt by a migration (SQLite's way of altering one) must not trip
                # the foreign keys of the rows referring to it; they are checked at the end
                _raw_sqlite(connection, "PRAGMA foreign_keys=OFF")
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
                render_item=render_item,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
            connection.commit()
    finally:
        engine.dispose()


def _raw_sqlite(connection: Any, statement: str) -> None:
    """Run ``statement`` outside any transaction (SQLite ignores some pragmas inside one)."""
    dbapi = connection.connection.dbapi_connection
    dbapi.execute(statement)


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
