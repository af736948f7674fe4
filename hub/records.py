"""Lines of a JSON-lines import (reference data, users): each line is a CloudEvent of the
contract or the bare record of its ``data``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from schemas import decode
from schemas.errors import InvalidMessage


def read_line(line: str) -> tuple[str | None, Any]:
    """``(event type, data)`` of a CloudEvent line, ``(None, record)`` of a bare record;
    raises ``ValueError`` saying what is wrong with the line."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    if "specversion" not in obj:
        return None, obj
    try:
        event = decode(obj)
    except InvalidMessage as e:
        raise ValueError(str(e)) from None
    return event.type, event.data


def read_record(line: str, kinds: Mapping[str, str]) -> tuple[str, Any]:
    """``(event type, data)`` of a CloudEvent line, or of a bare record whose ``kind`` names
    the event type (``kinds``: kind -> event type); raises ``ValueError`` saying what is wrong."""
    event_type, obj = read_line(line)
    if event_type is not None:
        return event_type, obj
    kind = obj.pop("kind", None)
    if kind not in kinds:
        raise ValueError(f"kind must be one of {', '.join(kinds)}, not {kind!r}")
    return kinds[kind], obj


def first_problem(error: ValidationError, whole: str) -> str:
    """``where: what`` of the first problem pydantic found (``whole``: the record itself)."""
    first = error.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"]) or whole
    return f"{where}: {first['msg']}"
