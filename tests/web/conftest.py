"""A hub running in the test process (in-memory broker, SQLite or PostgreSQL store) with its
web app behind FastAPI's TestClient, and one token per role."""

from __future__ import annotations

import re
import threading
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    # Starlette asks for httpx2 over httpx; the test client works the same with httpx
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

from hub.bootstrap import Hub, build
from hub.runtime.uow import Cause
from hub.settings import Settings
from hub.web.app import create_app
from hub.web.context import WebContext
from hub.web.metrics import MetricsObserver
from hub.web.tokens import Tokens
from hub.workflow import service
from tests.support import ledger
from tests.support.harness import item_event, outgoing
from tests.support.people import person


@dataclass
class Site:
    hub: Hub
    client: TestClient
    tokens: dict[str, str]  # role -> token

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def publish(self, *events: dict[str, object]) -> None:
        self.hub.transport.publish([outgoing(e) for e in events])

    def dead_letter(self, item: str) -> int:
        """Publish an event the ledger consumer refuses; return its dead letter's id."""
        from tests.support.harness import wait_until

        event = item_event(item, permanent=True)
        self.publish(event)
        found: list[int] = []

        def arrived() -> bool:
            got = self.client.get(
                "/api/dead-letters", headers=self.auth("reader"), params={"status": ""}
            ).json()
            found[:] = [d["id"] for d in got if d["event_id"] == event["id"]]
            return bool(found)

        wait_until(arrived, timeout=20, what=f"dead letter of {item}")
        return found[0]

    def open_ticket(self, type_id: str = "finance.agreement-approval", **kwargs: object) -> str:
        params = kwargs.pop("parameters", None) or {
            "agreement_id": f"A-{uuid.uuid4().hex[:6]}",
            "customer": {"id": "C-1", "name": "Carol", "email": "carol@example.org"},
            "company": "1",
            "branch": "1",
            "amount": "1200.00",
        }
        with self.hub.uow(Cause.action(tenant="default")) as uow:
            if type_id == "finance.agreement-approval":
                ticket = service.open_ticket_from_agreement_template(
                    uow,
                    "default",
                    parameters=params,  # type: ignore[arg-type]
                    customer_id="C-1",
                    company="1",
                    branch="1",
                    origin_id=str(params["agreement_id"]),  # type: ignore[index]
                )
            else:
                ticket = service.open_ticket(uow, type_id, parameters=params, **kwargs)  # type: ignore[arg-type]
            return ticket.id


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from _site(database_url, tmp_path)


@pytest.fixture
def sqlite_site(sqlite_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from _site(sqlite_url, tmp_path)


@pytest.fixture
def full_site(sqlite_url: str, tmp_path: Path) -> Iterator[Site]:
    """A site running the hub's own consumers beside the test ledger."""
    from consumers import ALL

    yield from _site(sqlite_url, tmp_path, [*ALL, ledger.consumer])


def _site(
    database_url: str,
    tmp_path: Path,
    consumers: list[Any] | None = None,
    **overrides: object,
) -> Iterator[Site]:
    settings = Settings(
        broker_url=f"memory://{uuid.uuid4().hex}",
        database_url=database_url,
        data_dir=tmp_path / "data",
        retry_base_delay=0.1,
        retry_max_delay=0.5,
        **overrides,  # type: ignore[arg-type]
    )
    ledger._failures_seen.clear()
    observer = MetricsObserver()
    hub = build(settings, consumers=consumers or [ledger.consumer], observer=observer)
    ledger.metadata.create_all(hub.uow.engine)
    with hub.uow(Cause.action(tenant="default")) as uow:
        service.ensure_config(uow)
    hub.setup()
    stop = threading.Event()
    hub.start(stop)
    tokens = Tokens(hub.uow)
    person(hub.uow, "watcher", "reader")
    person(hub.uow, "ana", "attendant")
    person(hub.uow, "admin", "operator")
    made = {
        "reader": tokens.create("watcher", tenant="default"),
        "attendant": tokens.create("ana", tenant="default"),
        "operator": tokens.create("ops", tenant="default", user="admin"),
    }
    app = create_app(WebContext(settings, hub.uow, hub.transport, hub.queues, observer))
    try:
        with TestClient(app) as client:
            yield Site(hub, client, made)
    finally:
        stop.set()
        hub.join()
        hub.close()


ORIGIN = "http://testserver"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Console:
    """A browser signed in to the console: its forms carry the session's CSRF token and come
    from the hub's own origin."""

    client: TestClient
    csrf: str

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        headers = {"origin": ORIGIN, **kwargs.pop("headers", {})}
        return self.client.post(
            path, data={**(data or {}), "csrf_token": self.csrf}, headers=headers, **kwargs
        )


def console_login(site: Site, role: str, next: str = "/tickets") -> Console:
    """Sign in to the console with the role's token, as a browser on the hub's page would."""
    client = site.client
    client.cookies.clear()
    got = client.post(
        "/login",
        data={"token": site.tokens[role], "next": next},
        headers={"origin": ORIGIN},
        follow_redirects=False,
    )
    assert got.status_code == 303 and got.headers["location"] == next, got.headers
    page = client.get("/tickets")
    found = _CSRF.search(page.text)
    assert found, "no CSRF token on the page"
    return Console(client, found.group(1))
