"""A bound on every request body: a multipart upload (an attachment) may be as large as
``HUB_MAX_ATTACHMENT_BYTES`` and a little more for its envelope, anything else 1 MiB. A larger
body is refused with ``413`` before it is read: at once when its ``Content-Length`` says so,
else as soon as more than the bound has arrived."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: A body that is not an upload: JSON, a form.
DEFAULT_BYTES = 1 << 20
#: What a multipart envelope adds to the file it carries (boundaries, part headers, fields).
ENVELOPE_BYTES = 64 << 10


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware; ``attachment_bytes`` is the largest file an upload may carry."""

    def __init__(self, app: ASGIApp, *, attachment_bytes: int) -> None:
        self.app = app
        self.attachment_bytes = attachment_bytes

    def limit(self, scope: Scope) -> int:
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").lower()
        if ctype.startswith(b"multipart/"):
            return self.attachment_bytes + ENVELOPE_BYTES
        return DEFAULT_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        received = 0
        started = too_large = False

        async def bounded_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _TooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if too_large:
                # the app's own answer to a body it could not finish reading (a form parser
                # reports "cannot parse"): the answer is 413, whatever the app made of it
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _refuse(send, limit)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {"error": "PayloadTooLarge", "detail": f"the request body is larger than {limit} bytes"}
    ).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
