"""``hub db``: the store's schema."""

from __future__ import annotations

import typer

from hub.cli.common import settings
from hub.store import db as store_db

app = typer.Typer(help="Manage the store's schema (Alembic migrations).", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Create or migrate the database named by HUB_DATABASE_URL (default: the SQLite file)."""
    url = settings().effective_database_url
    store_db.upgrade(url, revision)
    typer.echo(f"database at revision {store_db.current_revision(url)}")


@app.command()
def current() -> None:
    """Print the database's revision and the newest one this hub knows."""
    url = settings().effective_database_url
    typer.echo(f"current: {store_db.current_revision(url)}  head: {store_db.head_revision()}")
