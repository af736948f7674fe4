"""Attachments over HTTP: an upload checked against its bound while it is read, and a download
whose headers carry any file name (RFC 6266 ``filename*``) and only a valid media type."""

from __future__ import annotations

import unicodedata
from typing import BinaryIO
from urllib.parse import quote

from fastapi import HTTPException, UploadFile

from hub.workflow.attachments import CHUNK, InvalidAttachment, media_type


async def read_upload(file: UploadFile, limit: int) -> BinaryIO:
    """The uploaded file (spooled to disk by the form parser beyond its first MiB), rewound,
    once it is known to hold at most ``limit`` bytes; ``413`` as soon as it has more. Only a
    chunk at a time is in memory."""
    size = 0
    while chunk := await file.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the file is larger than {limit} bytes")
    await file.seek(0)
    return file.file


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename`` for old clients and the exact name, UTF-8 and
    percent-encoded, in ``filename*`` (RFC 6266, RFC 8187)."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    fallback = (
        "".join(
            ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\%;' else "_" for ch in ascii_name
        ).strip()
        or "attachment"
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def served_media_type(stored: str) -> str:
    """The stored content type, or ``application/octet-stream`` for one that was kept before
    uploads were checked and cannot travel in a header."""
    try:
        return media_type(stored)
    except InvalidAttachment:
        return "application/octet-stream"
