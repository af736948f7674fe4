"""What the dead-letter store keeps of a message too large to accept: its first bytes, with
the length and the SHA-256 of the whole, in its headers. Such a dead letter cannot be replayed
(the rest of the message is gone); its producer must send it again within the limit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.bounds import MessageTooLarge

TRUNCATED = "x-hub-truncated"
ORIGINAL_BYTES = "x-hub-original-bytes"
ORIGINAL_SHA256 = "x-hub-original-sha256"
#: How much of a message too large to accept is kept.
KEPT_BYTES = 64 * 1024


def stored_body(body: bytes, error: BaseException) -> tuple[bytes, dict[str, Any]]:
    """The bytes to keep of ``body`` dead-lettered for ``error`` and the headers saying how
    they differ from the message (none when it is kept whole)."""
    if not isinstance(error, MessageTooLarge):
        return body, {}
    return body[:KEPT_BYTES], {
        TRUNCATED: True,
        ORIGINAL_BYTES: error.size,
        ORIGINAL_SHA256: error.sha256,
    }


def is_truncated(headers: Mapping[str, Any] | None) -> bool:
    return bool((headers or {}).get(TRUNCATED))
