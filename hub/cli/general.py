"""Top-level verbs: ``hub version``."""

from __future__ import annotations

import typer

from hub import __version__


def register(app: typer.Typer) -> None:
    @app.command()
    def version() -> None:
        """Print the hub's version."""
        typer.echo(__version__)
