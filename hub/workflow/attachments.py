"""Where attachment bytes live. The store keeps metadata; bytes go to an ``AttachmentStore``
(the local filesystem by default, under ``<data_dir>/attachments``, or a company's file
server: ``hub.files``). Bytes move in chunks both ways, never whole in memory."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from hub.workflow.errors import WorkflowError

#: How many bytes a store reads or writes at a time.
CHUNK = 1 << 20


class AttachmentStore(Protocol):
    def put(self, key: str, source: BinaryIO) -> None:
        """Store what ``source`` reads (from where it stands to its end) under ``key``
        (idempotent: the same key always holds the same bytes)."""
        ...

    def get(self, key: str) -> Iterator[bytes]:
        """The bytes under ``key``, in chunks; raises ``FileNotFoundError`` at once (before the
        first chunk) when there are none."""
        ...


class LocalAttachmentStore:
    """Content-addressed files under ``root``; writes are atomic (temporary file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"attachment key escapes the store: {key!r}")
        return path

    def put(self, key: str, source: BinaryIO) -> None:
        path = self._path(key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            shutil.copyfileobj(source, f, CHUNK)
        os.replace(tmp, path)

    def get(self, key: str) -> Iterator[bytes]:
        return _chunks(self._path(key).open("rb"))


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    with f:
        while chunk := f.read(CHUNK):
            yield chunk


class InvalidAttachment(WorkflowError):
    """An attachment's name or content type cannot be kept as given."""


#: ``type/subtype`` with optional ``; name=value`` parameters, in printable ASCII (RFC 9110).
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(
    rf"^{_TOKEN}/{_TOKEN}(\s*;\s*{_TOKEN}=({_TOKEN}|\"[\x20\x21\x23-\x5b\x5d-\x7e]*\"))*$"
)
MAX_FILENAME = 255


def media_type(value: str) -> str:
    """``value`` when it is a media type that can travel in a ``Content-Type`` header; raises
    ``InvalidAttachment`` otherwise (control characters, non-ASCII bytes, no ``/``)."""
    if len(value) > 200 or not _MEDIA_TYPE.match(value):
        shown = value[:60].encode("unicode_escape").decode("ascii")
        raise InvalidAttachment(
            f"content type {shown!r} is not a media type such as 'application/pdf'"
        )
    return value


def file_name(value: str) -> str:
    """``value`` as kept: any characters (``résumé✓.html`` too) but control characters and path
    separators, at most ``MAX_FILENAME`` of them; raises ``InvalidAttachment`` when nothing
    is left."""
    cleaned = "".join(
        "_" if (ch in "/\\" or unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"}) else ch
        for ch in value
    ).strip()
    if not cleaned or cleaned in {".", ".."}:
        raise InvalidAttachment("an attachment needs a file name")
    return cleaned[:MAX_FILENAME]
