"""The Kafka adapter's modules import one way: no circle, not even through imports in functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hub.runtime.transports.kafka as package

PACKAGE = package.__name__
ROOT = Path(package.__file__).parent


def imported(source: str, module: str) -> set[str]:
    """The modules of the package that ``source`` (the text of ``module``) imports, anywhere in
    it: at the top, inside functions, under ``TYPE_CHECKING``."""
    known = modules()

    def within(name: str) -> str | None:  # the package's module that ``name`` is or is in
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    found: set[str | None] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {within(alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # every module of the package is in the package itself
                here = PACKAGE.split(".")[: len(PACKAGE.split(".")) - node.level + 1]
                base = ".".join([*here, *([node.module] if node.module else [])])
            for alias in node.names:  # ``from package import module`` or ``import Name``
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else within(base))
    return {name for name in found if name is not None and name != module}


def modules() -> set[str]:
    return {PACKAGE} | {f"{PACKAGE}.{p.stem}" for p in ROOT.glob("*.py") if p.stem != "__init__"}


def graph(sources: dict[str, str]) -> dict[str, set[str]]:
    return {module: imported(text, module) for module, text in sources.items()}


def package_sources() -> dict[str, str]:
    return {
        (PACKAGE if p.stem == "__init__" else f"{PACKAGE}.{p.stem}"): p.read_text()
        for p in sorted(ROOT.glob("*.py"))
    }


def circle(edges: dict[str, set[str]]) -> list[str] | None:
    """One circle of ``edges`` (module -> the modules it imports), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_the_package_imports_form_no_circle() -> None:
    edges = graph(package_sources())
    assert edges[PACKAGE] == {f"{PACKAGE}.adapter"}
    assert circle(edges) is None, " -> ".join(circle(edges) or [])


def test_the_consumer_groups_and_the_view_do_not_import_the_adapter() -> None:
    edges = graph(package_sources())
    for module in ("options", "topology", "producer", "view", "groups"):
        assert f"{PACKAGE}.adapter" not in edges[f"{PACKAGE}.{module}"], module
        assert PACKAGE not in edges[f"{PACKAGE}.{module}"], module


@pytest.mark.parametrize(
    "where",
    [
        "from hub.runtime.transports.kafka.adapter import KafkaTransport\n",
        "def later():\n    from hub.runtime.transports.kafka.adapter import KafkaTransport\n",
        "def later():\n    from hub.runtime.transports.kafka import KafkaTransport\n",
        "def later():\n    from .adapter import KafkaTransport\n",
        "import hub.runtime.transports.kafka.adapter\n",
    ],
)
def test_a_circle_is_found_wherever_the_import_back_is_written(where: str) -> None:
    sources = package_sources()
    sources[f"{PACKAGE}.topology"] += "\n" + where
    found = circle(graph(sources))
    assert found is not None
    assert f"{PACKAGE}.topology" in found and f"{PACKAGE}.adapter" in found
