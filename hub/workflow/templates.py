"""Stage-action templates: ``${ticket.parameters.agreement_id}`` style placeholders, never eval.

A string that is exactly one placeholder is replaced by the value itself (keeping its JSON type:
a number stays a number); a placeholder inside a longer string is replaced by its text. Dicts and
lists are rendered element by element. Available roots: ``ticket`` (``id``, ``type``, ``stage``,
``status``, ``parameters.*``, ``origin_type``, ``origin_id``, ``group``, ``classification``,
``customer_id``, ``company``, ``branch``, ``holder_kind``, ``holder_id``) and ``move`` (``by``, ``at``, ``reason``, ``from``,
``to``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from hub.workflow.errors import WorkflowError

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\}")

TICKET_FIELDS = frozenset(
    {
        "id",
        "type",
        "stage",
        "status",
        "parameters",
        "origin_type",
        "origin_id",
        "group",
        "classification",
        "customer_id",
        "company",
        "branch",
        "holder_kind",
        "holder_id",
    }
)
MOVE_FIELDS = frozenset({"by", "at", "reason", "from", "to"})


class TemplateError(WorkflowError):
    """A placeholder names a value the ticket or the move does not have."""


def placeholders(template: Any) -> Iterator[str]:
    """Every placeholder path in ``template`` (strings inside dicts and lists included)."""
    if isinstance(template, str):
        yield from PLACEHOLDER.findall(template)
    elif isinstance(template, Mapping):
        for value in template.values():
            yield from placeholders(value)
    elif isinstance(template, list):
        for value in template:
            yield from placeholders(value)


def path_problem(path: str, parameters: Mapping[str, Any] | None = None) -> str | None:
    """Why ``path`` cannot be resolved by any ticket (``None`` when it can)."""
    root, _, rest = path.partition(".")
    head, _, tail = rest.partition(".")
    if root == "ticket":
        if head not in TICKET_FIELDS:
            return (
                f"unknown placeholder '${{{path}}}' (ticket has {', '.join(sorted(TICKET_FIELDS))})"
            )
        if head == "parameters":
            if not tail:
                return f"placeholder '${{{path}}}' must name a parameter"
            if parameters is not None and tail.split(".")[0] not in parameters:
                return f"placeholder '${{{path}}}' names an undeclared parameter"
        elif tail:
            return f"unknown placeholder '${{{path}}}'"
        return None
    if root == "move":
        if head not in MOVE_FIELDS or tail:
            return f"unknown placeholder '${{{path}}}' (move has {', '.join(sorted(MOVE_FIELDS))})"
        return None
    return f"unknown placeholder '${{{path}}}' (use ticket.* or move.*)"


def _lookup(path: str, context: Mapping[str, Any]) -> Any:
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise TemplateError(f"template value '${{{path}}}' is not available")
        value = value[part]
    return value


def render(template: Any, context: Mapping[str, Any]) -> Any:
    """``template`` with every placeholder replaced from ``context``; raises ``TemplateError``."""
    if isinstance(template, str):
        whole = PLACEHOLDER.fullmatch(template)
        if whole:
            return _lookup(whole.group(1), context)
        return PLACEHOLDER.sub(lambda m: _text(_lookup(m.group(1), context)), template)
    if isinstance(template, Mapping):
        return {k: render(v, context) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, context) for v in template]
    return template


def _text(value: Any) -> str:
    return "" if value is None else str(value)
