"""File-server settings in the store (SQLite and PostgreSQL): a branch's wins over its
company's, the password is sealed and never shown, and bad input is refused with every
problem."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.exc import IntegrityError

from hub.files import servers
from hub.files.tables import FileServerRow
from hub.runtime.uow import Cause, UnitOfWorkFactory
from hub.secrets import SecretBox
from hub.store.db import make_engine, upgrade

BOX = SecretBox.from_key(Fernet.generate_key())
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
COMPANY = servers.Change("1", None, "files.example.org", 21, "/in", "hub", "pw-1", "ftp")


@pytest.fixture
def factory(database_url: str) -> Iterator[UnitOfWorkFactory]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield UnitOfWorkFactory(engine)
    engine.dispose()


def put(f: UnitOfWorkFactory, change: servers.Change, tenant: str = "default") -> None:
    with f(Cause.action(tenant=tenant)) as uow:
        servers.put(uow.session, uow.tenant, change, box=BOX, by="ana", now=NOW)


def test_a_branch_wins_over_its_company_which_serves_the_other_branches(
    factory: UnitOfWorkFactory,
) -> None:
    put(factory, COMPANY)
    put(factory, replace(COMPANY, branch="2", protocol="sftp", port=22, host="b2.example.org"))
    with factory.sessions() as s:
        assert servers.resolve(s, "default", "1", "2").host == "b2.example.org"  # type: ignore[union-attr]
        assert servers.resolve(s, "default", "1", "1").host == "files.example.org"  # type: ignore[union-attr]
        assert servers.resolve(s, "default", "1", None).branch is None  # type: ignore[union-attr]
        assert servers.resolve(s, "default", "2", "1") is None  # the local store
        assert servers.resolve(s, "default", None, None) is None
        assert servers.resolve(s, "acme", "1", "2") is None  # another tenant's
        assert servers.count_for(s, "default", "1", None) == 2
        assert servers.count_for(s, "default", "1", "2") == 1
        assert servers.count_for(s, "default", "1", "3") == 0
        assert servers.count_for(s, "acme", "1", None) == 0
        assert [(r.company, r.branch) for r in servers.listing(s, "default")] == [
            ("1", None),
            ("1", "2"),
        ]


def test_the_password_is_sealed_kept_when_not_given_and_never_shown(
    factory: UnitOfWorkFactory,
) -> None:
    put(factory, COMPANY)
    put(factory, replace(COMPANY, host="new.example.org", password=None))
    with factory.sessions() as s:
        row = servers.get(s, "default", "1", None)
        assert "pw-1" not in row.password_sealed
        assert servers.endpoint(row, BOX).password == "pw-1"
        shown = servers.view(row)
    assert shown["host"] == "new.example.org" and shown["updated_by"] == "ana"
    assert "pw-1" not in str(shown) and not any("password" in k for k in shown)


def test_a_new_setting_needs_a_password_and_bad_fields_are_all_named(
    factory: UnitOfWorkFactory,
) -> None:
    with pytest.raises(servers.InvalidFileServer, match="needs a password"):
        put(factory, replace(COMPANY, password=None))
    bad = servers.Change("1 2", "a/b", "x y", 0, "in", "", "p\nq", "http", "customer")
    with pytest.raises(servers.InvalidFileServer) as refused:
        put(factory, bad)
    for field in (
        "company",
        "branch",
        "host",
        "port",
        "folder",
        "user",
        "password",
        "protocol",
        "transfer",
    ):
        assert f"{field}" in str(refused.value)
    with (
        factory.sessions() as s,
        pytest.raises(servers.FileServerNotFound, match="no file server for branch 1/9"),
    ):
        servers.get(s, "default", "1", "9")


def test_one_setting_per_company_and_per_branch(factory: UnitOfWorkFactory) -> None:
    put(factory, COMPANY)
    for branch in (None, "1"):
        with pytest.raises(IntegrityError), factory(Cause.action(tenant="default")) as uow:
            for _ in range(2):
                uow.session.add(
                    FileServerRow(
                        tenant_id="default",
                        company="2",
                        branch=branch,
                        host="h",
                        port=21,
                        folder="/",
                        username="u",
                        password_sealed="x",
                        protocol="ftp",
                        transfer="hub",
                        updated_by="ana",
                        updated_at=NOW,
                    )
                )
