"""No endpoint works without a valid token (but /healthz and /metrics), and each role is
refused what it may not do."""

from __future__ import annotations

import pytest

from hub.errors import TransientError
from tests.web.conftest import Site

READS = [
    ("GET", "/api/tickets"),
    ("GET", "/api/tickets/T-x"),
    ("GET", "/api/tickets/T-x/attachments/1"),
    ("GET", "/api/dead-letters"),
    ("GET", "/api/dead-letters/groups"),
    ("GET", "/api/dead-letters/1"),
    ("GET", "/api/queues"),
    ("GET", "/api/config"),
    ("GET", "/api/trace/c-1"),
    ("GET", "/api/me"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
]
TICKET_WRITES = [
    ("POST", "/api/tickets/T-x/move", {"stage": "approved"}),
    ("POST", "/api/tickets/T-x/comments", {"text": "hi"}),
    ("POST", "/api/tickets/T-x/cancel", {"reason": "no"}),
]
OPERATOR_WRITES = [
    ("POST", "/api/dead-letters/1/replay", None),
    ("POST", "/api/dead-letters/1/purge", None),
    ("POST", "/api/dead-letters/replay", {}),
    ("POST", "/api/dead-letters/purge", {}),
]


def test_every_endpoint_but_health_and_metrics_needs_a_token(sqlite_site: Site) -> None:
    client = sqlite_site.client
    for method, path, *_ in READS + TICKET_WRITES + OPERATOR_WRITES:
        got = client.request(method, path, json={})
        assert got.status_code == 401, (method, path, got.status_code)
        assert got.headers["www-authenticate"] == "Bearer"
    got = client.post("/api/tickets/T-x/attachments", files={"file": ("a.txt", b"x")})
    assert got.status_code == 401
    bad = {"Authorization": "Bearer hub_not-a-token"}
    assert client.get("/api/tickets", headers=bad).status_code == 401
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_a_revoked_token_stops_working_at_once(sqlite_site: Site) -> None:
    headers = sqlite_site.auth("reader")
    me = sqlite_site.client.get("/api/me", headers=headers).json()
    assert (me["name"], me["tenant"], me["user"], me["roles"]) == (
        "watcher",
        "default",
        "watcher",
        ["reader"],
    )
    assert me["permissions"]["dead_letters"] == ["access", "export", "filter", "view"]
    from hub.web.tokens import Tokens

    Tokens(sqlite_site.hub.uow).revoke("watcher", tenant="default")
    assert sqlite_site.client.get("/api/me", headers=headers).status_code == 401


@pytest.mark.parametrize("role", ["reader", "attendant"])
def test_only_an_operator_replays_or_purges_dead_letters(sqlite_site: Site, role: str) -> None:
    for method, path, body in OPERATOR_WRITES:
        got = sqlite_site.client.request(method, path, json=body, headers=sqlite_site.auth(role))
        assert got.status_code == 403, (path, got.text)
        assert "needs the permission dead_letters:" in got.json()["detail"]


def test_a_reader_may_read_but_not_work_tickets(sqlite_site: Site) -> None:
    headers = sqlite_site.auth("reader")
    ticket = sqlite_site.open_ticket()
    for method, path, body in TICKET_WRITES:
        got = sqlite_site.client.request(
            method, path.replace("T-x", ticket), json=body, headers=headers
        )
        assert got.status_code == 403, (path, got.text)
    got = sqlite_site.client.post(
        f"/api/tickets/{ticket}/attachments", files={"file": ("a.txt", b"x")}, headers=headers
    )
    assert got.status_code == 403
    assert sqlite_site.client.get(f"/api/tickets/{ticket}", headers=headers).status_code == 200


def test_the_openapi_document_lists_the_api(sqlite_site: Site) -> None:
    doc = sqlite_site.client.get("/openapi.json", headers=sqlite_site.auth("reader")).json()
    paths = set(doc["paths"])
    assert {
        "/api/tickets",
        "/api/tickets/{ticket_id}/move",
        "/api/tickets/{ticket_id}/attachments",
        "/api/dead-letters/{dl_id}/replay",
        "/api/dead-letters/replay",
        "/api/queues",
        "/api/config",
        "/api/trace/{correlation_id}",
        "/healthz",
    } <= paths
    move = doc["paths"]["/api/tickets/{ticket_id}/move"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in move["parameters"]}
    docs = sqlite_site.client.get("/docs", headers=sqlite_site.auth("reader"))
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    # served by the hub itself: the page works without the internet
    assert "cdn" not in docs.text and 'src="/swagger/swagger-ui-bundle.js"' in docs.text
    for asset in (
        "/swagger/swagger-ui-bundle.js",
        "/swagger/swagger-ui.css",
        "/swagger/favicon.png",
    ):
        assert sqlite_site.client.get(asset).status_code == 200


def test_health_is_503_when_the_broker_does_not_answer(
    sqlite_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sqlite_site.client.get("/healthz").json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
    }

    def down() -> None:
        raise TransientError("RabbitMQ unavailable: connection refused")

    monkeypatch.setattr(sqlite_site.hub.transport, "ping", down)
    got = sqlite_site.client.get("/healthz")
    assert got.status_code == 503
    assert got.json()["broker"].startswith("unreachable")
    assert got.json()["database"] == "ok"


def test_health_is_503_when_the_database_does_not_answer(
    sqlite_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hub.web.api_ops

    def down(engine: object) -> None:
        raise ConnectionError("refused")

    monkeypatch.setattr(hub.web.api_ops, "ping", down)
    got = sqlite_site.client.get("/healthz")
    assert got.status_code == 503 and got.json()["database"].startswith("unreachable")
