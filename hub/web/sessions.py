"""Signed-in browser sessions, kept server-side.

The cookie carries a random id (256 bits); the store keeps only its SHA-256 hash, the user, the
tenant and the session's CSRF token. A session ends at its absolute expiry, after ``idle``
seconds without a request, or when revoked (log-out, or the user disabled).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session as OrmSession

from hub.portal.accounts import Account, set_status
from hub.runtime.uow import UnitOfWork, UnitOfWorkFactory
from hub.web.tables import WebSession

MAX_ID_LENGTH = 100
_TOUCH_EVERY = timedelta(seconds=60)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    tenant: str
    user: str
    kind: str
    csrf_token: str
    raw_id: str


class Sessions:
    def __init__(self, uow: UnitOfWorkFactory, *, lifetime: float, idle: float) -> None:
        self.uow = uow
        self.lifetime = timedelta(seconds=lifetime)
        self.idle = timedelta(seconds=idle)

    def open(self, tenant: str, user: str, *, kind: str, address: str | None) -> Session:
        """A new session of ``user``; returns it with its raw id (for the cookie only)."""
        raw = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self.uow.clock.now()
        with self.uow.sessions.begin() as s:
            s.add(
                WebSession(
                    id_hash=_hash(raw),
                    tenant_id=tenant,
                    user_id=user,
                    kind=kind,
                    csrf_token=csrf,
                    address=(address or "")[:100] or None,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self.lifetime,
                )
            )
        return Session(tenant, user, kind, csrf, raw)

    def find(self, raw: str, *, kind: str) -> Session | None:
        """The live session of this cookie value (of ``kind``); ``None`` when unknown, expired,
        idle too long or revoked. Seen now: the idle clock restarts (stored at most once a
        minute)."""
        if not raw or len(raw) > MAX_ID_LENGTH:
            return None
        now = self.uow.clock.now()
        with self.uow.sessions() as s:
            row = s.get(WebSession, _hash(raw))
        if row is None or row.kind != kind or row.revoked_at is not None:
            return None
        if now >= row.expires_at or now - row.last_seen_at > self.idle:
            return None
        if now - row.last_seen_at > _TOUCH_EVERY:
            with self.uow.sessions.begin() as s:
                s.execute(
                    update(WebSession)
                    .where(WebSession.id_hash == row.id_hash)
                    .values(last_seen_at=now)
                )
        return Session(row.tenant_id, row.user_id, row.kind, row.csrf_token, raw)

    def revoke(self, raw: str) -> None:
        if not raw or len(raw) > MAX_ID_LENGTH:
            return
        with self.uow.sessions.begin() as s:
            s.execute(
                update(WebSession)
                .where(WebSession.id_hash == _hash(raw), WebSession.revoked_at.is_(None))
                .values(revoked_at=self.uow.clock.now())
            )


def set_customer_status(uow: UnitOfWork, customer_id: str, *, enabled: bool, by: str) -> Account:
    """Disable (ending the account's live portal sessions) or enable a customer's portal
    account, in ``uow``; raises ``AccountNotFound`` for an unknown one."""
    account = set_status(uow, customer_id, enabled=enabled, by=by)
    if not enabled:
        revoke_all(uow.session, uow.tenant, customer_id, kind="customer", now=uow.now())
    return account


def revoke_all(session: OrmSession, tenant: str, user: str, *, kind: str, now: datetime) -> int:
    """End every live session of ``user`` (of ``kind``) in ``tenant``, in the caller's
    transaction; returns how many."""
    result = session.execute(
        update(WebSession)
        .where(
            WebSession.tenant_id == tenant,
            WebSession.user_id == user,
            WebSession.kind == kind,
            WebSession.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


class SignInLimiter:
    """Failed sign-ins, per user and per address: after ``limit`` failures within ``window``
    seconds, further attempts are refused until the oldest failure leaves the window."""

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        seen = self._failures.setdefault(key, deque())
        while seen and now - seen[0] > self.window:
            seen.popleft()
        return seen

    def wait(self, *keys: str) -> float:
        """Seconds before an attempt under ``keys`` is allowed again (0: allowed now)."""
        now = time.monotonic()
        with self._lock:
            waits = [
                self.window - (now - seen[0])
                for seen in (self._recent(k, now) for k in keys)
                if len(seen) >= self.limit
            ]
        return max(waits, default=0.0)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            if len(self._failures) > 100_000:  # bounded: forget the quiet ones
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
