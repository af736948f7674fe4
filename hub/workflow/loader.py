"""Read a workflow configuration from a YAML file or a folder of YAML files.

In a folder, every ``*.yaml`` / ``*.yml`` file (sorted by name) holds some sections; the
sections are merged, and the same id defined in two files is a problem. YAML numbers with a
fraction are read as ``Decimal`` (money is never a float).
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from hub.errors import ConfigurationError
from hub.workflow.config import WorkflowConfig, parse

DEMO_CONFIG = Path(__file__).resolve().parents[1] / "demo" / "workflow.yaml"


class _Loader(yaml.SafeLoader):
    """Safe YAML with decimal fractions."""


def _decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    return Decimal(str(loader.construct_scalar(node)).replace("_", ""))  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:float", _decimal)


def read_raw(path: Path) -> dict[str, Any]:
    """The merged YAML content of ``path`` (a file or a folder); raises ``ConfigurationError``."""
    if path.is_dir():
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        if not files:
            raise ConfigurationError(f"{path}: no *.yaml files in this folder")
    elif path.is_file():
        files = [path]
    else:
        raise ConfigurationError(f"{path}: no such file or folder")
    merged: dict[str, Any] = {}
    origin: dict[tuple[str, str], Path] = {}
    problems: list[str] = []
    for file in files:
        try:
            content = yaml.load(file.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506
        except yaml.YAMLError as e:
            problems.append(f"{file.name}: not valid YAML: {' '.join(str(e).split())}")
            continue
        if content is None:
            continue
        if not isinstance(content, dict):
            problems.append(f"{file.name}: expected a mapping of sections")
            continue
        for section, body in content.items():
            if not isinstance(body, dict) or not isinstance(merged.get(section, {}), dict):
                if section in merged:
                    problems.append(f"{file.name}: {section} defined again")
                merged[section] = body
                continue
            target = merged.setdefault(section, {})
            for key, value in body.items():
                if (section, key) in origin:
                    first = origin[(section, key)].name
                    problems.append(f"{file.name}: {section}[{key}] already defined in {first}")
                    continue
                origin[(section, str(key))] = file
                target[key] = value
    if problems:
        raise ConfigurationError(problems)
    return merged


def load(path: Path | str, users: Collection[str] = ()) -> WorkflowConfig:
    """Read and check the configuration at ``path``; raises ``ConfigurationError`` with every
    problem found. ``users``: the tenant's users, whom it may name (see ``parse``)."""
    return parse(read_raw(Path(path)), users)


def load_demo() -> WorkflowConfig:
    """The demo configuration shipped with the hub (``hub/demo/workflow.yaml``)."""
    return load(DEMO_CONFIG)
