"""Where attachment bytes live. The store keeps metadata; bytes go to an ``AttachmentStore``
(the local filesystem by default, under ``<data_dir>/attachments``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol


class AttachmentStore(Protocol):
    def put(self, key: str, content: bytes) -> None:
        """Store ``content`` under ``key`` (idempotent: the same key always holds the same bytes)."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes under ``key``; raises ``FileNotFoundError``."""
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

    def put(self, key: str, content: bytes) -> None:
        path = self._path(key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(tmp, path)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()
