"""The edge: bytes in, a validated event out, or one ``InvalidMessage`` saying what is wrong."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from schemas.bounds import DEFAULT_LIMITS, Limits, check_depth, load_json
from schemas.envelope import CloudEvent
from schemas.errors import InvalidMessage
from schemas.registry import model_for


def _problems(error: ValidationError) -> list[str]:
    out = []
    for e in error.errors(include_url=False):
        where = ".".join(str(p) for p in e["loc"]) or "(event)"
        out.append(f"{where}: {e['msg']}")
    return out


def decode(body: bytes | str | dict[str, Any], limits: Limits = DEFAULT_LIMITS) -> CloudEvent:
    """Turn a structured-mode CloudEvent into its typed model.

    Accepts the raw body (bytes or str) or an already parsed JSON object. Raises
    ``InvalidMessage`` for anything that is not JSON, not a CloudEvents 1.0 event in structured
    mode, or whose ``data`` breaks the schema of its type, and for a body beyond ``limits``
    (``MessageTooLarge`` when it is too large; too deep, an integer too long). Types outside
    the contract are checked against the envelope only.
    """
    if isinstance(body, dict):
        obj: Any = body
        check_depth(obj, limits)
    else:
        obj = load_json(body, limits)
    if not isinstance(obj, dict):
        raise InvalidMessage(f"body is JSON {type(obj).__name__}, not a CloudEvent object")
    if "specversion" not in obj:
        raise InvalidMessage("not a CloudEvent: 'specversion' is missing")
    event_type = obj.get("type")
    model = model_for(event_type) if isinstance(event_type, str) else CloudEvent
    try:
        return model.model_validate(obj)
    except ValidationError as e:
        raise InvalidMessage(_problems(e)) from None
