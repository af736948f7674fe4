"""The FTP and SFTP attachment stores against real servers on loopback: what a ticket's
attachment and the test button need, and each way a customer's server can refuse, in one
line."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.files.servers import FileServerFailed
from hub.files.stores import store_for, upload_test_file
from tests.support.file_servers import FileServer, closed_port, file_server

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["ftp", "sftp"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FileServer]:
    with file_server(request.param, tmp_path / "root") as running:
        yield running


def test_a_file_goes_to_the_folder_and_comes_back_in_chunks(server: FileServer) -> None:
    store = store_for(server.endpoint())
    content = bytes(range(256)) * 12_000  # about 3 MiB: several chunks
    store.put("T-1/abc", io.BytesIO(content))
    assert (server.root / "in" / "T-1" / "abc").read_bytes() == content
    chunks = list(store.get("T-1/abc"))
    assert len(chunks) > 1 and b"".join(chunks) == content
    # the same key again is a no-op, and no temporary file stays behind
    store.put("T-1/abc", io.BytesIO(b"other"))
    assert sorted(p.name for p in (server.root / "in" / "T-1").iterdir()) == ["abc"]


def test_a_missing_key_is_file_not_found_before_any_chunk(server: FileServer) -> None:
    with pytest.raises(FileNotFoundError):
        store_for(server.endpoint()).get("T-1/none")


def test_a_key_cannot_leave_the_folder(server: FileServer) -> None:
    with pytest.raises(ValueError, match="escapes"):
        store_for(server.endpoint()).put("../out", io.BytesIO(b"x"))


def test_the_test_upload_leaves_a_small_file_in_the_folder(server: FileServer) -> None:
    line = upload_test_file(server.endpoint())
    (written,) = (server.root / "in").iterdir()
    assert line == f"uploaded {written.name} to {server.protocol}://hub@127.0.0.1:{server.port}/in"
    assert written.name.startswith("hub-test-") and b"integration hub" in written.read_bytes()


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong password", "login refused by 127.0.0.1"),
        ("closed port", "cannot connect to 127.0.0.1:"),
        ("missing folder", "folder /nowhere"),
        ("no permission", "cannot write|denied|read-only"),
    ],
)
def test_each_refusal_is_one_line(server: FileServer, case: str, expected: str) -> None:
    endpoint = {
        "wrong password": server.endpoint(password="wrong"),
        "closed port": server.endpoint(),
        "missing folder": server.endpoint(folder="/nowhere"),
        "no permission": server.endpoint(user="reader"),
    }[case]
    if case == "closed port":
        endpoint = type(endpoint)(**{**endpoint.__dict__, "port": closed_port()})
    with pytest.raises(FileServerFailed, match=expected) as refused:
        upload_test_file(endpoint)
    assert "\n" not in str(refused.value) and "secret" not in str(refused.value)
