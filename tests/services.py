"""Real services for the tests: skip on a laptop without them, fail under ``CI=true``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_ADMIN_URL = os.environ.get(
    "HUB_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)
AMQP_HOST = os.environ.get("HUB_TEST_AMQP_HOST", "127.0.0.1")


def answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require(name: str, host: str, port: int) -> None:
    if answers(host, port):
        return
    message = f"{name} does not answer on {host}:{port}"
    if IN_CI:
        pytest.fail(message + " (CI=true: service tests must run)", pytrace=False)
    pytest.skip(message)


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database; dropped afterwards. Yields its SQLAlchemy URL."""
    require("PostgreSQL", "127.0.0.1", 5432)
    import psycopg

    name = "hub_test_" + uuid.uuid4().hex[:12]
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_rabbitmq_vhost() -> Iterator[str]:
    """A new RabbitMQ virtual host for guest; deleted afterwards. Yields its amqp:// URL."""
    require("RabbitMQ", AMQP_HOST, 5672)
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        if IN_CI:
            pytest.fail("rabbitmqctl is needed to create a test vhost", pytrace=False)
        pytest.skip("rabbitmqctl not found")
    vhost = "hub-test-" + uuid.uuid4().hex[:10]
    subprocess.run([ctl, "add_vhost", vhost], check=True, capture_output=True, timeout=60)
    subprocess.run(
        [ctl, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        yield f"amqp://guest:guest@{AMQP_HOST}:5672/{vhost}"
    finally:
        subprocess.run([ctl, "delete_vhost", vhost], capture_output=True, timeout=60)
