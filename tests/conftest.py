from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.services import fresh_postgres_database, fresh_rabbitmq_vhost
from tests.support.kafka import mock_kafka_cluster


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


@contextmanager
def _tier(kind: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    if kind == "memory":
        yield {
            "broker_url": f"memory://{uuid.uuid4().hex}",
            "database_url": f"sqlite:///{tmp_path / 'hub.sqlite'}",
        }
    elif kind == "embedded":
        yield {
            "broker_url": f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}?lease=3",
            "database_url": f"sqlite:///{tmp_path / 'hub.sqlite'}",
        }
    elif kind == "kafka":
        with mock_kafka_cluster() as kafka:
            yield {"broker_url": kafka, "database_url": f"sqlite:///{tmp_path / 'hub.sqlite'}"}
    else:
        with fresh_rabbitmq_vhost() as amqp, fresh_postgres_database() as pg:
            yield {"broker_url": amqp, "database_url": pg}


@pytest.fixture(params=["memory", "embedded", "production", "kafka"])
def tier(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Broker and database URLs of one deployment tier: the in-memory fake on SQLite, the
    embedded default (SQLite broker + SQLite store), production (RabbitMQ + PostgreSQL),
    Kafka (librdkafka's mock cluster in the test process + SQLite)."""
    with _tier(request.param, tmp_path) as urls:
        yield urls


@pytest.fixture(params=["embedded", "production", "kafka"])
def process_tier(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The tiers whose broker outlives a process (for tests that run ``hub`` as a process)."""
    with _tier(request.param, tmp_path) as urls:
        yield urls
