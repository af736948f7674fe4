"""The CLI as a user runs it: a separate process, from a fresh working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import hub

HUB = [sys.executable, "-m", "hub"]


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*HUB, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=60
    )


def test_help_lists_the_verbs(tmp_path: Path) -> None:
    out = run("--help", cwd=tmp_path)
    assert out.returncode == 0
    for verb in ("version", "db"):
        assert verb in out.stdout


def test_version(tmp_path: Path) -> None:
    out = run("version", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == hub.__version__


def test_db_upgrade_creates_the_default_sqlite_file(tmp_path: Path) -> None:
    out = run("db", "upgrade", cwd=tmp_path, env={"HUB_DATA_DIR": str(tmp_path / "data")})
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "data" / "hub.sqlite").is_file()
    assert "revision" in out.stdout


def test_a_bad_setting_is_one_line_naming_it_not_a_traceback(tmp_path: Path) -> None:
    out = run("db", "upgrade", cwd=tmp_path, env={"HUB_HTTP_PORT": "eighty"})
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "HUB_HTTP_PORT" in lines[0]


def test_an_unknown_verb_is_refused_without_a_traceback(tmp_path: Path) -> None:
    out = run("frobnicate", cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr


def test_an_unreachable_database_is_one_line_naming_it_without_its_password(
    tmp_path: Path,
) -> None:
    url = "postgresql+psycopg://hub:s3cret@127.0.0.1:1/hub"
    for verb in (["db", "upgrade"], ["tickets", "list"], ["dlq", "list"]):
        out = run(*verb, cwd=tmp_path, env={"HUB_DATABASE_URL": url})
        assert out.returncode == 2, (verb, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in out.stderr, lines
        assert lines[0].startswith(
            "error: the database at postgresql+psycopg://hub:***@127.0.0.1:1/hub cannot be "
            "reached: "
        ), lines
        assert "s3cret" not in out.stderr
