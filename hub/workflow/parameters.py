"""A ticket's parameters checked against its type: declared, typed, required, one of the options.

Values are normalised to JSON: decimals and dates become strings, so the store and the events
carry them unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from hub.workflow.config import Parameter, TicketType
from hub.workflow.errors import InvalidParameters


class OptionSources(Protocol):
    """Resolves a named option source (e.g. ``student.disciplines``) for one ticket."""

    def options(self, source: str, context: Mapping[str, Any]) -> Sequence[str] | None:
        """The allowed values, or ``None`` when the source has nothing for this context (then
        any value is refused). ``context`` holds the ticket's ``customer_id``, ``company``,
        ``branch`` and ``parameters``."""
        ...


def _normalise(name: str, param: Parameter, value: Any) -> Any:
    kind = param.type
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("expected an integer")
        return int(value)
    if kind == "decimal":
        if isinstance(value, bool | float):
            raise ValueError('expected a decimal string such as "12.50"')
        try:
            parsed = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("expected a decimal number") from None
        if not parsed.is_finite():
            raise ValueError("expected a finite decimal number")
        return format(parsed, "f")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false", "yes", "no"}:
            return value.lower() in {"true", "yes"}
        raise ValueError("expected true or false")
    if kind == "date":
        return (value if isinstance(value, date) else date.fromisoformat(str(value))).isoformat()
    if kind == "json":
        return value
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValueError("expected text")
    return str(value)


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_values(
    ticket_type: TicketType,
    values: Mapping[str, Any],
    context: Mapping[str, Any],
    sources: OptionSources | None,
) -> dict[str, Any]:
    """``values`` normalised; raises ``InvalidParameters`` listing every bad one.

    Only declared parameters are accepted. A named options source is checked when ``sources``
    is given.
    """
    problems: list[str] = []
    out: dict[str, Any] = {}
    for name, value in values.items():
        param = ticket_type.parameters.get(name)
        if param is None:
            problems.append(f"parameters.{name}: not a parameter of this ticket type")
            continue
        if is_blank(value):
            out[name] = None
            continue
        try:
            out[name] = _normalise(name, param, value)
        except ValueError as e:
            problems.append(f"parameters.{name}: {e}")
            continue
        allowed: Sequence[str] | None = param.options
        if param.options_source is not None and sources is not None:
            allowed = sources.options(param.options_source, context) or []
        if allowed is not None and str(out[name]) not in allowed:
            problems.append(f"parameters.{name}: {value!r} is not one of the allowed options")
    if problems:
        raise InvalidParameters("; ".join(problems))
    return out


def check_required(ticket_type: TicketType, values: Mapping[str, Any]) -> None:
    """Raise ``InvalidParameters`` naming every required parameter left blank."""
    missing = [
        name
        for name, param in ticket_type.parameters.items()
        if param.required and is_blank(values.get(name))
    ]
    if missing:
        raise InvalidParameters(f"required parameters missing: {', '.join(missing)}")
