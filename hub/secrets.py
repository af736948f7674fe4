"""Secrets at rest: the passwords of mail and file servers, encrypted with Fernet.

The key is ``HUB_SECRET_KEY`` (``Fernet.generate_key()``'s url-safe base64). Without it the hub
generates one into ``<data_dir>/secret.key`` (mode 0600) the first time it needs one, which
suits the embedded tier; a deployment with several processes or hosts sets the same
``HUB_SECRET_KEY`` on all of them. A sealed value names no key: losing the key loses the
passwords (they are set again with ``--password-stdin``), never anything else.

Sealed values are write-only to users: no command, endpoint or page returns one, sealed or
open; only the code that talks to the server opens it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken

from hub.errors import ConfigurationError

if TYPE_CHECKING:
    from hub.settings import Settings

KEY_FILE = "secret.key"


@dataclass(frozen=True)
class SecretBox:
    """Seals and opens short secrets with one Fernet key."""

    fernet: Fernet

    @classmethod
    def from_key(cls, key: str | bytes) -> SecretBox:
        try:
            return cls(Fernet(key))
        except (ValueError, TypeError):
            raise ConfigurationError(
                "HUB_SECRET_KEY: expected a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None

    @classmethod
    def for_settings(cls, settings: Settings) -> SecretBox:
        """The box of ``HUB_SECRET_KEY``, else of the key file in the data dir (created on
        first use)."""
        if settings.secret_key is not None:
            return cls.from_key(settings.secret_key.get_secret_value())
        return cls.from_key(_key_file(settings.data_dir))

    def seal(self, plain: str) -> str:
        return self.fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        """The plain text; raises ``ConfigurationError`` when ``sealed`` was made with
        another key (or is not a sealed value)."""
        try:
            return self.fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise ConfigurationError(
                "a stored password cannot be read with this HUB_SECRET_KEY: set it again"
            ) from None


def _key_file(data_dir: Path) -> bytes:
    path = data_dir / KEY_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key
