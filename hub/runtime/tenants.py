"""Which tenants the hub has: an event naming another one is dead-lettered, never handled."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.store.models import DEFAULT_TENANT, Tenant


class KnownTenants:
    """Answers "does tenant T exist?" from the store, remembering the ones found (a tenant is
    never removed while the hub runs), so the question costs a query only the first time."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def __contains__(self, tenant: object) -> bool:
        if not isinstance(tenant, str):
            return False
        if tenant in self._known:
            return True
        with self.sessions() as session:
            found = session.scalar(select(Tenant.id).where(Tenant.id == tenant)) is not None
        if found:
            with self._lock:
                self._known.add(tenant)
        return found

    def owner_of(self, meta: dict[str, Any]) -> str:
        """The tenant a possibly invalid message's records go to: the one it names when the hub
        has it, else the default tenant, whose operators see what no tenant owns."""
        named = meta.get("tenantid") or DEFAULT_TENANT
        return named if named in self else DEFAULT_TENANT
