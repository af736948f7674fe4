"""Size bounds at the edge: how large an event may be, how deep its JSON may nest and how long
its integers may be. Every bound broken is an ``InvalidMessage`` saying which, at once: nothing
unbounded reaches a model, a store or a log.

``load_json`` is the one JSON reader of untrusted input (events, configuration values read as
JSON); ``Limits`` carries the bounds, ``DEFAULT_LIMITS`` the contract's.
"""

from __future__ import annotations

import functools
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
    if isinstance(body, str):
        if len(body) * 4 <= limits.max_bytes:  # at most 4 bytes a character: small enough
            return
        body = body.encode("utf-8", "surrogatepass")
    if len(body) > limits.max_bytes:
        raise MessageTooLarge(len(body), limits.max_bytes, hashlib.sha256(body).hexdigest())


def _refuse_constant(name: str) -> Any:
    raise InvalidMessage(f"{name} is not JSON")


@functools.cache
def _decoder(max_int_digits: int) -> json.JSONDecoder:
    """A JSON decoder refusing ``NaN``/``Infinity`` and integers longer than the bound (one per
    bound: building a decoder per call would cost more than the parse)."""

    def integer(literal: str) -> int:
        digits = len(literal) - (literal[0] == "-")
        if digits > max_int_digits:
            raise InvalidMessage(f"an integer of {digits} digits, more than {max_int_digits}")
        return int(literal)

    return json.JSONDecoder(parse_int=integer, parse_constant=_refuse_constant)


def load_json(body: bytes | str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Parse untrusted JSON within ``limits``; raise ``InvalidMessage`` saying what is wrong
    (too large, not UTF-8, not JSON, ``NaN``/``Infinity``, too deep, an integer too long).
    The tree is walked for its depth only when the text has more brackets than the depth
    allowed, so the common case costs the parse alone."""
    check_size(body, limits)
    try:
        text = body.decode("utf-8") if isinstance(body, bytes | bytearray) else body
    except UnicodeDecodeError as e:
        raise InvalidMessage(f"body is not UTF-8 text: {e}") from None
    try:
        value = _decoder(limits.max_int_digits).decode(text)
    except json.JSONDecodeError as e:
        raise InvalidMessage(f"body is not JSON: {e}") from None
    except RecursionError:
        raise InvalidMessage(f"nested deeper than {limits.max_depth} levels") from None
    if text.count("[") + text.count("{") > limits.max_depth:
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
