"""An upload's idempotency fingerprint, computed a block at a time from its spooled file, is the
body's without its boundary, wherever the boundary falls across blocks."""

from __future__ import annotations

import io

import pytest

from hub.web.idempotency import fingerprint_of, upload_fingerprint
from hub.workflow.attachments import CHUNK

BOUNDARY = b"----boundary-7f3a"


@pytest.mark.parametrize("offset", [0, 1, len(BOUNDARY) // 2, len(BOUNDARY) - 1, len(BOUNDARY)])
def test_a_boundary_across_two_blocks_is_left_out(offset: int) -> None:
    body = b"a" * (CHUNK - offset) + BOUNDARY + b"b" * 10 + BOUNDARY + b"--"
    expected = fingerprint_of("POST", "/p", body.replace(BOUNDARY, b""))
    assert upload_fingerprint("POST", "/p", BOUNDARY, io.BytesIO(body)) == expected


def test_another_boundary_is_the_same_upload_and_other_content_is_not() -> None:
    def form(boundary: bytes, content: bytes) -> io.BytesIO:
        return io.BytesIO(b"--" + boundary + b"\r\n\r\n" + content + b"\r\n--" + boundary + b"--")

    one = upload_fingerprint("POST", "/p", BOUNDARY, form(BOUNDARY, b"x" * 3000))
    assert one == upload_fingerprint("POST", "/p", b"other", form(b"other", b"x" * 3000))
    assert one != upload_fingerprint("POST", "/p", BOUNDARY, form(BOUNDARY, b"y" * 3000))
    assert one != upload_fingerprint("POST", "/q", BOUNDARY, form(BOUNDARY, b"x" * 3000))
