"""Write the JSON Schema files of ``schemas/json`` and the AsyncAPI document
``schemas/asyncapi.json`` from the models: ``python -m schemas.generate``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from schemas.registry import json_schemas

JSON_DIR = Path(__file__).parent / "json"
ASYNCAPI_FILE = Path(__file__).parent / "asyncapi.json"


def render(schema: dict[str, object]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(directory: Path = JSON_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    wanted = json_schemas()
    for stale in directory.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    for name, schema in wanted.items():
        path = directory / name
        path.write_text(render(schema))
        written.append(path)
    return written


def write_asyncapi(path: Path = ASYNCAPI_FILE) -> Path:
    from schemas.asyncapi import document

    path.write_text(render(document()))
    return path


if __name__ == "__main__":
    for p in write(Path(sys.argv[1]) if len(sys.argv) > 1 else JSON_DIR):
        print(p)
    if len(sys.argv) <= 1:
        print(write_asyncapi())
