"""SMTP settings against a real SMTP server on loopback that requires STARTTLS (or TLS from the
first byte) on a self-signed certificate and authentication: the test e-mail arrives, and each
failure (wrong password, closed port, TLS refused, an untrusted certificate) is one line.
Which setting sends a company's or branch's mail, the delay, and passwords at rest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.errors import ConfigurationError
from hub.mail import service
from hub.mail.outbox import MAIL_KIND, MAIL_SCOPE, OutgoingMail, SmtpDeliverer, queue_mail
from hub.mail.servers import MailServers, NoMailServer, SmtpSetting, check_scope, count_for
from hub.mail.tables import MailServerRow
from hub.runtime.relay import OutboxRelay
from hub.runtime.transports.memory import MemoryTransport
from hub.runtime.uow import Cause, UnitOfWorkFactory
from hub.secrets import SecretBox
from hub.settings import Settings
from hub.store.db import make_engine, upgrade
from hub.store.models import OutboxMessage
from tests.support.education import Mailbox, free_port, smtp_server
from tests.support.mail import PASSWORD, USER, secure_smtp_server, self_signed

BOX = SecretBox.from_key("9YhQ8R1dG5X0b3H2qgk6bVJ2m0sN8o1cW4l7pTzXy0E=")


@pytest.fixture
def store(sqlite_url: str) -> Iterator[UnitOfWorkFactory]:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    yield UnitOfWorkFactory(engine)
    engine.dispose()


@pytest.fixture
def cert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A self-signed certificate the hub trusts (``SSL_CERT_FILE``)."""
    made = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(made[0]))
    return made


def put(
    store: UnitOfWorkFactory,
    company: str,
    branch: str | None = None,
    *,
    password: str | None = None,
    tenant: str = "default",
    **values: object,
) -> dict[str, object]:
    setting = SmtpSetting.of(
        company=company,
        branch=branch,
        **{"host": "127.0.0.1", "port": 25, "sender": "hub@example.org", **values},
    )
    with store(Cause.action(tenant=tenant)) as uow:
        return service.set_server(uow, setting, password=password, box=BOX, by="support")


def try_test(store: UnitOfWorkFactory, company: str, branch: str | None = None) -> tuple[bool, str]:
    result = service.send_test_mail(store, "default", company, branch, box=BOX, timeout=5)
    assert "\n" not in result.line
    return result.ok, result.line


@pytest.mark.timeout(30)
def test_the_test_email_goes_through_starttls_and_authentication(
    store: UnitOfWorkFactory, cert: tuple[Path, Path]
) -> None:
    port = free_port()
    put(
        store,
        "1",
        "1",
        port=port,
        secure="starttls",
        username=USER,
        password=PASSWORD,
        sender="secretaria@example.edu",
        sender_name="Secretaria",
    )
    with secure_smtp_server(port, Mailbox(), cert) as mailbox:
        ok, line = try_test(store, "1", "1")
    assert ok, line
    assert line == f"test e-mail sent to secretaria@example.edu through 127.0.0.1:{port}"
    [msg] = mailbox.messages
    assert str(msg["To"]) == "secretaria@example.edu"
    assert str(msg["From"]) == "Secretaria <secretaria@example.edu>"
    assert "branch 1/1" in str(msg["Subject"])
    assert msg["Date"] and msg["Message-ID"]


@pytest.mark.timeout(30)
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_tls_from_the_first_byte(store: UnitOfWorkFactory, cert: tuple[Path, Path]) -> None:
    port = free_port()
    put(store, "1", port=port, secure="ssl", username=USER, password=PASSWORD)
    with secure_smtp_server(port, Mailbox(), cert, implicit_tls=True) as mailbox:
        ok, line = try_test(store, "1")
        assert ok, line
    assert len(mailbox.messages) == 1


@pytest.mark.timeout(60)
def test_each_failure_is_one_line_with_the_reason(
    store: UnitOfWorkFactory, cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, plain_port, closed = free_port(), free_port(), free_port()
    put(store, "1", "wrong", port=port, secure="starttls", username=USER, password="wrong")
    put(store, "1", "notls", port=plain_port, secure="starttls")
    put(store, "1", "ssl", port=plain_port, secure="ssl")
    put(store, "1", "closed", port=closed)
    put(store, "1", "nopass", port=port, secure="starttls")
    with (
        secure_smtp_server(port, Mailbox(), cert) as mailbox,
        smtp_server(plain_port, Mailbox()),
    ):
        assert try_test(store, "1", "wrong") == (
            False,
            f"127.0.0.1:{port} answered: 535 5.7.8 Authentication credentials invalid",
        )
        assert try_test(store, "1", "notls") == (
            False,
            f"127.0.0.1:{plain_port}: TLS refused, the server does not offer STARTTLS",
        )
        ok, line = try_test(store, "1", "ssl")
        assert not ok and line.startswith(f"127.0.0.1:{plain_port}: TLS refused ("), line
        assert try_test(store, "1", "closed") == (
            False,
            f"cannot connect to 127.0.0.1:{closed}: Connection refused",
        )
        ok, line = try_test(store, "1", "nopass")
        assert not ok and line.startswith(f"127.0.0.1:{port} answered: 530"), line
        # a server whose certificate the hub does not trust
        monkeypatch.delenv("SSL_CERT_FILE")
        monkeypatch.setenv("SSL_CERT_DIR", str(cert[0].parent / "none"))
        put(store, "1", "untrusted", port=port, secure="starttls", username=USER, password=PASSWORD)
        ok, line = try_test(store, "1", "untrusted")
        assert not ok and "TLS refused, the certificate is not trusted" in line, line
    assert mailbox.messages == []


def test_passwords_are_sealed_at_rest_and_never_shown(store: UnitOfWorkFactory) -> None:
    shown = put(store, "1", username=USER, password=PASSWORD)
    assert shown["password"] == "set" and PASSWORD not in repr(shown)
    with store.sessions() as s:
        row = s.scalars(select(MailServerRow)).one()
        assert row.password_sealed and PASSWORD not in row.password_sealed
        assert BOX.open(row.password_sealed) == PASSWORD
    # the same user again without a password keeps it; another user, or none, drops it
    assert put(store, "1", username=USER)["password"] == "set"
    assert put(store, "1", username="other")["password"] == "not set"
    put(store, "1", username=USER, password=PASSWORD)
    assert put(store, "1")["password"] == "not set"
    with store(Cause.action(tenant="default")) as uow:
        listed = service.list_servers(uow)
    assert PASSWORD not in repr(listed)


def test_bad_settings_are_refused_naming_the_field() -> None:
    with pytest.raises(
        ConfigurationError, match="port: Input should be less than or equal to 65535"
    ):
        SmtpSetting.of(company="1", host="h", port=70000, sender="a@b")
    with pytest.raises(ConfigurationError, match="sender: String should match"):
        SmtpSetting.of(company="1", host="h", port=25, sender="not an address")
    with pytest.raises(
        ConfigurationError, match="secure: Input should be 'none', 'ssl' or 'starttls'"
    ):
        SmtpSetting.of(company="1", host="h", port=25, sender="a@b", secure="tls")
    with pytest.raises(ConfigurationError, match="delay_seconds"):
        SmtpSetting.of(company="1", host="h", port=25, sender="a@b", delay_seconds=-1)
    with pytest.raises(ConfigurationError, match="company: String should match"):
        SmtpSetting.of(company="1/2", host="h", port=25, sender="a@b")
    with pytest.raises(ConfigurationError, match="branch: expected a code"):
        check_scope("1", "x" * 101)


def test_the_branch_then_the_company_then_the_primary_server_send(
    store: UnitOfWorkFactory,
) -> None:
    def chosen(company: str | None, branch: str | None) -> str | None:
        with store.sessions() as s:
            found = MailServers(s, "default").resolve(company, branch)
            return found.host if found is not None else None

    assert chosen("1", "1") is None
    put(store, "9", host="primary.example", primary=True)
    assert chosen("1", "1") == "primary.example"
    assert chosen(None, None) == "primary.example"
    put(store, "1", host="company.example")
    assert (chosen("1", "1"), chosen("1", "2")) == ("company.example", "company.example")
    put(store, "1", "1", host="branch.example")
    assert (chosen("1", "1"), chosen("1", "2")) == ("branch.example", "company.example")
    assert chosen("2", "1") == "primary.example"
    # one primary server per tenant; another tenant's settings are not ours
    put(store, "2", host="second.example", primary=True)
    assert chosen("3", None) == "second.example"
    put(store, "1", host="theirs.example", tenant="acme")
    with store.sessions() as s:
        assert [r.company for r in MailServers(s, "default").all() if r.is_primary] == ["2"]
        assert MailServers(s, "acme").resolve("5", None) is None
        assert (count_for(s, "default", "1"), count_for(s, "default", "1", "1")) == (2, 1)
        assert count_for(s, "acme", "1") == 1 and count_for(s, "default", "7") == 0


def test_mail_waits_for_its_servers_delay_and_the_deliverer_falls_back_to_the_url(
    store: UnitOfWorkFactory, tmp_path: Path
) -> None:
    put(store, "1", "1", host="branch.example", delay_seconds=120)
    mail = OutgoingMail("ana@example.com", "S", "s", "t")
    with store(Cause.action("a-1", tenant="default")) as uow:
        queue_mail(uow, mail, about="T-1", company="1", branch="1")
        queue_mail(uow, mail, about="T-2", company="2", branch="1")
    with store.sessions() as s:
        delayed, at_once = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    assert delayed.available_at - delayed.created_at == timedelta(seconds=120)
    assert at_once.available_at == at_once.created_at
    assert at_once.headers[MAIL_SCOPE] == {"company": "2", "branch": "1"}
    settings = Settings(data_dir=tmp_path, smtp_url="smtp://fallback.example:2525")
    deliverer = SmtpDeliverer(store, settings)
    deliverer.box = BOX
    assert deliverer.server_for(delayed).host == "branch.example"
    assert deliverer.server_for(at_once).address == "fallback.example:2525"
    without = SmtpDeliverer(store, Settings(data_dir=tmp_path))
    with pytest.raises(NoMailServer, match="no SMTP server for branch 2/1 and no HUB_SMTP_URL"):
        without.server_for(at_once)


@pytest.mark.timeout(30)
def test_a_failing_server_holds_up_only_the_mail_it_sends(
    store: UnitOfWorkFactory, tmp_path: Path
) -> None:
    good, closed = free_port(), free_port()
    put(store, "1", port=closed)
    put(store, "2", port=good)
    with store(Cause.action("a-3", tenant="default")) as uow:
        for n, company in enumerate(["1", "1", "2"]):
            mail = OutgoingMail(f"s{n}@example.com", "S", "s", "t")
            queue_mail(uow, mail, about=f"T-{n}", company=company)
    deliverer = SmtpDeliverer(store, Settings(data_dir=tmp_path), retry_base=30, timeout=5)
    deliverer.box = BOX
    relay = OutboxRelay(store, MemoryTransport(), deliverers={MAIL_KIND: deliverer})
    # When company 1's server is down and company 2's is up
    with smtp_server(good, Mailbox()) as mailbox:
        assert relay.run_once() == 1
    # Then company 2's mail went out; of company 1's, one was tried and the other waits for it
    assert [str(m["To"]) for m in mailbox.messages] == ["s2@example.com"]
    with store.sessions() as s:
        rows = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [(r.publish_attempts, r.sent_at is not None) for r in rows] == [
        (1, False),
        (0, False),
        (0, True),
    ]
    assert "Connection refused" in (rows[0].last_error or "")
