"""Passwords at rest: sealed with the configured key, or a key generated once into the data dir."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hub.errors import ConfigurationError
from hub.secrets import KEY_FILE, SecretBox
from hub.settings import load_settings


def test_a_generated_key_is_kept_private_and_reused(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    sealed = SecretBox.for_settings(settings).seal("s3nha")
    assert "s3nha" not in sealed
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert SecretBox.for_settings(load_settings(data_dir=tmp_path)).open(sealed) == "s3nha"


def test_the_configured_key_wins_and_another_key_cannot_open(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    box = SecretBox.for_settings(load_settings(data_dir=tmp_path, secret_key=key))
    assert not (tmp_path / KEY_FILE).exists()
    sealed = box.seal("senha")
    other = SecretBox.from_key(Fernet.generate_key())
    with pytest.raises(ConfigurationError, match="set it again"):
        other.open(sealed)


def test_a_malformed_key_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigurationError, match="HUB_SECRET_KEY"):
        SecretBox.from_key("not-a-key")
