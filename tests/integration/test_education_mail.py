"""The opening e-mail goes through the outbox: an SMTP outage delays it and loses nothing;
a charge configured at a stage is requested when the ticket enters it; the initial bulk load
of reference data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.education.bulk import load, parse_lines
from hub.mail.servers import SmtpSetting
from hub.mail.service import set_server
from hub.runtime.deadletters import DeadLetters
from hub.runtime.uow import Cause
from hub.secrets import SecretBox
from hub.workflow.config import parse
from hub.workflow.loader import DEMO_CONFIG, read_raw
from hub.workflow.service import apply_config, move_ticket
from tests.integration.test_education_requests import fast
from tests.support.education import (
    RA,
    Mailbox,
    debt,
    enrollment,
    free_port,
    request,
    running_edu_hub,
    smtp_server,
)
from tests.support.harness import wait_until
from tests.support.mail import PASSWORD, USER, secure_smtp_server, self_signed


@pytest.mark.timeout(60)
def test_mail_queued_while_smtp_is_down_arrives_once_when_it_is_up(tier: dict[str, str]) -> None:
    port = free_port()  # nothing listens here yet
    with running_edu_hub(fast(tier, smtp_url=f"smtp://127.0.0.1:{port}")) as hub:
        hub.publish(enrollment())
        wait_until(lambda: hub.enrollment_row() is not None, what="enrollment")
        hub.publish(request("R-30", email_address="maria@example.com"))
        # Given: the hub tried and failed to send
        wait_until(
            lambda: any(r.publish_attempts >= 2 for r in hub.outbox("mail")),
            what="two failed attempts",
        )
        [row] = hub.outbox("mail")
        assert row.sent_at is None and row.last_error
        # When: the SMTP server comes up
        with smtp_server(port, Mailbox()) as mailbox:
            wait_until(lambda: len(mailbox.messages) == 1, what="the e-mail")
            wait_until(lambda: hub.outbox("mail")[0].sent_at is not None, what="marked sent")
            hub.publish(request("R-31", email_address="ana@example.com"))
            wait_until(lambda: len(mailbox.messages) == 2, what="the next e-mail")
        # Then: exactly one copy of the queued mail, with its outbox id as Message-ID
        first = mailbox.messages[0]
        assert str(first["To"]) == "maria@example.com"
        assert str(first["Subject"]) == "Your transcript request was received"
        assert str(first["Message-ID"]) == f"<{row.event_id}@hub>"
        assert [str(m["To"]) for m in mailbox.messages] == ["maria@example.com", "ana@example.com"]


@pytest.mark.timeout(60)
def test_mail_refused_for_good_is_dead_lettered_with_the_reply_and_replayed_once_mended(
    tier: dict[str, str],
) -> None:
    port = free_port()
    with (
        smtp_server(port, Mailbox(unknown={"nobody@example.com"})) as mailbox,
        running_edu_hub(fast(tier, smtp_url=f"smtp://127.0.0.1:{port}")) as hub,
    ):
        hub.publish(enrollment())
        wait_until(lambda: hub.enrollment_row() is not None, what="enrollment")
        # Given: one request whose address the server refuses, one it accepts
        hub.publish(request("R-33", email_address="nobody@example.com"))
        hub.publish(request("R-34", email_address="ana@example.com"))
        # Then: the refused mail is dead-lettered after one attempt, the other is sent
        wait_until(lambda: len(hub.dead_letters()) == 1, what="the refused mail")
        wait_until(lambda: len(mailbox.messages) == 1, what="the accepted mail")
        [dl] = hub.dead_letters()
        assert (dl.consumer, dl.error_type, dl.attempts) == ("mail", "PermanentError", 1)
        assert "550 5.1.1 no such mailbox here" in dl.error_message
        assert json.loads(dl.body)["to"] == "nobody@example.com"
        assert [r.routing_key for r in hub.outbox("mail")] == ["ana@example.com"]
        # When: the mailbox exists after all and an operator replays the dead letter
        mailbox.unknown.clear()
        assert DeadLetters(hub.hub.uow, "default").replay([dl.id]) == [dl.id]
        wait_until(lambda: len(mailbox.messages) == 2, what="the replayed mail")
        wait_until(
            lambda: all(r.sent_at is not None for r in hub.outbox("mail")), what="marked sent"
        )
        # Then: sent once, with the id it was queued with
        replayed = mailbox.messages[1]
        assert str(replayed["To"]) == "nobody@example.com"
        assert str(replayed["Message-ID"]) == f"<{dl.event_id}@hub>"
        assert len(hub.outbox("mail")) == 2


@pytest.mark.timeout(60)
def test_without_smtp_settings_mail_stays_queued_and_is_not_published(
    tier: dict[str, str],
) -> None:
    with running_edu_hub(fast(tier)) as hub:
        hub.publish(enrollment(), request("R-32"))
        wait_until(lambda: bool(hub.outbox("mail")), what="queued mail")
        wait_until(lambda: bool(hub.outbox("mail")[0].last_error), what="relay looked at it")
        [row] = hub.outbox("mail")
        assert row.sent_at is None
        assert "no SMTP server for branch 1/1 and no HUB_SMTP_URL" in (row.last_error or "")
        assert json.loads(row.body)["to"] == "joao@example.com"


@pytest.mark.timeout(90)
def test_request_mail_goes_through_the_branch_then_the_company_then_the_primary_server(
    tier: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    ports = {name: free_port() for name in ("url", "primary", "company", "branch")}
    boxes = {name: Mailbox() for name in ports}
    settings = fast(tier, smtp_url=f"smtp://127.0.0.1:{ports['url']}")
    box = SecretBox.for_settings(settings)

    def put(company: str, branch: str | None, name: str, primary: bool = False) -> None:
        setting = SmtpSetting.of(
            company=company,
            branch=branch,
            host="127.0.0.1",
            port=ports[name],
            sender=f"{name}@example.edu",
            username=USER,
            secure="starttls",
            primary=primary,
        )
        with hub.hub.uow(Cause.action(tenant="default")) as uow:
            set_server(uow, setting, password=PASSWORD, box=box, by="support")

    with (
        smtp_server(ports["url"], boxes["url"]),
        secure_smtp_server(ports["primary"], boxes["primary"], cert),
        secure_smtp_server(ports["company"], boxes["company"], cert),
        secure_smtp_server(ports["branch"], boxes["branch"], cert),
        running_edu_hub(settings) as hub,
    ):
        hub.publish(enrollment())
        wait_until(lambda: hub.enrollment_row() is not None, what="enrollment")
        # Given no setting of the tenant's: HUB_SMTP_URL sends; then each closer setting does
        order = [("url", None), ("primary", ("9", None)), ("company", ("1", None))]
        order.append(("branch", ("1", "1")))
        for n, (name, scope) in enumerate(order):
            if scope is not None:
                put(*scope, name, primary=name == "primary")
            hub.publish(request(f"R-5{n}", email_address=f"student{n}@example.com"))
            wait_until(lambda: len(boxes[name].messages) == 1, what=f"mail through {name}")  # noqa: B023
        # Then each mail went through one server, from that server's sender, with a Date
        for n, (name, _) in enumerate(order):
            [msg] = boxes[name].messages
            assert str(msg["To"]) == f"student{n}@example.com"
            assert msg["Date"] and msg["Message-ID"]
            if name != "url":
                assert f"{name}@example.edu" in str(msg["From"])


@pytest.mark.timeout(60)
def test_a_charge_configured_at_a_stage_is_requested_when_the_ticket_enters_it(
    tier: dict[str, str],
) -> None:
    raw = read_raw(DEMO_CONFIG)
    raw["ticket_types"]["edu.transcript"]["billing"]["charge_at"] = "issued"
    config = parse(raw)
    with running_edu_hub(fast(tier)) as hub:
        with hub.hub.uow(Cause.action(tenant="default")) as uow:
            apply_config(uow, config, source="test: charge when issued")
        hub.publish(enrollment(), request("R-40"))
        wait_until(lambda: hub.request_row("R-40") is not None, what="ticket opened")
        row = hub.request_row("R-40")
        assert row is not None and row.ticket_id is not None
        assert hub.charges() == []  # not at opening
        with hub.hub.uow(Cause.action("issue-R-40", tenant="default")) as uow:
            move_ticket(uow, row.ticket_id, "issued", reason=None, by="bruno")
        wait_until(lambda: len(hub.charges()) == 1, what="charge at the stage")
        assert hub.charges()[0].ticket_id == row.ticket_id
        assert len(hub.outbox(event_type="billing.charge.requested")) == 1


@pytest.mark.timeout(30)
def test_bulk_load_accepts_events_and_records_and_respects_versions(
    tmp_path: Path, sqlite_url: str
) -> None:
    from hub.runtime.uow import UnitOfWorkFactory
    from hub.store.db import make_engine, upgrade

    lines = [
        json.dumps(enrollment(version=3)),
        json.dumps(
            {"kind": "debt", "customer_id": RA, "company": "1", "open_amount": "5.00", "version": 2}
        ),
        "",
        json.dumps({"kind": "enrollment", **enrollment(version=2, status="inactive")["data"]}),
        json.dumps(debt(amount="7.25", version=3)),
    ]
    records, problems = parse_lines(lines)
    assert problems == [] and len(records) == 4
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    factory = UnitOfWorkFactory(engine)
    report = load(factory, records, tenant="default")
    assert (report.enrollments, report.debts, report.applied, report.stale) == (2, 2, 3, 1)
    again = load(factory, records, tenant="default")
    assert (again.applied, again.stale) == (0, 4)
    engine.dispose()

    bad, problems = parse_lines(
        ['{"kind": "grade"}', "not json", json.dumps({"kind": "debt", "company": "1"})]
    )
    assert bad == []
    assert problems[0].startswith("line 1: kind must be one of")
    assert problems[1].startswith("line 2: not JSON")
    assert problems[2].startswith("line 3: customer_id")
