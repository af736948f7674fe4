"""CloudEvents binary content mode: message headers + body -> the structured event.

The protocol bindings put the attributes in headers and ``data`` in the body:

- AMQP: application properties ``cloudEvents_<attr>`` or ``cloudEvents:<attr>`` (carried as
  AMQP 0-9-1 headers on RabbitMQ); the RabbitMQ binding's ``ce-<attr>`` headers too;
- Kafka: headers ``ce_<attr>``.

``datacontenttype`` is the message's content type (AMQP ``content-type`` property, Kafka
``content-type`` header) or an explicit attribute header; the hub's events carry JSON, so it
defaults to ``application/json``. A message without a ``specversion`` header is structured mode
and is left as it is. Pure: nothing here touches a broker.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from schemas.bounds import DEFAULT_LIMITS, Limits, load_json
from schemas.envelope import CONTENT_TYPE
from schemas.errors import InvalidMessage

PREFIXES = ("cloudEvents_", "cloudEvents:", "ce_", "ce-")
JSON_TYPES = ("application/json", "text/json")
MAX_HEADER_CHARS = 4096


def attributes(headers: Mapping[str, Any]) -> dict[str, Any] | None:
    """The CloudEvents attributes in ``headers`` (prefix removed), or ``None`` when the
    message is not in binary mode (no ``specversion`` header)."""
    found: dict[str, Any] = {}
    for name, value in headers.items():
        for prefix in PREFIXES:
            if name.startswith(prefix) and len(name) > len(prefix):
                found[name[len(prefix) :].lower()] = value
                break
    return found if "specversion" in found else None


def is_binary(headers: Mapping[str, Any]) -> bool:
    return attributes(headers) is not None


def structured(
    body: bytes,
    headers: Mapping[str, Any],
    content_type: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> bytes | dict[str, Any]:
    """The event as ``schemas.decode`` takes it: ``body`` itself in structured mode, else the
    object built from the headers with the body as ``data`` (read within ``limits``). Raises
    ``InvalidMessage`` for a binary message whose attributes or body cannot be read (what is
    wrong, in one line)."""
    attrs = attributes(headers)
    if attrs is None:
        return body
    event: dict[str, Any] = {}
    for name, value in attrs.items():
        text = _text(name, value)
        if len(text) > MAX_HEADER_CHARS:
            raise InvalidMessage(f"binary mode: attribute {name!r} is over {MAX_HEADER_CHARS} chars")
        event[name] = text
    declared = event.get("datacontenttype") or content_type
    if not declared or declared.split(";", 1)[0].strip() == CONTENT_TYPE:
        declared = "application/json"  # a retried copy is republished with the event's own type
    media = declared.split(";", 1)[0].strip().lower()
    if media not in JSON_TYPES and not media.endswith("+json"):
        raise InvalidMessage(f"binary mode: datacontenttype {declared!r} is not JSON")
    event["datacontenttype"] = "application/json"
    try:
        event["data"] = load_json(body, limits) if body else None
    except InvalidMessage as e:
        raise InvalidMessage([f"binary mode: {p}" for p in e.problems]) from None
    return event


def _text(name: str, value: Any) -> str:
    """An attribute's canonical string: bytes decoded, AMQP timestamps (``datetime`` or
    milliseconds since the epoch, for ``time``) in RFC 3339."""
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidMessage(f"binary mode: attribute {name!r} is not UTF-8") from None
    if isinstance(value, datetime):
        when = value if value.tzinfo else value.replace(tzinfo=UTC)
        return when.isoformat().replace("+00:00", "Z")
    if name == "time" and isinstance(value, int) and not isinstance(value, bool):
        try:
            when = datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidMessage(f"binary mode: time {value!r} is out of range") from None
        return when.isoformat().replace("+00:00", "Z")
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    raise InvalidMessage(f"binary mode: attribute {name!r} is a {type(value).__name__}")
