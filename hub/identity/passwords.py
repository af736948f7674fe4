"""Password hashes: argon2id (argon2-cffi's defaults), never the password itself."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from hub.errors import HubError

MIN_LENGTH = 10
MAX_LENGTH = 1024
_HASHER = PasswordHasher()


class WeakPassword(HubError):
    """The password is refused (too short or too long)."""


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``; raises ``WeakPassword``."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password has at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password has at most {MAX_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; ``False`` without a stored hash. Always does the
    hashing work, so a missing user takes as long as a wrong password."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(stored or _dummy(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _HASHER.check_needs_rehash(stored)


@cache
def _dummy() -> str:
    """A hash no password matches, made on first use (a quarter of a second of hashing that
    every ``hub`` command would otherwise pay at start)."""
    return _HASHER.hash("not a password of anyone")
