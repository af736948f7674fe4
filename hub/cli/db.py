"""``hub db``: the store's schema."""

from __future__ import annotations

import typer

from hub.cli.common import settings
from hub.store import db as store_db

app = typer.Typer(help="Manage the store's schema (Alembic migrations).", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Create or migrate the database named by HUB_DATABASE_URL (default: the SQLite file).
    At the newest revision, the default tenant is provisioned with its roles, its support user
    and the workflow configuration of HUB_WORKFLOW_CONFIG (default: the demo)."""
    s = settings()
    url = s.effective_database_url
    store_db.upgrade(url, revision)
    if revision == "head":
        from hub.bootstrap import apply_settings_config
        from hub.provisioning import ensure_default_tenant
        from hub.runtime.uow import UnitOfWorkFactory

        engine = store_db.make_engine(url)
        try:
            factory = UnitOfWorkFactory(engine)
            ensure_default_tenant(factory)
            version = apply_settings_config(factory, s.model_copy(update={"tenant": "default"}))
        finally:
            engine.dispose()
        typer.echo(f"default tenant ready, workflow configuration v{version}")
    typer.echo(f"database at revision {store_db.current_revision(url)}")


@app.command()
def current() -> None:
    """Print the database's revision and the newest one this hub knows."""
    url = settings().effective_database_url
    typer.echo(f"current: {store_db.current_revision(url)}  head: {store_db.head_revision()}")
