"""``hub settings ftp`` as an operator runs it, against real FTP and SFTP servers on loopback:
the password goes in on standard input and never comes out, and ``test`` says in one line what
it uploaded or why the server refused (exit 0, or non-zero)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.runtime.uow import UnitOfWorkFactory
from tests.e2e.test_cli_tenants import cli
from tests.e2e.test_cli_tenants import store as store  # noqa: F401 (the fixture)
from tests.support.file_servers import PASSWORD, FileServer, closed_port, file_server

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(params=["ftp", "sftp"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FileServer]:
    with file_server(request.param, tmp_path / "root") as running:
        yield running


def ftp_set(server: FileServer, *extra: str, password: str = PASSWORD) -> tuple[int, str]:
    args = ("--host", "127.0.0.1", "--port", str(server.port), "--folder", "/in", "--user", "hub")
    return cli(
        "settings", "ftp", "set", "--company", "1", "--branch", "1", *args,
        "--password-stdin", "--protocol", server.protocol, *extra,
        stdin=f"{password}\n",
    )  # fmt: skip


def test_set_show_list_and_test_a_branch_server(
    store: UnitOfWorkFactory,  # noqa: F811
    server: FileServer,
) -> None:
    code, text = ftp_set(server)
    address = f"{server.protocol}://hub@127.0.0.1:{server.port}/in"
    assert (code, text) == (0, f"branch 1/1: {address} (transfer hub)\n")
    code, shown = cli("settings", "ftp", "show", "--company", "1", "--branch", "1", "--json")
    assert code == 0 and json.loads(shown)["protocol"] == server.protocol
    code, listed = cli("settings", "ftp", "list", "--json")
    assert code == 0 and json.loads(listed) == [json.loads(shown)]
    for text in (shown, listed, cli("settings", "ftp", "list")[1]):
        assert PASSWORD not in text and "password" not in text
    code, line = cli("settings", "ftp", "test", "--company", "1", "--branch", "1")
    assert code == 0 and line.startswith("uploaded hub-test-") and line.endswith(f" to {address}\n")
    assert [p.name for p in (server.root / "in").iterdir()] == [line.split()[1]]


def test_a_refused_test_is_one_line_and_exit_1(
    store: UnitOfWorkFactory,  # noqa: F811
    server: FileServer,
) -> None:
    assert ftp_set(server, password="wrong")[0] == 0
    code, text = cli("settings", "ftp", "test", "--company", "1", "--branch", "1")
    assert code == 1 and text.startswith("error: login refused by 127.0.0.1: ")
    assert text.count("\n") == 1 and "wrong" not in text
    closed = closed_port()
    ftp_set(server, "--port", str(closed))  # the later --port wins
    code, text = cli("settings", "ftp", "test", "--company", "1", "--branch", "1")
    assert (code, text) == (1, f"error: cannot connect to 127.0.0.1:{closed}: Connection refused\n")


def test_bad_input_is_refused_in_one_line(store: UnitOfWorkFactory) -> None:  # noqa: F811
    code, text = cli(
        "settings", "ftp", "set", "--company", "1", "--host", "bad host", "--folder", "in",
        "--user", "u", "--password-stdin", "--protocol", "gopher", stdin="pw\n",
    )  # fmt: skip
    assert code == 2 and "Traceback" not in text and text.count("\n") == 1
    for named in ("host 'bad host'", "folder", "protocol 'gopher'"):
        assert named in text
    code, text = cli("settings", "ftp", "set", "--company", "1", "--host", "h", "--folder", "/",
                     "--user", "u", "--protocol", "ftp")  # fmt: skip
    assert (code, text) == (2, "error: a new file server needs a password\n")
    code, text = cli("settings", "ftp", "show", "--company", "7")
    assert (code, text) == (2, "error: no file server for company 7\n")
