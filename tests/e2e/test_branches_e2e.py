"""A branch's own servers as a user sets them up, on the embedded default and on RabbitMQ +
PostgreSQL: companies loaded from a file, SMTP (authentication and STARTTLS) and SFTP set for
branch 1/1 from the CLI, the test e-mail, a student's request mailed through that server, an
attachment landing in the SFTP folder, and company 1 kept while its ticket exists."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import _tier
from tests.support.education import Mailbox, enrollment, free_port, request
from tests.support.file_servers import PASSWORD as SFTP_PASSWORD
from tests.support.file_servers import sftp_server
from tests.support.harness import wait_until
from tests.support.mail import PASSWORD, USER, secure_smtp_server, self_signed
from tests.support.process import hub_env, run_cli, start_hub, stop
from tests.web.browser import console_url

COMPANIES = [
    {"kind": "company", "company": "1", "name": "Demo University", "tax_id": "1", "version": 1},
    {
        "kind": "branch",
        "company": "1",
        "branch": "1",
        "name": "Main campus",
        "headquarters": True,
        "version": 1,
    },
]


@pytest.fixture(params=["embedded", "production"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    cert, _ = self_signed(tmp_path)
    with _tier(request.param, tmp_path) as urls:
        env = hub_env(urls, HUB_DATA_DIR=str(tmp_path / "data"), SSL_CERT_FILE=str(cert))
        assert run_cli(env, "db", "upgrade").returncode == 0
        yield env, cert


def ok(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    out = run_cli(env, *args, stdin=stdin)
    assert out.returncode == 0, (args, out.stdout, out.stderr)
    return out.stdout


def smtp_set(env: dict[str, str], port: int, password: str) -> None:
    ok(
        env,
        *("settings", "smtp", "set", "--company", "1", "--branch", "1", "--host", "127.0.0.1"),
        *("--port", str(port), "--sender", "secretaria@example.edu", "--user", USER),
        *("--password-stdin", "--secure", "starttls"),
        stdin=password + "\n",
    )


@pytest.mark.timeout(180)
def test_a_branchs_own_mail_and_file_servers_carry_its_tickets_mail_and_attachments(
    site: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, cert = site
    loaded = tmp_path / "companies.jsonl"
    loaded.write_text("".join(json.dumps(r) + "\n" for r in COMPANIES))
    ok(env, "refdata", "load", str(loaded))
    shown = json.loads(ok(env, "companies", "show", "1", "--json"))
    assert shown["name"] == "Demo University"
    assert [b["id"] for b in shown["branches"]] == ["1"]

    port = free_port()
    with (
        secure_smtp_server(port, Mailbox(), (cert, cert.parent / "smtp-key.pem")) as mailbox,
        sftp_server(tmp_path / "sftp") as sftp,
    ):
        # a wrong password: the server's answer in one line, nothing else
        smtp_set(env, port, "wrong")
        refused = run_cli(env, "settings", "smtp", "test", "--company", "1", "--branch", "1")
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == [
            f"error: 127.0.0.1:{port} answered: 535 5.7.8 Authentication credentials invalid"
        ]
        smtp_set(env, port, PASSWORD)
        assert PASSWORD not in ok(
            env, "settings", "smtp", "show", "--company", "1", "--branch", "1", "--json"
        )
        ok(env, "settings", "smtp", "test", "--company", "1", "--branch", "1")
        wait_until(lambda: len(mailbox.messages) == 1, what="the test e-mail")
        assert str(mailbox.messages[0]["To"]) == "secretaria@example.edu"

        ok(
            env,
            *("settings", "ftp", "set", "--company", "1", "--branch", "1", "--host", "127.0.0.1"),
            *("--port", str(sftp.port), "--folder", "/in", "--user", "hub"),
            *("--password-stdin", "--protocol", "sftp"),
            stdin=SFTP_PASSWORD + "\n",
        )
        ok(env, "settings", "ftp", "test", "--company", "1", "--branch", "1")

        token = ok(env, "tokens", "create", "desk", "--user", "support").strip().split()[-1]
        log = tmp_path / "hub.log"
        hub = start_hub(env, log)
        try:
            api = httpx.Client(
                base_url=console_url(log), headers={"Authorization": f"Bearer {token}"}
            )
            events = tmp_path / "events.json"
            events.write_text(json.dumps([enrollment(), request("R-BRANCH-1")]))
            ok(env, "publish", str(events))
            wait_until(lambda: len(mailbox.messages) == 2, timeout=60, what="the request's mail")
            mail = mailbox.messages[1]
            assert str(mail["To"]) == "joao@example.com"
            assert "secretaria@example.edu" in str(mail["From"]) and mail["Date"]

            ticket = _ticket_of(api, "R-BRANCH-1")
            content = "comprovante de matrícula\n".encode() * 100
            sent = api.post(
                f"/api/tickets/{ticket}/attachments",
                files={"file": ("comprovante.pdf", content, "application/pdf")},
            )
            assert sent.status_code == 201, sent.text
            stored = [p for p in (tmp_path / "sftp" / "in").rglob("*") if p.is_file()]
            assert [p.read_bytes() for p in stored if p.read_bytes() == content] == [content]
            got = api.get(f"/api/tickets/{ticket}/attachments/{sent.json()['id']}")
            assert got.status_code == 200 and got.content == content
        finally:
            assert stop(hub) == 0, log.read_text()[-3000:]

    kept = run_cli(env, "companies", "delete", "1")
    assert kept.returncode != 0
    lines = kept.stderr.strip().splitlines()
    assert len(lines) == 1 and "linked to 1 tickets" in lines[0], kept.stderr
    assert json.loads(ok(env, "companies", "show", "1", "--json"))["name"] == "Demo University"


def _ticket_of(api: httpx.Client, request_id: str) -> str:
    """The id of the ticket the request opened, once it is there."""
    found: list[dict[str, Any]] = []

    def opened() -> bool:
        found[:] = [t for t in api.get("/api/tickets").json() if request_id in json.dumps(t)]
        return bool(found)

    wait_until(opened, timeout=60, what=f"the ticket of {request_id}")
    return str(found[0]["id"])
