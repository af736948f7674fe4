from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import fresh_postgres_database, fresh_rabbitmq_vhost


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hub.sqlite'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each store test runs on the embedded SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.sqlite'}"
    else:
        with fresh_postgres_database() as url:
            yield url


@pytest.fixture
def amqp_url() -> Iterator[str]:
    with fresh_rabbitmq_vhost() as url:
        yield url


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's HUB_* settings or a hub.toml in the working directory."""
    import os

    for name in list(os.environ):
        if name.startswith("HUB_") and not name.startswith("HUB_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "hub-data"))
