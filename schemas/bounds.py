"""Size bounds at the edge: how large an event may be, how deep its JSON may nest and how long
its integers may be. Every bound broken is an ``InvalidMessage`` saying which, at once: nothing
unbounded reaches a model, a store or a log.

``load_json`` is the one JSON reader of untrusted input (events, configuration values read as
JSON); ``Limits`` carries the bounds, ``DEFAULT_LIMITS`` the contract's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from schemas.errors import InvalidMessage

#: An event is at most 1 MiB (the contract's default; the hub makes it a setting).
MAX_EVENT_BYTES = 1 << 20
#: Objects and arrays nested deeper than this are refused.
MAX_DEPTH = 32
#: Integers with more digits than this are refused (a money amount is a decimal string).
MAX_INT_DIGITS = 30
#: The idempotency key, explicit or derived, is at most this many characters.
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Limits:
    """The bounds one reader applies."""

    max_bytes: int = MAX_EVENT_BYTES
    max_depth: int = MAX_DEPTH
    max_int_digits: int = MAX_INT_DIGITS

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.max_depth < 1 or self.max_int_digits < 1:
            raise ValueError("limits must be positive")


DEFAULT_LIMITS = Limits()


class MessageTooLarge(InvalidMessage):
    """The message is larger than the limit. Carries its ``size`` (bytes), the ``limit`` and
    the ``sha256`` of the whole message, so that what is kept of it can be told apart."""

    def __init__(self, size: int, limit: int, sha256: str) -> None:
        self.size, self.limit, self.sha256 = size, limit, sha256
        super().__init__(
            f"the event is {size} bytes, more than the limit of {limit} bytes (sha256 {sha256})"
        )


def check_size(body: bytes | str, limits: Limits = DEFAULT_LIMITS) -> None:
    """Raise ``MessageTooLarge`` when ``body`` is over ``limits.max_bytes``."""
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)
    if len(raw) > limits.max_bytes:
        raise MessageTooLarge(len(raw), limits.max_bytes, hashlib.sha256(raw).hexdigest())


def load_json(body: bytes | str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Parse untrusted JSON within ``limits``; raise ``InvalidMessage`` saying what is wrong
    (too large, not UTF-8, not JSON, ``NaN``/``Infinity``, too deep, an integer too long)."""
    check_size(body, limits)
    try:
        text = body.decode("utf-8") if isinstance(body, bytes | bytearray) else body
    except UnicodeDecodeError as e:
        raise InvalidMessage(f"body is not UTF-8 text: {e}") from None
    digits = limits.max_int_digits

    def integer(literal: str) -> int:
        if len(literal.lstrip("-")) > digits:
            raise InvalidMessage(
                f"an integer of {len(literal.lstrip('-'))} digits, more than {digits}"
            )
        return int(literal)

    def constant(name: str) -> Any:
        raise InvalidMessage(f"{name} is not JSON")

    try:
        value = json.loads(text, parse_int=integer, parse_constant=constant)
    except json.JSONDecodeError as e:
        raise InvalidMessage(f"body is not JSON: {e}") from None
    except RecursionError:
        raise InvalidMessage(f"nested deeper than {limits.max_depth} levels") from None
    check_depth(value, limits)
    return value


def check_depth(value: Any, limits: Limits = DEFAULT_LIMITS) -> None:
    """Raise ``InvalidMessage`` when objects and arrays in ``value`` nest deeper than
    ``limits.max_depth`` (iterative: any depth is measured without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if depth > limits.max_depth:
            raise InvalidMessage(f"nested deeper than {limits.max_depth} levels")
        stack.extend((child, depth + 1) for child in children)
