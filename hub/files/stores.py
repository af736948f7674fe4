"""Attachment stores on a customer's file server: FTP (``ftplib``) and SFTP (``asyncssh``),
and the test upload of ``hub settings ftp test``.

Keys are paths under the endpoint's folder, which must exist; the folders below it are made as
needed. A put writes a temporary name and renames it, so a key never holds part of a file.
Every failure becomes a one-line ``FileServerFailed`` (``FileNotFoundError`` for a key that is
not there), with the server's own answer where it gave one.
"""

from __future__ import annotations

import asyncio
import ftplib
import io
import os
import posixpath
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from hub.files.servers import Endpoint, FileServerFailed
from hub.workflow.attachments import CHUNK, AttachmentStore

if TYPE_CHECKING:
    import asyncssh

TIMEOUT = 15.0


def store_for(endpoint: Endpoint) -> AttachmentStore:
    return (
        SftpAttachmentStore(endpoint)
        if endpoint.protocol == "sftp"
        else FtpAttachmentStore(endpoint)
    )


def upload_test_file(endpoint: Endpoint, now: datetime | None = None) -> str:
    """Upload a small text file into the endpoint's folder; the line that says so, or
    ``FileServerFailed``."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    name = f"hub-test-{stamp}.txt"
    body = f"A test upload of the integration hub, {stamp}.\n".encode()
    store_for(endpoint).put(name, io.BytesIO(body))
    return f"uploaded {name} to {endpoint.address}"


def _path(endpoint: Endpoint, key: str) -> str:
    path = posixpath.normpath(posixpath.join(endpoint.folder, key))
    if not path.startswith(endpoint.folder.rstrip("/") + "/"):
        raise ValueError(f"attachment key escapes the folder: {key!r}")
    return path


def _unreachable(endpoint: Endpoint, error: OSError) -> FileServerFailed:
    if isinstance(error, TimeoutError):
        why = f"no answer within {TIMEOUT:g} s"
    elif isinstance(error, socket.gaierror):
        why = error.strerror or "unknown host"
    elif error.errno:
        why = os.strerror(error.errno)
    else:
        why = str(error) or type(error).__name__
    return FileServerFailed(f"cannot connect to {endpoint.host}:{endpoint.port}: {why}")


# --- FTP ------------------------------------------------------------------------------------


class FtpAttachmentStore:
    """Files on an FTP server, in binary mode, passive."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    def _connect(self) -> ftplib.FTP:
        e = self.endpoint
        ftp = ftplib.FTP(timeout=TIMEOUT, encoding="utf-8")
        try:
            ftp.connect(e.host, e.port)
        except OSError as error:
            raise _unreachable(e, error) from None
        try:
            ftp.login(e.username, e.password)
        except ftplib.Error as error:
            ftp.close()
            raise FileServerFailed(f"login refused by {e.host}: {_answer(error)}") from None
        try:
            ftp.cwd(e.folder)
        except ftplib.Error as error:
            ftp.close()
            raise FileServerFailed(f"folder {e.folder}: {_answer(error)}") from None
        return ftp

    def put(self, key: str, source: BinaryIO) -> None:
        path = _path(self.endpoint, key)
        ftp = self._connect()
        try:
            if _ftp_exists(ftp, path):
                return
            _ftp_makedirs(ftp, self.endpoint.folder, posixpath.dirname(path))
            temporary = f"{path}.{uuid.uuid4().hex}.part"
            ftp.storbinary(f"STOR {temporary}", source, CHUNK)
            ftp.rename(temporary, path)
        except ftplib.Error as error:
            raise FileServerFailed(f"cannot write {path}: {_answer(error)}") from None
        except OSError as error:
            raise _unreachable(self.endpoint, error) from None
        finally:
            _quit(ftp)

    def get(self, key: str) -> Iterator[bytes]:
        path = _path(self.endpoint, key)
        ftp = self._connect()
        try:
            ftp.voidcmd("TYPE I")
            conn = ftp.transfercmd(f"RETR {path}")
        except ftplib.error_perm:
            _quit(ftp)
            raise FileNotFoundError(path) from None
        except (ftplib.Error, OSError) as error:
            _quit(ftp)
            raise FileServerFailed(f"cannot read {path}: {error}") from None
        return _ftp_chunks(ftp, conn)


def _ftp_chunks(ftp: ftplib.FTP, conn: socket.socket) -> Iterator[bytes]:
    try:
        with conn:
            while chunk := conn.recv(CHUNK):
                yield chunk
        ftp.voidresp()
    finally:
        _quit(ftp)


def _ftp_exists(ftp: ftplib.FTP, path: str) -> bool:
    try:
        ftp.voidcmd("TYPE I")
        return ftp.size(path) is not None
    except ftplib.error_perm:
        return False


def _ftp_makedirs(ftp: ftplib.FTP, folder: str, path: str) -> None:
    parts = posixpath.relpath(path, folder).split("/")
    current = folder
    for part in parts if parts != ["."] else []:
        current = posixpath.join(current, part)
        try:
            ftp.mkd(current)
        except ftplib.error_perm:
            pass  # there already (a missing permission shows at STOR)


def _answer(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _quit(ftp: ftplib.FTP) -> None:
    try:
        ftp.quit()
    except (ftplib.Error, OSError, EOFError):
        ftp.close()


# --- SFTP -----------------------------------------------------------------------------------


class SftpAttachmentStore:
    """Files on an SFTP server, with password authentication. The server's host key is not
    checked against a known one (the setting has none to check it with)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    @asynccontextmanager
    async def _sftp(self) -> AsyncIterator[asyncssh.SFTPClient]:
        asyncssh = _asyncssh()
        e = self.endpoint
        try:
            conn = await asyncio.wait_for(
                asyncssh.connect(
                    e.host,
                    e.port,
                    username=e.username,
                    password=e.password,
                    known_hosts=None,
                    client_keys=None,
                    agent_path=None,
                    preferred_auth="password,keyboard-interactive",
                ),
                TIMEOUT,
            )
        except asyncssh.PermissionDenied as error:
            raise FileServerFailed(f"login refused by {e.host}: {_answer(error)}") from None
        except (OSError, asyncssh.Error, TimeoutError) as error:
            if isinstance(error, OSError):
                raise _unreachable(e, error) from None
            raise FileServerFailed(f"{e.host}:{e.port}: {_answer(error)}") from None
        try:
            async with conn, conn.start_sftp_client() as sftp:
                if not await sftp.isdir(e.folder):
                    raise FileServerFailed(f"folder {e.folder}: no such folder")
                yield sftp
        except asyncssh.SFTPError as error:
            raise FileServerFailed(f"{e.address}: {_answer(error)}") from None

    def put(self, key: str, source: BinaryIO) -> None:
        path = _path(self.endpoint, key)
        asyncio.run(self._put(path, source))

    async def _put(self, path: str, source: BinaryIO) -> None:
        asyncssh = _asyncssh()
        async with self._sftp() as sftp:
            try:
                if await sftp.exists(path):
                    return
                await sftp.makedirs(posixpath.dirname(path), exist_ok=True)
                temporary = f"{path}.{uuid.uuid4().hex}.part"
                async with sftp.open(temporary, "wb") as f:
                    while chunk := source.read(CHUNK):
                        await f.write(chunk)
                await sftp.rename(temporary, path)
            except asyncssh.SFTPError as error:
                raise FileServerFailed(f"cannot write {path}: {_answer(error)}") from None

    def get(self, key: str) -> Iterator[bytes]:
        path = _path(self.endpoint, key)
        loop = asyncio.new_event_loop()
        opened = self._sftp()
        try:
            sftp = loop.run_until_complete(opened.__aenter__())
            try:
                f = loop.run_until_complete(sftp.open(path, "rb"))
            except _asyncssh().SFTPNoSuchFile:
                raise FileNotFoundError(path) from None
        except BaseException as error:
            loop.run_until_complete(opened.__aexit__(type(error), error, None))
            loop.close()
            raise
        return _sftp_chunks(loop, opened, f)


def _asyncssh() -> Any:
    """asyncssh, imported when an SFTP server is first used: it costs a quarter of a second,
    which every ``hub`` command would otherwise pay."""
    import asyncssh

    return asyncssh


def _sftp_chunks(loop: asyncio.AbstractEventLoop, opened: Any, f: Any) -> Iterator[bytes]:
    """Read ``f`` one chunk at a time on ``loop`` (each ``next`` may come from another
    thread: a streaming response reads in the thread pool), then close all."""
    try:
        while chunk := loop.run_until_complete(f.read(CHUNK)):
            yield chunk
    finally:
        loop.run_until_complete(f.close())
        loop.run_until_complete(opened.__aexit__(None, None, None))
        loop.close()
