"""Every refusal of the API has one shape, ``{"error", "detail"}``, with a status the OpenAPI
document lists; numbers beyond their range are refused with 422, not a server error; attachment
names of any script download intact, and a content type that cannot travel in a header is
refused at upload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.web.conftest import Site, _site

HUGE = "99999999999999999999"


@pytest.fixture
def small_site(sqlite_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from _site(sqlite_url, tmp_path, max_attachment_bytes=4096)


def _refusal(response: object, status: int, error: str | None = None) -> dict[str, str]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error", "detail"} and isinstance(body["detail"], str), body
    assert "\n" not in body["detail"]
    if error is not None:
        assert body["error"] == error, body
    return body  # type: ignore[no-any-return]


def test_every_kind_of_refusal_has_the_one_shape(sqlite_site: Site) -> None:
    site = sqlite_site
    get, post = site.client.get, site.client.post
    reader, attendant = site.auth("reader"), site.auth("attendant")
    _refusal(get("/api/tickets"), 401, "Unauthorized")
    assert get("/api/tickets").headers["www-authenticate"] == "Bearer"
    _refusal(get("/api/tickets", headers={"Authorization": "Bearer hub_nope"}), 401)
    _refusal(post("/api/dead-letters/replay", json={}, headers=attendant), 403, "Forbidden")
    _refusal(get("/api/tickets/T-none", headers=reader), 404, "TicketNotFound")
    _refusal(get("/api/no-such-thing", headers=reader), 404, "NotFound")
    _refusal(site.client.delete("/api/tickets", headers=reader), 405, "MethodNotAllowed")
    ticket = site.open_ticket()
    missing = _refusal(post(f"/api/tickets/{ticket}/move", json={}, headers=attendant), 422)
    assert missing == {"error": "ValidationError", "detail": "body.stage: Field required"}
    _refusal(
        post(
            f"/api/tickets/{ticket}/move",
            content=b"{not json",
            headers={**attendant, "Content-Type": "application/json"},
        ),
        422,
        "ValidationError",
    )
    _refusal(
        post(
            f"/api/tickets/{ticket}/move",
            json={"stage": "approved", "colour": "red"},
            headers=attendant,
        ),
        422,
        "ValidationError",
    )
    _refusal(
        post(f"/api/tickets/{ticket}/move", json={"stage": "nowhere"}, headers=attendant),
        422,
        "IllegalMove",
    )
    _refusal(
        post(
            f"/api/tickets/{ticket}/comments",
            json={"text": "x"},
            headers={**attendant, "Idempotency-Key": "k" * 201},
        ),
        422,
        "ValidationError",
    )


@pytest.mark.parametrize(
    "path",
    [
        f"/api/tickets?limit={HUGE}",
        "/api/tickets?limit=0",
        f"/api/dead-letters?limit={HUGE}",
        f"/api/dead-letters/{HUGE}",
        "/api/dead-letters/-1",
        f"/api/tickets/T-1/attachments/{HUGE}",
        "/api/tickets?status=bogus",
        "/api/dead-letters?status=bogus",
    ],
)
def test_numbers_and_choices_out_of_range_are_422_not_a_server_error(
    sqlite_site: Site, path: str
) -> None:
    _refusal(
        sqlite_site.client.get(path, headers=sqlite_site.auth("reader")), 422, "ValidationError"
    )


def test_a_version_out_of_range_is_422(sqlite_site: Site) -> None:
    ticket = sqlite_site.open_ticket()
    response = sqlite_site.client.post(
        f"/api/tickets/{ticket}/move",
        json={"stage": "approved", "expected_version": int(HUGE)},
        headers=sqlite_site.auth("attendant"),
    )
    _refusal(response, 422, "ValidationError")


def test_a_file_name_in_any_script_downloads_intact(sqlite_site: Site) -> None:
    site = sqlite_site
    ticket = site.open_ticket()
    name = "résumé✓ 履歴書.html"
    up = site.client.post(
        f"/api/tickets/{ticket}/attachments",
        files={"file": (name, b"<p>ok</p>", "text/html")},
        headers=site.auth("attendant"),
    )
    assert up.status_code == 201, up.text
    assert up.json()["filename"] == name
    down = site.client.get(
        f"/api/tickets/{ticket}/attachments/{up.json()['id']}", headers=site.auth("reader")
    )
    assert down.status_code == 200 and down.content == b"<p>ok</p>"
    assert down.headers["content-type"].startswith("text/html")
    assert down.headers["content-disposition"] == (
        f"attachment; filename=\"resume .html\"; filename*=UTF-8''{quote(name, safe='')}"
    )


@pytest.mark.parametrize(
    "content_type",
    [
        "text/html\x0b",
        "text/html\x00",
        "text/html\u2028",
        "téxt/html",
        "no-slash",
        'text/html; x="\x7f"',
    ],
)
def test_a_content_type_that_cannot_be_a_header_is_refused_at_upload(
    sqlite_site: Site, content_type: str
) -> None:
    site = sqlite_site
    ticket = site.open_ticket()
    boundary = "b0undary"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="a.html"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
        "<p>hi</p>\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    response = site.client.post(
        f"/api/tickets/{ticket}/attachments",
        content=body,
        headers={
            **site.auth("attendant"),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    _refusal(response, 422)
    shown = site.client.get(f"/api/tickets/{ticket}", headers=site.auth("reader")).json()
    assert shown["attachments"] == []


def test_an_attachment_over_the_limit_is_413_and_not_kept(small_site: Site) -> None:
    site = small_site
    ticket = site.open_ticket()
    response = site.client.post(
        f"/api/tickets/{ticket}/attachments",
        files={"file": ("big.bin", b"x" * 5000)},
        headers=site.auth("attendant"),
    )
    _refusal(response, 413, "PayloadTooLarge")
    # a body declared larger than any upload may be is refused before it is read
    response = site.client.post(
        f"/api/tickets/{ticket}/attachments",
        content=b"x" * 200_000,
        headers={**site.auth("attendant"), "Content-Type": "multipart/form-data; boundary=x"},
    )
    _refusal(response, 413, "PayloadTooLarge")
    response = site.client.post(
        f"/api/tickets/{ticket}/comments",
        content=b'{"text": "' + b"x" * (2 << 20) + b'"}',
        headers={**site.auth("attendant"), "Content-Type": "application/json"},
    )
    _refusal(response, 413, "PayloadTooLarge")
    shown = site.client.get(f"/api/tickets/{ticket}", headers=site.auth("reader")).json()
    assert shown["attachments"] == [] and shown["comments"] == []


def test_the_openapi_document_lists_every_refusal_with_its_shape(sqlite_site: Site) -> None:
    doc = sqlite_site.client.get("/openapi.json", headers=sqlite_site.auth("reader")).json()
    assert doc["components"]["schemas"]["ErrorBody"]["required"] == ["error", "detail"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            if path == "/healthz":
                assert codes == {"200", "503"}
                continue
            assert {"401", "403", "422", "503"} <= codes, (method, path, codes)
            for code in codes - {"200", "201"}:
                schema = operation["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, code)
            if "{ticket_id}" in path or "{dl_id}" in path:
                assert "404" in codes, (method, path)
            if method == "post":
                assert "409" in codes, (method, path)
