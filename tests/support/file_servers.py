"""Real file servers on loopback, in the test process: pyftpdlib for FTP and asyncssh's own
server for SFTP (with a host key made for the test). Each serves a fresh folder tree with the
users ``hub`` (password ``secret``, may write) and ``reader`` (``secret``, may only read).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import asyncssh
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import ThreadedFTPServer

from hub.files.servers import Endpoint

PASSWORD = "secret"


@dataclass(frozen=True)
class FileServer:
    protocol: str
    port: int
    root: Path  # what the server shows as "/"

    def endpoint(
        self, folder: str = "/in", user: str = "hub", password: str = PASSWORD
    ) -> Endpoint:
        return Endpoint(self.protocol, "127.0.0.1", self.port, folder, user, password)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def ftp_server(root: Path) -> Iterator[FileServer]:
    (root / "in").mkdir(parents=True, exist_ok=True)
    authorizer = DummyAuthorizer()
    authorizer.add_user("hub", PASSWORD, str(root), perm="elradfmwMT")
    authorizer.add_user("reader", PASSWORD, str(root), perm="elr")
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer, "banner": "test ftp"})
    server = ThreadedFTPServer(("127.0.0.1", 0), handler)
    stop = threading.Event()

    def serve() -> None:  # stopped and closed in its own thread, as pyftpdlib requires
        while not stop.is_set():
            server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)
        server.close_all()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield FileServer("ftp", server.address[1], root)
    finally:
        stop.set()
        thread.join(5)


class _SshServer(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username in {"hub", "reader"} and password == PASSWORD


class _Sftp(asyncssh.SFTPServer):
    """Chrooted to the test's folder; ``reader`` may not write."""

    def __init__(self, chan: Any, root: Path) -> None:
        super().__init__(chan, chroot=str(root).encode())
        self.user = chan.get_extra_info("username")

    def open(self, path: bytes, pflags: int, attrs: Any) -> Any:
        if self.user == "reader" and pflags & asyncssh.FXF_WRITE:
            raise asyncssh.SFTPPermissionDenied("read-only user")
        return super().open(path, pflags, attrs)


@contextmanager
def sftp_server(root: Path) -> Iterator[FileServer]:
    (root / "in").mkdir(parents=True, exist_ok=True)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> Any:
        return await asyncssh.listen(
            "127.0.0.1",
            0,
            server_factory=_SshServer,
            server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")],
            sftp_factory=partial(_Sftp, root=root),
        )

    server = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield FileServer("sftp", server.sockets[0].getsockname()[1], root)
    finally:

        async def stop() -> None:
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


@contextmanager
def file_server(protocol: str, root: Path) -> Iterator[FileServer]:
    with (sftp_server if protocol == "sftp" else ftp_server)(root) as server:
        yield server
