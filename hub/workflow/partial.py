"""Every problem of a configuration in one pass: what does not validate is set aside, the rest is
checked for meaning, and the problems that only follow from what was set aside are left out.

``prune(raw)`` validates ``raw`` against ``WorkflowConfig`` and, until it validates, removes
what each error points at: an unknown key, or a field with a bad value (its default applies);
else the smallest named entry (``attendants[ana]``, ``ticket_types[T].stages[S]``) or list item
(``flows[2]``) holding the error; else the whole section. ``Pruned.relevant`` then drops the
semantic problems that are consequences of a removal (a reference to a removed entry such as
"unknown stage 'x'", a rule about the collection an entry left such as "stages: no stage
concludes") and gives list positions as they are in the file.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from hub.workflow.checks import NAMED, render_path
from hub.workflow.config import WorkflowConfig

#: The word the semantic checks use for a reference into each top-level section.
KINDS = {
    "companies": "company",
    "services": "service",
    "service_groups": "service group",
    "classifications": "classification",
    "attendants": "attendant",
    "locations": "location",
    "delivery_locations": "delivery location",
    "ticket_types": "ticket type",
    "agreement_templates": "agreement template",
    "forms": "form",
    "scripts": "script item",
}
_ROUNDS = 200
_UNKNOWN = re.compile(r"unknown [a-z ]+ '([^']*)'")

Loc = tuple[Any, ...]


@dataclass
class Pruned:
    """What ``prune`` set aside: the structural problems and what was removed."""

    problems: list[str] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)  # rendered paths, as in the file
    sections: set[str] = field(default_factory=set)  # top-level sections removed whole
    renumbered: dict[str, list[int]] = field(default_factory=dict)  # list path -> positions

    def relevant(self, problems: list[str]) -> list[str]:
        """``problems`` (found on what remains) without the consequences of the removals, with
        list positions as they are in the file."""
        removed_ids = {p.rsplit("[", 1)[1][:-1] for p in self.removed if p.endswith("]")}
        parents = {_parent(p) for p in self.removed}
        # a field removed takes its default: what its entry's collection concludes follows too
        parents |= {_parent(_parent(p)) for p in self.removed if not p.endswith("]")}
        out = []
        for problem in (self._renumber(p) for p in problems):
            path = problem.split(": ", 1)[0]
            ref = _UNKNOWN.search(problem)
            if ref and ref.group(1) in removed_ids:
                continue
            if any(f"unknown {KINDS.get(s, s)} " in problem for s in self.sections):
                continue
            if path in parents or any(path == r or path.startswith(r + ".") for r in self.removed):
                continue
            out.append(problem)
        return out

    def _renumber(self, problem: str) -> str:
        for list_path, positions in self.renumbered.items():

            def in_file(m: re.Match[str], p: list[int] = positions, lp: str = list_path) -> str:
                i = int(m.group(1))
                return f"{lp}[{p[i] if i < len(p) else i}]"

            problem = re.sub(re.escape(list_path) + r"\[(\d+)\]", in_file, problem)
        return problem


def _parent(path: str) -> str:
    """The collection (or entry) a rendered path sits in."""
    cut = max(path.rfind("["), path.rfind("."))
    return path[:cut] if cut > 0 else path


@dataclass
class _Removal:
    container: Any
    key: Any
    loc: Loc  # of the removed thing, in the current data
    section: bool = False


def prune(raw: Mapping[str, Any]) -> tuple[WorkflowConfig, Pruned]:
    """Validate ``raw``, setting aside what does not validate. Returns the configuration that
    remains and what was set aside (``raw`` itself is not changed)."""
    data: dict[str, Any] = copy.deepcopy(dict(raw))
    pruned = Pruned()
    positions: dict[int, list[int]] = {}  # id(list) -> file position of each remaining item
    for _ in range(_ROUNDS):
        try:
            return WorkflowConfig.model_validate(data), pruned
        except ValidationError as e:
            errors = e.errors(include_url=False)
        removals: dict[tuple[int, Any], _Removal] = {}
        for err in errors:
            loc = tuple(err["loc"])
            message = f"{render_path(_in_file(data, loc, positions))}: {err['msg']}"
            if message not in pruned.problems:
                pruned.problems.append(message)
            removal = _removal_for(data, loc)
            removals.setdefault((id(removal.container), removal.key), removal)
        # dictionary keys first, then list items from the highest position down, so that the
        # positions of the other removals stay right
        ordered = sorted(
            removals.values(),
            key=lambda r: (isinstance(r.container, list), r.key if isinstance(r.key, int) else 0),
        )
        lists = [r for r in ordered if isinstance(r.container, list)]
        for r in [r for r in ordered if not isinstance(r.container, list)] + lists[::-1]:
            _apply(r, data, pruned, positions)
    raise AssertionError("the configuration could not be pruned to a valid one")


def _steps(data: Any, loc: Loc) -> tuple[list[tuple[Any, Any, Loc]], bool]:
    """The (container, key, location) of each part of ``loc`` present in ``data``, and whether
    the last part is one of them. A discriminator tag that pydantic adds to a location
    (``require_reason``) is skipped."""
    out: list[tuple[Any, Any, Loc]] = []
    node, matched = data, False
    here: Loc = ()
    for part in loc:
        matched = False
        if isinstance(node, dict) and isinstance(part, str) and part not in node:
            # pydantic names a key that is not a string (YAML's ``? `` is None) by its str()
            part = next((k for k in node if not isinstance(k, str) and str(k) == part), part)
        if (
            isinstance(node, dict)
            and part in node
            or isinstance(node, list)
            and isinstance(part, int)
            and 0 <= part < len(node)
        ):
            matched = True
        elif isinstance(node, dict) and isinstance(part, str) and part != "[key]":
            here = (*here, part)  # a tag, or a key that is missing (nothing follows it then)
            continue
        else:
            break
        here = (*here, part)
        out.append((node, part, here))
        node = node[part]
    return out, matched


def _removal_for(data: dict[str, Any], loc: Loc) -> _Removal:
    steps, whole = _steps(data, loc)  # whole: the error is about this very value
    if not steps:
        return _Removal(data, loc[0] if loc else None, loc[:1], section=True)
    container, key, here = steps[-1]
    under = steps[-2][1] if len(steps) > 1 else None  # the key the container sits under
    if whole and len(steps) > 1 and under not in NAMED and isinstance(key, str):
        return _Removal(container, key, here)  # a bad value or an unknown key: drop it
    for i in range(len(steps) - 1, 0, -1):  # the smallest entry or item holding the error
        container, key, here = steps[i]
        if isinstance(container, list) or steps[i - 1][1] in NAMED:
            return _Removal(container, key, here)
    container, key, here = steps[0]
    return _Removal(container, key, here, section=True)


def _apply(r: _Removal, data: Any, pruned: Pruned, positions: dict[int, list[int]]) -> None:
    path = render_path(_in_file(data, r.loc, positions))
    if isinstance(r.container, list):
        if not (isinstance(r.key, int) and 0 <= r.key < len(r.container)):
            return
        kept = positions.setdefault(id(r.container), list(range(len(r.container))))
        list_path = render_path(_in_file(data, r.loc[:-1], positions))
        del r.container[r.key]
        del kept[r.key]
        pruned.renumbered[list_path] = kept
    elif isinstance(r.container, dict) and r.key in r.container:
        del r.container[r.key]
    else:
        return
    if r.section:
        pruned.sections.add(str(r.key))
    pruned.removed.add(path)


def _in_file(data: Any, loc: Loc, positions: dict[int, list[int]]) -> Loc:
    """``loc`` with each list index as the item's position in the file."""
    out: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, list) and isinstance(part, int):
            kept = positions.get(id(node))
            out.append(kept[part] if kept and 0 <= part < len(kept) else part)
            node = node[part] if 0 <= part < len(node) else None
        else:
            out.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return tuple(out)
