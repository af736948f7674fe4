"""Educational requests end to end inside one hub, on every tier: eligibility and its
rejection codes, the ticket, the charge, billing's answers and the opening e-mail."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from hub.settings import Settings
from hub.workflow.repository import TicketRepository
from tests.support.education import (
    Mailbox,
    accept_fee,
    cloud_event,
    debt,
    enrollment,
    free_port,
    request,
    running_edu_hub,
    smtp_server,
)
from tests.support.harness import wait_until


def fast(tier: dict[str, str], **overrides: object) -> Settings:
    values: dict[str, object] = {
        "retry_base_delay": 0.2,
        "retry_max_delay": 1.0,
        "retry_attempts": 4,
        **tier,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.mark.timeout(60)
def test_each_failed_check_rejects_with_its_code(tier: dict[str, str]) -> None:
    with running_edu_hub(fast(tier)) as hub:
        # Given: RA-OK enrolled and active, with debts; RA-OFF with an inactive contract
        hub.publish(
            enrollment("RA-OK"),
            debt("RA-OK", "120.50"),
            enrollment("RA-OFF", status="inactive"),
        )
        wait_until(lambda: hub.debt_row("RA-OK") is not None, what="reference data")
        wait_until(lambda: hub.enrollment_row("RA-OFF") is not None, what="reference data")
        # When: one request per failing check (each also fails every later check)
        hub.publish(
            request("R-1", "edu.second-call-exam", ra="RA-NONE"),
            request("R-2", "edu.second-call-exam", ra="RA-OFF"),
            request("R-3", "edu.second-call-exam", ra="RA-OK", requested_at="2031-01-05T10:00:00Z"),
            request("R-4", "edu.second-call-exam", ra="RA-OK"),
            request("R-5", "edu.transcript", ra="RA-OK", parameters={"copies": "many"}),
            request("R-6", "edu.transcript", ra="RA-OK", parameters={"colour": "red"}),
        )
        wait_until(lambda: len(hub.outbox(event_type="edu.request.rejected")) == 6, what="6")
        rejected = {
            r.subject: json.loads(r.body)["data"]
            for r in hub.outbox(event_type="edu.request.rejected")
        }
        # Then: the first failing check names the reason
        assert {k: v["reason"] for k, v in rejected.items()} == {
            "R-1": "not_enrolled",
            "R-2": "contract_inactive",
            "R-3": "outside_window",
            "R-4": "has_debts",
            "R-5": "invalid_parameters",
            "R-6": "invalid_parameters",
        }
        assert "parameters.copies" in rejected["R-5"]["detail"]
        assert "parameters.colour" in rejected["R-6"]["detail"]
        assert "120.50" in rejected["R-4"]["detail"]
        assert hub.outbox(event_type="crm.ticket.created") == []
        assert hub.charges() == []
        row = hub.request_row("R-2")
        assert row is not None and (row.status, row.rejection_reason) == (
            "rejected",
            "contract_inactive",
        )


@pytest.mark.timeout(60)
def test_discipline_must_be_one_of_the_students_disciplines(tier: dict[str, str]) -> None:
    with running_edu_hub(fast(tier)) as hub:
        hub.publish(enrollment(disciplines=["MAT101", "FIS201"]), debt(amount="0.00"))
        wait_until(lambda: hub.debt_row() is not None, what="reference data")
        hub.publish(
            request("R-10", "edu.second-call-exam"),  # required discipline missing
            request("R-11", "edu.second-call-exam", parameters={"discipline": "QUI301"}),
            request("R-12", "edu.second-call-exam", parameters={"discipline": "FIS201"}),
        )
        wait_until(lambda: len(hub.outbox(event_type="edu.request.rejected")) == 2, what="2")
        wait_until(lambda: len(hub.outbox(event_type="crm.ticket.created")) == 1, what="ticket")
        details = {
            r.subject: json.loads(r.body)["data"]
            for r in hub.outbox(event_type="edu.request.rejected")
        }
        assert details["R-10"]["reason"] == "invalid_parameters"
        assert details["R-10"]["detail"] == "parameters.discipline: required"
        assert details["R-11"]["reason"] == "invalid_parameters"
        assert "parameters.discipline" in details["R-11"]["detail"]
        created = json.loads(hub.outbox(event_type="crm.ticket.created")[0].body)
        assert created["data"]["origin_id"] == "R-12"
        assert created["causationid"]  # chained to the request


@pytest.mark.timeout(60)
def test_an_accepted_request_is_charged_billed_and_mailed(tier: dict[str, str]) -> None:
    port = free_port()
    mailbox = Mailbox()
    settings = fast(tier, smtp_url=f"smtp://127.0.0.1:{port}?from=secretaria@example.edu")
    with smtp_server(port, mailbox), running_edu_hub(settings) as hub:
        hub.publish(enrollment(fixed_due_day=31))
        wait_until(lambda: hub.enrollment_row() is not None, what="enrollment")
        # the transcript: location price, due 10 days after the request, e-mail on opening
        hub.publish(request("R-20", requested_at="2026-11-25T09:00:00Z"))
        # the second-call exam: service value, the contract's fixed day (31 -> 2027-02-28)
        hub.publish(
            request(
                "R-21",
                "edu.second-call-exam",
                parameters={"discipline": "MAT101"},
                requested_at="2027-02-03T09:00:00Z",
            )
        )
        # the exam is charged once the student accepts its fee
        wait_until(lambda: len(hub.charges()) == 1, what="the transcript's charge")
        accept_fee(hub.hub.uow, "R-21")
        wait_until(lambda: len(hub.charges()) == 2, what="two charges")
        transcript, exam = hub.charges()
        assert (transcript.amount, transcript.due_date) == (Decimal("35.00"), date(2026, 12, 5))
        assert (exam.amount, exam.due_date) == (Decimal("45.00"), date(2027, 2, 28))
        assert transcript.extra_service and transcript.contract_id == "CT-9"
        requested = {
            r.subject: json.loads(r.body) for r in hub.outbox(event_type="billing.charge.requested")
        }
        assert requested["R-20"]["data"]["amount"] == "35.00"
        assert requested["R-21"]["data"]["due_date"] == "2027-02-28"

        wait_until(lambda: len(mailbox.messages) == 2, what="two e-mails")
        subjects = sorted(str(m["Subject"]) for m in mailbox.messages)
        assert subjects == [
            "Your second-call exam request was received",
            "Your transcript request was received",
        ]
        for msg, (sender, rcpts) in zip(mailbox.messages, mailbox.envelopes, strict=True):
            assert str(msg["To"]) == "joao@example.com" and rcpts == ["joao@example.com"]
            assert str(msg["From"]) == "Academic secretariat <secretaria@example.edu>"
            assert sender == "secretaria@example.edu"

        # billing answers: created for the transcript, failed for the exam
        hub.publish(
            cloud_event(
                "billing.charge.created",
                "R-20",
                {
                    "charge_id": transcript.charge_id,
                    "request_id": "R-20",
                    "installment_id": "INST-1",
                },
            ),
            cloud_event(
                "billing.charge.failed",
                "R-21",
                {"charge_id": exam.charge_id, "request_id": "R-21", "reason": "contract closed"},
            ),
        )
        wait_until(
            lambda: {c.status for c in hub.charges()} == {"created", "failed"}, what="answers"
        )
        with hub.hub.uow.sessions() as s:
            tickets = TicketRepository(s, "default")
            t20 = tickets.get(transcript.ticket_id)
            t21 = tickets.get(exam.ticket_id)
            comments = tickets.comments(transcript.ticket_id)
        assert t20.stage == "requested"
        assert any("INST-1" in c.text for c in comments)
        # the exam type moves a ticket whose charge failed to its rejection stage
        assert (t21.stage, t21.status) == ("rejected", "completed")
        assert hub.charges()[1].failure_reason == "contract closed"
        assert hub.dead_letters() == []


@pytest.mark.timeout(60)
def test_reference_data_arriving_out_of_order_keeps_the_newest(tier: dict[str, str]) -> None:
    with running_edu_hub(fast(tier)) as hub:
        hub.publish(enrollment(version=5, status="inactive"), debt(amount="10.00", version=3))
        wait_until(lambda: hub.debt_row() is not None, what="first versions")
        wait_until(lambda: hub.enrollment_row() is not None, what="first versions")
        # older versions arrive late, the same version again, then a newer one
        hub.publish(
            enrollment(version=4, status="active", disciplines=["OLD"]),
            enrollment(version=5, status="active"),
            debt(amount="0.00", version=2),
            debt(amount="99.00", version=4),
        )
        wait_until(lambda: hub.handled("edu-refdata") == 6, what="six events handled")
        row = hub.enrollment_row()
        assert row is not None and (row.version, row.contract_status) == (5, "inactive")
        assert row.disciplines == ["MAT101", "FIS201"]
        d = hub.debt_row()
        assert d is not None and d.open_amount == Decimal("99.00")
        hub.publish(enrollment(version=6, status="active", disciplines=["NEW"]))
        wait_until(lambda: hub.enrollment_row().version == 6, what="v6")  # type: ignore[union-attr]
        assert hub.enrollment_row().disciplines == ["NEW"]  # type: ignore[union-attr]


@pytest.mark.timeout(60)
def test_billings_answer_for_a_deleted_ticket_is_recorded_on_its_charge(
    tier: dict[str, str],
) -> None:
    from hub.runtime.uow import Cause
    from hub.workflow import service

    with running_edu_hub(fast(tier)) as hub:
        hub.publish(enrollment())
        wait_until(lambda: hub.enrollment_row() is not None, what="enrollment")
        hub.publish(request("R-30", requested_at="2026-11-25T09:00:00Z"))
        wait_until(lambda: len(hub.charges()) == 1, what="the transcript's charge")
        [charge] = hub.charges()
        with hub.hub.uow(Cause.action(tenant="default")) as uow:
            service.cancel_ticket(uow, charge.ticket_id, reason="duplicate", by="system:test")
        with hub.hub.uow(Cause.action(tenant="default")) as uow:
            service.delete_ticket(uow, charge.ticket_id, reason="opened twice", by="admin")
        hub.publish(
            cloud_event(
                "billing.charge.created",
                "R-30",
                {"charge_id": charge.charge_id, "request_id": "R-30", "installment_id": "INST-3"},
            )
        )
        wait_until(lambda: hub.charges()[0].status == "created", what="billing's answer")
        assert hub.charges()[0].installment_id == "INST-3"
        assert hub.dead_letters() == []
