"""Secrets out of what people see: URLs without their passwords, for logs, pages and errors."""

from __future__ import annotations

import re

__all__ = ["redact"]

_PASSWORD_OPTION = re.compile(r"((?:^|[?&])[\w.]*password=)[^&]*", re.IGNORECASE)
_NEXT_URL = re.compile(r";(?=\s*[A-Za-z][A-Za-z0-9+.-]*://)")


def redact(url: str) -> str:
    """``url`` without its secrets, for logs, pages and error messages: the password of its
    user (whatever it contains: ``/``, ``@``, ``:``; with or without a user name) and every
    ``*password=`` option. A list of URLs (``;``-separated) is redacted URL by URL. When a
    URL is ambiguous, more is hidden rather than less."""
    return ";".join(_redact_one(part) for part in _NEXT_URL.split(url))


def _redact_one(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _PASSWORD_OPTION.sub(r"\1***", url)
    at = rest.rfind("@")  # the password may hold any character, '@' and '?' included
    if at >= 0 and ":" in rest[:at]:
        rest = rest[: rest.index(":")] + ":***@" + rest[at + 1 :]
    path, mark, query = rest.partition("?")
    return f"{scheme}://{path}{mark}" + _PASSWORD_OPTION.sub(r"\1***", query)
