"""Read a workflow configuration from a YAML file or a folder of YAML files.

In a folder, every ``*.yaml`` / ``*.yml`` file (sorted by name) holds some sections; the
sections are merged, and the same id defined in two files is a problem. YAML numbers with a
fraction are read as ``Decimal`` (money is never a float).

Bounded: a file (and a folder, all its files together) is at most ``MAX_BYTES``; YAML anchors
and aliases may be used, but the document they expand to is at most ``MAX_NODES`` nodes and
``MAX_DEPTH`` levels deep, and an alias may not refer to its own anchor. A file beyond any bound
("billion laughs") is refused before it is built, in a time proportional to its size.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from hub.errors import ConfigurationError
from hub.workflow.config import WorkflowConfig, parse

DEMO_CONFIG = Path(__file__).resolve().parents[1] / "demo" / "workflow.yaml"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML with decimal fractions (libyaml's parser where PyYAML was built with it)."""


def _decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    return Decimal(str(loader.construct_scalar(node)).replace("_", ""))  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:float", _decimal)

#: A configuration file (or a folder's files together) is at most 5 MB.
MAX_BYTES = 5 * 1024 * 1024
#: Nodes (scalars, lists and mappings) of a file once its aliases are expanded.
MAX_NODES = 200_000
#: Lists and mappings nested deeper than this are refused.
MAX_DEPTH = 64


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand beyond ``MAX_NODES`` nodes or ``MAX_DEPTH``
    levels, or loop back to their own anchor. Each node is measured once (an alias is the very
    node its anchor names), so this takes time proportional to the file, not to its expansion."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()  # nodes whose size is being measured: the current path
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            open_.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _children(node))
            if sizes[key] > MAX_NODES:
                raise ConfigurationError(
                    f"expands to more than {MAX_NODES} values (YAML aliases repeated within "
                    "each other?)"
                )
            continue
        if key in sizes:
            continue
        if depth > MAX_DEPTH:
            raise ConfigurationError(f"nested deeper than {MAX_DEPTH} levels")
        open_.add(key)
        stack.append((node, depth, True))
        for child in _children(node):
            if id(child) in open_:
                raise ConfigurationError("a YAML alias refers to its own anchor (a loop)")
            if id(child) not in sizes:
                stack.append((child, depth + 1, False))


def _load_yaml(text: str) -> Any:
    """The content of one YAML document, within the bounds; raises ``ConfigurationError`` or
    ``yaml.YAMLError``."""
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise ConfigurationError(f"nested deeper than {MAX_DEPTH} levels") from None
        if node is None:
            return None
        _check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()  # type: ignore[no-untyped-call]


def _read_text(file: Path, budget: int) -> str:
    """The text of ``file``, refused (``ConfigurationError``) beyond ``budget`` bytes."""
    size = file.stat().st_size
    if size > budget:
        raise ConfigurationError(
            f"{size} bytes, more than a configuration may have ({MAX_BYTES} bytes)"
        )
    return file.read_text(encoding="utf-8")


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
    budget = MAX_BYTES
    for file in files:
        try:
            text = _read_text(file, budget)
            budget -= len(text.encode("utf-8"))
            content = _load_yaml(text)
        except ConfigurationError as e:
            problems.append(f"{file.name}: {e}")
            continue
        except UnicodeDecodeError as e:
            problems.append(f"{file.name}: not UTF-8 text ({e.reason} at byte {e.start})")
            continue
        except OSError as e:
            problems.append(f"{file.name}: cannot be read ({e.strerror})")
            continue
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


def load(
    path: Path | str,
    users: Collection[str] = (),
    companies: Mapping[str, Collection[str]] | None = None,
) -> WorkflowConfig:
    """Read and check the configuration at ``path``; raises ``ConfigurationError`` with every
    problem found. ``users`` and ``companies``: the tenant's, which it may name (see
    ``parse``)."""
    return parse(read_raw(Path(path)), users, companies)


def load_demo() -> WorkflowConfig:
    """The demo configuration shipped with the hub (``hub/demo/workflow.yaml``)."""
    return load(DEMO_CONFIG)
