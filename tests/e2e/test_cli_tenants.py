"""Every CLI verb, given another tenant (``--tenant acme``) and the default tenant's ids, finds
nothing of the default tenant and changes nothing of it. The verbs are read from the CLI
itself, so a new verb fails this test until it is listed here with its isolation check.

The verbs run in this process (``hub.cli.main``), as the command would run them."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import typer.main

from hub.cli import app, main
from hub.companies import service as companies
from hub.runtime.uow import Cause, UnitOfWorkFactory
from hub.store.db import make_engine
from hub.store.models import DeadLetter
from hub.web.tokens import Tokens
from hub.workflow import service
from tests.support.people import person

#: Verbs that hold no tenant's data, with the reason.
NOT_TENANT_DATA = {
    "version": "prints the hub's version",
    "bench": "runs its own stores",
    "db upgrade": "the store's schema",
    "db current": "the store's schema",
    "run": "the consumers serve every tenant; --tenant names where HUB_WORKFLOW_CONFIG goes",
    "publish": "reads nothing: --tenant only stamps events that name no tenant",
}


def verbs() -> Iterator[str]:
    root = typer.main.get_command(app)
    ctx = click.Context(root)

    def walk(cmd: click.Command, prefix: tuple[str, ...]) -> Iterator[str]:
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None
                yield from walk(sub, (*prefix, name))
        else:
            yield " ".join(prefix)

    yield from walk(root, ())


def cli(*args: str, stdin: str = "") -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.argv, sys.stdin
    sys.argv, sys.stdin = ["hub", *args], io.StringIO(stdin)
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        sys.argv, sys.stdin = old
    return code, out.getvalue() + err.getvalue()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UnitOfWorkFactory]:
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setenv("HUB_BROKER_URL", "memory://cli-tenants")
    assert cli("db", "upgrade")[0] == 0
    engine = make_engine(url)
    yield UnitOfWorkFactory(engine)
    engine.dispose()


def test_every_verb_of_another_tenant_finds_and_changes_nothing_of_ours(
    store: UnitOfWorkFactory, tmp_path: Path
) -> None:
    # Given the default tenant's ticket, dead letter, user and token
    with store(Cause.action(tenant="default")) as uow:
        ours = service.open_ticket_from_agreement_template(
            uow,
            "default",
            parameters={
                "agreement_id": "A-OURS",
                "customer": {"id": "C-1", "name": "Carol"},
                "company": "1",
                "branch": "1",
                "amount": "10.00",
            },
            customer_id="C-1",
            company="1",
            branch="1",
            origin_id="A-OURS",
        ).id
        for event_id in ("E-OURS", "E-OURS-PURGED"):
            uow.session.add(
                DeadLetter(
                    tenant_id="default",
                    consumer="finance-agreements",
                    queue="hub.finance-agreements",
                    event_id=event_id,
                    event_type="finance.agreement.pending",
                    correlation_id="CHAIN-OURS",
                    body=b"{}",
                    headers={},
                    error_type="PermanentError",
                    error_message="ours",
                    first_failed_at=uow.now(),
                    last_failed_at=uow.now(),
                )
            )
    smtp = ("--company", "1", "--host", "ours-smtp.example", "--port", "25")
    assert cli("settings", "smtp", "set", *smtp, "--sender", "ours@example.org")[0] == 0
    with store(Cause.action(tenant="default")) as uow:
        companies.set_company(uow, "ours-co", by="support", name="Ours Co")
        companies.set_branch(uow, "ours-co", "b1", by="support", name="Ours Branch")
    person(store, "only-ours", "user")
    assert cli("portal", "invite", "C-1", "--email", "carol-ours@example.org")[0] == 0
    assert cli("settings", "portal", "set", "--default-attendant", "only-ours")[0] == 0
    Tokens(store).create("ours-token", tenant="default", user="only-ours")
    with store.sessions() as s:
        letter, purged = (str(i) for (i,) in s.query(DeadLetter.id).order_by(DeadLetter.id))
    assert cli("dlq", "purge", purged, "--yes")[0] == 0  # so that our audit has an entry
    ours_ftp = ("--company", "1", "--host", "ours.example.org", "--folder", "/in", "--user", "u")
    ftp_set = ("settings", "ftp", "set", *ours_ftp, "--password-stdin", "--protocol", "sftp")
    assert cli(*ftp_set, stdin="ours-pw\n")[0] == 0
    # and a second tenant, acme
    assert cli("tenants", "create", "acme", "--name", "Acme", "--plan", "starter", "--demo")[0] == 0
    assert cli("users", "import", str(_users_file(tmp_path)), "--tenant", "acme")[0] == 0
    before = _snapshot()
    corrected = tmp_path / "corrected.json"
    corrected.write_text(json.dumps({"specversion": "1.0", "id": "x", "source": "s", "type": "t"}))
    refdata = tmp_path / "refdata.jsonl"
    refdata.write_text(json.dumps(_enrollment()) + "\n")
    demo = str(Path(service.__file__).parents[1] / "demo" / "workflow.yaml")
    t = ("--tenant", "acme")
    theirs_smtp = ("--company", "1", "--host", "theirs.example", "--port", "25", "--sender", "t@x")
    # (arguments, what must not be printed)
    calls: dict[str, tuple[tuple[str, ...], str | None]] = {
        "queues": (("queues", "--interval", "0", *t), None),
        "trace": (("trace", "CHAIN-OURS", "--json", *t), "E-OURS"),
        "dlq list": (("dlq", "list", "--json", "--all", *t), "E-OURS"),
        "dlq show": (("dlq", "show", letter, *t), "E-OURS"),
        "dlq replay": (("dlq", "replay", letter, *t), None),
        "dlq purge": (("dlq", "purge", letter, "--yes", *t), None),
        "dlq edit": (("dlq", "edit", letter, "--file", str(corrected), *t), None),
        "dlq audit": (("dlq", "audit", "--json", *t), "E-OURS"),
        "tokens create": (("tokens", "create", "x", "--user", "only-ours", *t), None),
        "tokens list": (("tokens", "list", "--json", *t), "ours-token"),
        "tokens revoke": (("tokens", "revoke", "ours-token", *t), None),
        "config check": (("config", "check", demo, *t), None),
        "config apply": (("config", "apply", demo, *t), None),
        "tickets list": (("tickets", "list", "--json", *t), ours),
        "tickets show": (("tickets", "show", ours, *t), "A-OURS"),
        "tickets open": (("tickets", "open", "finance.agreement-approval", *t), None),
        "tickets move": (("tickets", "move", ours, "approved", "--by", "ana", *t), None),
        "tickets classify": (
            ("tickets", "classify", ours, "agreement-priority", "--by", "ana", *t),
            None,
        ),
        "tickets comment": (("tickets", "comment", ours, "hi", "--by", "ana", *t), None),
        "tickets cancel": (("tickets", "cancel", ours, "--reason", "x", "--by", "ana", *t), None),
        "tickets delete": (("tickets", "delete", ours, "--reason", "x", "--by", "ana", *t), None),
        "tickets deleted": (("tickets", "deleted", "--json", *t), "A-OURS"),
        "refdata load": (("refdata", "load", str(refdata), *t), None),
        "tenants create": (
            ("tenants", "create", "evil", "--name", "E", "--plan", "freemium", "--by", "zoe"),
            None,
        ),
        "tenants list": (("tenants", "list", "--by", "zoe"), "default"),
        "tenants show": (("tenants", "show", "default", "--by", "zoe"), "only-ours"),
        "users list": (("users", "list", "--json", *t), "only-ours"),
        "users show": (("users", "show", "only-ours", *t), "Only-ours"),
        "users set": (("users", "set", "only-ours", "--department", "x", *t), None),
        "users activate": (("users", "activate", "only-ours", *t), None),
        "users password": (("users", "password", "only-ours", *t), None),
        "users import": (("users", "import", str(_users_file(tmp_path)), *t), None),
        "roles list": (("roles", "list", "--json", *t), "Reader"),
        "roles create": (("roles", "create", "acme-only", "--name", "A", *t), None),
        "roles set": (("roles", "set", "reader", "--name", "Mine", *t), None),
        "settings required set": (("settings", "required", "set", "tickets", "subject", *t), None),
        "settings required show": (("settings", "required", "show", "--json", *t), None),
        "settings ftp show": (("settings", "ftp", "show", "--company", "1", *t), "ours.example"),
        "settings ftp test": (("settings", "ftp", "test", "--company", "1", *t), "ours.example"),
        "settings ftp list": (("settings", "ftp", "list", "--json", *t), "ours.example"),
        "settings ftp set": (  # acme's own company 1
            (*ftp_set[:4], "1", "--host", "acme.example.org", *ftp_set[7:], *t),
            "ours.example",
        ),
        "settings smtp show": (
            ("settings", "smtp", "show", "--company", "1", "--json", *t),
            "ours-smtp",
        ),
        "settings smtp list": (("settings", "smtp", "list", "--json", *t), "ours-smtp"),
        "settings smtp test": (("settings", "smtp", "test", "--company", "1", *t), "ours-smtp"),
        "settings smtp set": (("settings", "smtp", "set", *theirs_smtp, *t), None),
        "companies list": (("companies", "list", "--json", *t), "ours-co"),
        "companies show": (("companies", "show", "ours-co", *t), "Ours Co"),
        "companies set": (("companies", "set", "ours-co", "--tax-id", "1", *t), None),
        "companies duplicate": (("companies", "duplicate", "ours-co", "copy", *t), None),
        "companies delete": (("companies", "delete", "ours-co", *t), None),
        "branches list": (("branches", "list", "--json", *t), "ours-co"),
        "branches show": (("branches", "show", "ours-co", "b1", *t), "Ours Branch"),
        "branches set": (("branches", "set", "ours-co", "b1", "--name", "x", *t), None),
        "branches duplicate": (("branches", "duplicate", "ours-co", "b1", "b2", *t), None),
        "branches delete": (("branches", "delete", "ours-co", "b1", *t), None),
        "scripts tree": (("scripts", "tree", "--user", "only-ours", "--json", *t), None),
        "forms list": (("forms", "list", "--json", *t), None),  # acme's own (the demo's)
        "portal invite": (("portal", "invite", "C-9", "--email", "c9@example.org", *t), None),
        "portal accounts list": (("portal", "accounts", "list", "--json", *t), "carol-ours"),
        "portal accounts disable": (("portal", "accounts", "disable", "C-1", *t), None),
        "portal accounts enable": (("portal", "accounts", "enable", "C-1", *t), None),
        "settings portal show": (("settings", "portal", "show", "--json", *t), "only-ours"),
        "settings portal set": (
            ("settings", "portal", "set", "--default-attendant", "only-ours", *t),
            None,
        ),
    }
    refused = {  # what acme is told, where it names the default tenant's things
        "queues": "only the default tenant's operators",
        "dlq show": f"no dead letter with id {letter}",
        "dlq replay": f"no dead letter with id {letter}",
        "dlq edit": f"no dead letter with id {letter}",
        "tokens create": "has no user 'only-ours'",
        "tokens revoke": "has no token named 'ours-token'",
        "tickets show": f"no ticket '{ours}'",
        "tickets move": f"no ticket '{ours}'",
        "tickets classify": f"no ticket '{ours}'",
        "tickets comment": f"no ticket '{ours}'",
        "tickets cancel": f"no ticket '{ours}'",
        "tickets delete": f"no ticket '{ours}'",
        "tenants create": "zoe may not",
        "tenants list": "zoe may not",
        "tenants show": "zoe may not",
        "users show": "has no user 'only-ours'",
        "users set": "has no user 'only-ours'",
        "users activate": "has no user 'only-ours'",
        "users password": "has no user 'only-ours'",
        "roles set": "has no role 'reader'",
        "settings ftp show": "no file server for company 1",
        "settings ftp test": "no file server for company 1",
        "settings smtp show": "no SMTP setting for company 1",
        "settings smtp test": "no SMTP setting for company 1",
        "companies show": "has no company 'ours-co'",
        "companies set": "a new company needs a name",
        "companies duplicate": "has no company 'ours-co'",
        "companies delete": "has no company 'ours-co'",
        "branches show": "has no company 'ours-co'",
        "branches set": "has no company 'ours-co'",
        "branches duplicate": "has no company 'ours-co'",
        "branches delete": "has no company 'ours-co'",
        "scripts tree": "unknown or inactive user 'only-ours'",
        "portal accounts disable": "no portal account for customer 'C-1'",
        "portal accounts enable": "no portal account for customer 'C-1'",
        "settings portal set": "no active user 'only-ours' in tenant 'acme'",
    }
    listed = set(calls) | set(NOT_TENANT_DATA)
    assert set(verbs()) <= listed, f"verbs without an isolation check: {set(verbs()) - listed}"
    for verb, (args, secret) in calls.items():
        stdin = "a new password 123\n" if verb in {"users password", "settings ftp set"} else ""
        code, text = cli(*args, stdin=stdin)
        assert "Traceback" not in text, (verb, text)
        if secret is not None:
            assert secret not in text, (verb, text)
        if verb in refused:
            assert code == 2 and refused[verb] in text, (verb, code, text)
    # Then the default tenant is as it was
    assert _snapshot() == before


def _snapshot() -> Any:
    tickets = json.loads(cli("tickets", "list", "--json")[1])
    shown = [json.loads(cli("tickets", "show", t["id"], "--json")[1]) for t in tickets]
    letters = json.loads(cli("dlq", "list", "--json", "--all")[1])
    audit = json.loads(cli("dlq", "audit", "--json")[1])
    assert audit, "our audit has an entry"
    users = json.loads(cli("users", "list", "--json")[1])
    roles = json.loads(cli("roles", "list", "--json")[1])
    tokens = json.loads(cli("tokens", "list", "--json")[1])
    required = json.loads(cli("settings", "required", "show", "--json")[1])
    servers = json.loads(cli("settings", "ftp", "list", "--json")[1])
    assert servers, "our file server is listed"
    smtp = json.loads(cli("settings", "smtp", "list", "--json")[1])
    companies_ = json.loads(cli("companies", "list", "--json")[1])
    assert "ours-co" in {c["id"] for c in companies_}
    portal = json.loads(cli("portal", "accounts", "list", "--json")[1])
    assert [a["customer_id"] for a in portal] == ["C-1"]
    portal_settings = json.loads(cli("settings", "portal", "show", "--json")[1])
    assert portal_settings["default_attendant"] == "only-ours"
    return (
        (shown, letters, audit, users, roles, tokens, required, servers, smtp, companies_),
        (portal, portal_settings),
    )


def _users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.jsonl"
    record = {
        "user_id": "zoe",
        "name": "Zoe",
        "email": "zoe@example.org",
        "active": True,
        "version": 1,
    }
    path.write_text(json.dumps(record) + "\n")
    return path


def _enrollment() -> dict[str, Any]:
    return {
        "kind": "enrollment",
        "ra": "RA-1",
        "company": "1",
        "academic_period": "2026-2",
        "contract_id": "CT-1",
        "contract_status": "active",
        "version": 1,
    }
