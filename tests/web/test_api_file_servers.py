"""``/api/settings/ftp`` and ticket attachments through a branch's file server, against real
FTP and SFTP servers on loopback: the password is write-only, the test button reports in one
line, an attachment lands in the server's folder and comes back byte-identical, and a file
over ``HUB_MAX_ATTACHMENT_BYTES`` is refused while it is read, never held whole in memory."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.web.tokens import Tokens
from tests.support.file_servers import PASSWORD, FileServer, closed_port, file_server
from tests.support.people import person
from tests.web.conftest import Site
from tests.web.test_tenants import acme, bearer

pytestmark = pytest.mark.timeout(120)


def admin_of(site: Site) -> dict[str, str]:
    """A token of a user with the Admin role (the settings module's view and edit)."""
    person(site.hub.uow, "boss", "admin")
    return bearer(Tokens(site.hub.uow).create("boss", tenant="default", user="boss"))


@pytest.fixture
def boss(sqlite_site: Site) -> dict[str, str]:
    return admin_of(sqlite_site)


@pytest.fixture
def sftp(tmp_path: Path) -> Iterator[FileServer]:
    with file_server("sftp", tmp_path / "sftp") as running:
        yield running


@pytest.fixture
def ftp(tmp_path: Path) -> Iterator[FileServer]:
    with file_server("ftp", tmp_path / "ftp") as running:
        yield running


def setting(server: FileServer, **changes: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": server.port,
        "folder": "/in",
        "user": "hub",
        "password": PASSWORD,
        "protocol": server.protocol,
        **changes,
    }


def test_a_setting_is_set_shown_and_listed_without_its_password(
    sqlite_site: Site, boss: dict[str, str], ftp: FileServer
) -> None:
    client = sqlite_site.client
    put = client.put("/api/settings/ftp/1", params={"branch": "1"}, json=setting(ftp), headers=boss)
    assert put.status_code == 200, put.text
    assert put.json()["transfer"] == "hub" and put.json()["updated_by"] == "boss"
    # a new password is not needed to change the rest
    again = client.put(
        "/api/settings/ftp/1",
        params={"branch": "1"},
        json={**setting(ftp), "password": None, "folder": "/in/"},
        headers=boss,
    )
    assert again.status_code == 200 and again.json()["folder"] == "/in/"
    shown = client.get("/api/settings/ftp/1", params={"branch": "1"}, headers=boss)
    listed = client.get("/api/settings/ftp", headers=boss)
    assert shown.json() == listed.json()[0] == again.json()
    for answer in (put, again, shown, listed):
        assert PASSWORD not in answer.text and "password" not in answer.text
    missing = client.get("/api/settings/ftp/1", headers=boss)  # the company has none of its own
    assert missing.status_code == 404 and missing.json()["error"] == "FileServerNotFound"
    new = client.put("/api/settings/ftp/2", json={**setting(ftp), "password": None}, headers=boss)
    assert new.status_code == 422 and "needs a password" in new.json()["detail"]
    bad = client.put("/api/settings/ftp/2", json=setting(ftp, folder="in"), headers=boss)
    assert bad.status_code == 422 and "absolute path" in bad.json()["detail"]


def test_the_test_button_uploads_a_file_or_says_why_not_in_one_line(
    sqlite_site: Site, boss: dict[str, str], ftp: FileServer
) -> None:
    client = sqlite_site.client
    client.put("/api/settings/ftp/1", json=setting(ftp), headers=boss)
    got = client.post("/api/settings/ftp/1/test", headers=boss)
    assert got.status_code == 200, got.text
    assert got.json()["ok"] is True and got.json()["detail"].startswith("uploaded hub-test-")
    assert [p.name for p in (ftp.root / "in").iterdir()][0].startswith("hub-test-")
    for wrong, answer in (
        ({"password": "wrong"}, "login refused by 127.0.0.1: 530"),
        ({"port": closed_port()}, "Connection refused"),
        ({"folder": "/nowhere"}, "folder /nowhere: 550"),
        ({"user": "reader"}, "Not enough privileges"),
    ):
        client.put("/api/settings/ftp/1", json=setting(ftp, **wrong), headers=boss)
        refused = client.post("/api/settings/ftp/1/test", headers=boss)
        assert refused.status_code == 502, refused.text
        assert refused.json()["error"] == "FileServerFailed"
        assert answer in refused.json()["detail"] and "\n" not in refused.json()["detail"]
    assert client.post("/api/settings/ftp/9/test", headers=boss).status_code == 404


def test_the_settings_module_guards_every_path(
    sqlite_site: Site, boss: dict[str, str], ftp: FileServer
) -> None:
    client = sqlite_site.client
    client.put("/api/settings/ftp/1", json=setting(ftp), headers=boss)
    for role in ("reader", "attendant"):  # neither has the settings module
        auth = sqlite_site.auth(role)
        for method, path in (
            ("get", "/api/settings/ftp"),
            ("get", "/api/settings/ftp/1"),
            ("put", "/api/settings/ftp/1"),
            ("post", "/api/settings/ftp/1/test"),
        ):
            got = client.request(method, path, json=setting(ftp), headers=auth)
            assert got.status_code == 403, (role, path, got.text)
            assert "settings:" in got.json()["detail"]
    # view alone may read, not set or test
    from hub.identity import service
    from hub.runtime.uow import Cause

    with sqlite_site.hub.uow(Cause.action(tenant="default")) as uow:
        service.put_role(
            uow,
            "viewer",
            name="Viewer",
            scope="tenant",
            permissions={"settings": ["access", "view"]},
            create=True,
        )
    person(sqlite_site.hub.uow, "vera", "viewer")
    vera = bearer(Tokens(sqlite_site.hub.uow).create("vera", tenant="default", user="vera"))
    assert client.get("/api/settings/ftp/1", headers=vera).status_code == 200
    assert client.put("/api/settings/ftp/1", json=setting(ftp), headers=vera).status_code == 403
    assert client.post("/api/settings/ftp/1/test", headers=vera).status_code == 403


def test_another_tenant_sees_and_tests_none_of_ours(
    sqlite_site: Site, boss: dict[str, str], ftp: FileServer
) -> None:
    client = sqlite_site.client
    client.put("/api/settings/ftp/1", json=setting(ftp, host="localhost"), headers=boss)
    theirs = bearer(acme(sqlite_site)["admin"])
    assert client.get("/api/settings/ftp", headers=theirs).json() == []
    assert client.get("/api/settings/ftp/1", headers=theirs).status_code == 404
    assert client.post("/api/settings/ftp/1/test", headers=theirs).status_code == 404
    assert list((ftp.root / "in").iterdir()) == []
    # acme's own company 1 is acme's: ours is unchanged
    assert client.put("/api/settings/ftp/1", json=setting(ftp), headers=theirs).status_code == 200
    assert client.get("/api/settings/ftp/1", headers=boss).json()["host"] == "localhost"


def test_an_attachment_lands_in_the_branch_sftp_folder_and_downloads_byte_identical(
    site: Site, sftp: FileServer
) -> None:
    """On the embedded store and on PostgreSQL."""
    boss = admin_of(site)
    client = site.client
    assert (
        client.put(
            "/api/settings/ftp/1", params={"branch": "1"}, json=setting(sftp), headers=boss
        ).status_code
        == 200
    )
    ticket = site.open_ticket()  # company 1, branch 1
    content = bytes(range(256)) * 8_000 + "ç".encode()  # 2 MB: several chunks
    up = client.post(
        f"/api/tickets/{ticket}/attachments",
        files={"file": ("résumé.pdf", content, "application/pdf")},
        headers=site.auth("operator"),
    )
    assert up.status_code == 201, up.text
    stored = sftp.root / "in" / ticket / up.json()["sha256"]
    assert stored.read_bytes() == content
    assert not (Path(site.hub.settings.data_dir) / "attachments" / ticket).exists()
    # the setting moves elsewhere; the attachment is read from where it was written
    client.put(
        "/api/settings/ftp/1", params={"branch": "1"}, json=setting(sftp, folder="/"), headers=boss
    )
    down = client.get(
        f"/api/tickets/{ticket}/attachments/{up.json()['id']}", headers=site.auth("reader")
    )
    assert down.status_code == 200 and down.content == content
    assert down.headers["content-disposition"] == (
        "attachment; filename=\"resume.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
    )
    assert down.headers["x-content-type-options"] == "nosniff"
    assert down.headers["content-type"] == "application/pdf"
    stored.unlink()
    gone = client.get(
        f"/api/tickets/{ticket}/attachments/{up.json()['id']}", headers=site.auth("reader")
    )
    assert gone.status_code == 410


def test_transfer_by_the_customer_server_keeps_the_bytes_in_the_hub(
    sqlite_site: Site, boss: dict[str, str], sftp: FileServer
) -> None:
    client = sqlite_site.client
    client.put("/api/settings/ftp/1", json=setting(sftp, transfer="server"), headers=boss)
    ticket = sqlite_site.open_ticket()
    up = client.post(
        f"/api/tickets/{ticket}/attachments",
        files={"file": ("a.txt", b"local", "text/plain")},
        headers=sqlite_site.auth("operator"),
    )
    assert up.status_code == 201
    assert list((sftp.root / "in").iterdir()) == []
    local = Path(sqlite_site.hub.settings.data_dir) / "attachments" / ticket / up.json()["sha256"]
    assert local.read_bytes() == b"local"


def test_a_file_server_that_is_down_refuses_the_upload_in_one_line(
    sqlite_site: Site, boss: dict[str, str], sftp: FileServer
) -> None:
    client = sqlite_site.client
    client.put("/api/settings/ftp/1", json=setting(sftp, port=closed_port()), headers=boss)
    ticket = sqlite_site.open_ticket()
    up = client.post(
        f"/api/tickets/{ticket}/attachments",
        files={"file": ("a.txt", b"x", "text/plain")},
        headers=sqlite_site.auth("operator"),
    )
    assert up.status_code == 502 and "Connection refused" in up.json()["detail"]
    shown = client.get(f"/api/tickets/{ticket}", headers=sqlite_site.auth("operator")).json()
    assert shown["attachments"] == []


def post_streamed(
    site: Site, path: str, parts: Iterable[bytes], **headers: str
) -> tuple[int, bytes]:
    """POST ``parts`` at the ASGI level, one message each, as a server streams a request (the
    test client would read the whole body first), with no Content-Length: only reading can
    tell the size. The status and body of the answer."""
    pending = iter(parts)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        part = next(pending, None)
        return {"type": "http.request", "body": part or b"", "more_body": part is not None}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {site.tokens['operator']}".encode()),
            *((k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()),
        ],
    }
    asyncio.run(site.client.app(scope, receive, send))  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], b"".join(
        m.get("body", b"") for m in sent if m["type"] == "http.response.body"
    )


def multipart(boundary: str, mib: int) -> Iterator[bytes]:
    """A form with one file of ``mib`` MiB, made a MiB at a time as it is sent."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    for _ in range(mib):
        yield b"x" * (1 << 20)
    yield f"\r\n--{boundary}--\r\n".encode()


@pytest.mark.parametrize("idempotency_key", [None, "big-1"])
def test_a_26_mb_upload_is_refused_without_being_read_whole_into_memory(
    sqlite_site: Site, idempotency_key: str | None
) -> None:
    ticket = sqlite_site.open_ticket()
    key = {"idempotency_key": idempotency_key} if idempotency_key else {}
    ctype = "multipart/form-data; boundary=hubtestboundary"
    tracemalloc.start()
    try:
        status, body = post_streamed(
            sqlite_site,
            f"/api/tickets/{ticket}/attachments",
            multipart("hubtestboundary", 26),
            content_type=ctype,
            **key,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 413 and b"PayloadTooLarge" in body, body
    assert peak < 8 << 20, f"{peak} bytes at the peak"
    shown = sqlite_site.client.get(f"/api/tickets/{ticket}", headers=sqlite_site.auth("operator"))
    assert shown.json()["attachments"] == []


def test_an_upload_with_an_idempotency_key_streams_and_a_retry_acts_once(
    sqlite_site: Site,
) -> None:
    ticket = sqlite_site.open_ticket()
    path = f"/api/tickets/{ticket}/attachments"
    tracemalloc.start()
    try:
        status, first = post_streamed(
            sqlite_site,
            path,
            multipart("first-boundary", 20),
            content_type="multipart/form-data; boundary=first-boundary",
            idempotency_key="up-1",
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 201, first
    assert peak < 8 << 20, f"{peak} bytes at the peak"
    # the same upload again, as a client sends it with another random boundary
    status, again = post_streamed(
        sqlite_site,
        path,
        multipart("other-boundary", 20),
        content_type="multipart/form-data; boundary=other-boundary",
        idempotency_key="up-1",
    )
    assert (status, again) == (201, first)
    status, other = post_streamed(
        sqlite_site,
        path,
        multipart("first-boundary", 1),
        content_type="multipart/form-data; boundary=first-boundary",
        idempotency_key="up-1",
    )
    assert status == 422 and b"IdempotencyKeyReused" in other
    shown = sqlite_site.client.get(f"/api/tickets/{ticket}", headers=sqlite_site.auth("operator"))
    assert [a["size"] for a in shown.json()["attachments"]] == [20 << 20]
