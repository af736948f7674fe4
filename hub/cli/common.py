"""Helpers shared by the CLI verbs: settings, one-line errors, JSON output."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

from rich.console import Console

from hub.settings import Settings, load_settings

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def fail(message: str, problems: list[str] | None = None, code: int = 2) -> NoReturn:
    """Print ``error: message`` (and one line per problem when there are several) and exit."""
    if problems and len(problems) > 1:
        err_console.print(f"error: {len(problems)} problems", markup=False, highlight=False)
        for p in problems:
            err_console.print(f"  - {p}", markup=False, highlight=False)
    else:
        err_console.print(f"error: {message}", markup=False, highlight=False)
    sys.exit(code)


def settings() -> Settings:
    return load_settings()


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str, ensure_ascii=False) + "\n")
