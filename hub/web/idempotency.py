"""``Idempotency-Key`` on write requests: the first response is stored (per caller and key) and
returned again to every retry, which does not act a second time.

A retry with the same key but a different request (method, path, body) is refused with 422; a
retry while the first request is still being handled gets 409. A first response with a 5xx
status is not kept, so the request may be retried. Ticket actions also pass the key to the
workflow as an action id, so even two racing requests act once.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import IO

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import TransientError
from hub.runtime.uow import UnitOfWorkFactory
from hub.web.security import authenticate, context
from hub.web.tables import IdempotentRequest
from hub.workflow.attachments import CHUNK

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
IN_PROGRESS = 0


def action_id(owner: str, key: str | None) -> str | None:
    """The workflow action id of a request with an idempotency key (``owner``: the caller's
    ``Principal.key``)."""
    return f"http:{owner}:{key}" if key else None


def claim(
    uow: UnitOfWorkFactory, owner: str, key: str, fingerprint: str
) -> IdempotentRequest | None:
    """Record the request as in progress; return the earlier one when the key is taken."""
    for _ in range(3):  # the earlier row may vanish meanwhile (its request failed): try again
        try:
            with uow.sessions.begin() as session:
                session.add(
                    IdempotentRequest(
                        owner=owner,
                        key=key,
                        fingerprint=fingerprint,
                        status=IN_PROGRESS,
                        created_at=uow.clock.now(),
                    )
                )
            return None
        except IntegrityError:
            with uow.sessions() as session:
                earlier = session.get(IdempotentRequest, (owner, key))
            if earlier is not None:
                return earlier
    raise TransientError(f"{HEADER} {key!r}: could not record the request; retry it")


def _finish(
    uow: UnitOfWorkFactory, owner: str, key: str, response: tuple[int, str | None, bytes] | None
) -> None:
    with uow.sessions.begin() as session:
        row = session.get(IdempotentRequest, (owner, key))
        if row is None:
            return
        if response is None:
            session.delete(row)
        else:
            row.status, row.content_type, row.body = response


def forget_older_than(uow: UnitOfWorkFactory, days: float) -> int:
    """Drop stored responses older than ``days`` (housekeeping)."""
    cutoff = uow.clock.now() - timedelta(days=days)
    with uow.sessions.begin() as session:
        result = session.execute(
            delete(IdempotentRequest).where(IdempotentRequest.created_at < cutoff)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


def fingerprint_of(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same one: method, path and body."""
    return hashlib.sha256(b"\x1f".join([method.encode(), path.encode(), body])).hexdigest()


def upload_fingerprint(method: str, path: str, boundary: bytes, body: IO[bytes]) -> str:
    """``fingerprint_of`` a multipart body, read from a file a block at a time, without its
    random boundary (so a retry that a client sends with another boundary is the same one)."""
    digest = hashlib.sha256(b"\x1f".join([method.encode(), path.encode(), b""]))
    keep = len(boundary) - 1  # what may be the start of a boundary the next block completes
    pending = b""
    while block := body.read(CHUNK):
        pending = (pending + block).replace(boundary, b"")
        digest.update(pending[: len(pending) - keep])
        pending = pending[len(pending) - keep :]
    digest.update(pending.replace(boundary, b""))
    return digest.hexdigest()


class SpooledUploads:
    """ASGI middleware just outside ``middleware``: a multipart write with an
    ``Idempotency-Key`` is read once into a temporary file (its first MiB in memory, the rest
    on disk) and fingerprinted from there; the app then reads the body from that file. An
    upload is never held whole in memory for its key's check."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else Headers()
        ctype = headers.get("content-type", "")
        if (
            scope["type"] != "http"
            or scope["method"] not in WRITE_METHODS
            or HEADER not in headers
            or not ctype.startswith("multipart/")
            or "boundary=" not in ctype
        ):
            await self.app(scope, receive, send)
            return
        boundary = ctype.split("boundary=", 1)[1].split(";", 1)[0].strip('"').encode()
        with tempfile.SpooledTemporaryFile(max_size=CHUNK) as spool:
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                spool.write(message.get("body", b""))
                more = message.get("more_body", False)
            spool.seek(0)
            fingerprint = upload_fingerprint(scope["method"], scope["path"], boundary, spool)
            scope.setdefault("state", {})[_FINGERPRINT] = fingerprint
            spool.seek(0)
            done = False

            async def replay() -> Message:
                nonlocal done
                if done:
                    return await receive()  # nothing more to read: wait for the disconnect
                chunk = spool.read(CHUNK)
                done = not chunk
                return {"type": "http.request", "body": chunk, "more_body": not done}

            await self.app(scope, replay, send)


_FINGERPRINT = "idempotency_fingerprint"


async def middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    key = request.headers.get(HEADER)
    if request.method not in WRITE_METHODS or not key:
        return await call_next(request)
    if len(key) > 200:
        return JSONResponse(
            {"error": "ValidationError", "detail": f"{HEADER} is longer than 200 characters"},
            422,
        )
    who = await run_in_threadpool(authenticate, request)
    if who is None:
        return await call_next(request)  # refused by the endpoint's own check
    fingerprint = request.scope.get("state", {}).get(_FINGERPRINT) or fingerprint_of(
        request.method, request.url.path, await request.body()
    )
    uow = context(request).uow
    earlier = await run_in_threadpool(claim, uow, who.key, key, fingerprint)
    if earlier is not None:
        if earlier.fingerprint != fingerprint:
            return JSONResponse(
                {
                    "error": "IdempotencyKeyReused",
                    "detail": f"{HEADER} {key!r} was used for a different request",
                },
                422,
            )
        if earlier.status == IN_PROGRESS:
            return JSONResponse(
                {"error": "InProgress", "detail": f"a request with {HEADER} {key!r} is running"},
                409,
            )
        return Response(
            earlier.body or b"",
            earlier.status,
            media_type=earlier.content_type,
            headers={REPLAYED: "true"},
        )
    try:
        response = await call_next(request)
        content = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
    except BaseException:
        await run_in_threadpool(_finish, uow, who.key, key, None)
        raise
    kept = (
        None
        if response.status_code >= 500
        else (
            response.status_code,
            response.headers.get("content-type"),
            content,
        )
    )
    await run_in_threadpool(_finish, uow, who.key, key, kept)
    out = Response(content, response.status_code)
    out.raw_headers = [
        *((k, v) for k, v in response.raw_headers if k.lower() != b"content-length"),
        (b"content-length", str(len(content)).encode()),
    ]
    return out
