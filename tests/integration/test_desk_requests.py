"""``hub tickets open`` on a type an integration owns goes through that integration's rules: an
educational type is decided exactly as its ``edu.request.created`` event is (eligibility,
options from the student's data, the charge and the e-mail); a finance approval type is refused
with a pointer to ``hub publish``."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from consumers import edu_requests
from hub.cli import main
from hub.education.desk import request_event
from hub.education.tables import ChargeRow, EduRequestRow
from hub.runtime.policy import RetryPolicy
from hub.runtime.processor import Outcome, Processor
from hub.runtime.registry import by_queue
from hub.runtime.transport import Delivery
from hub.runtime.uow import Cause, UnitOfWorkFactory
from hub.store import make_engine
from hub.store.models import OutboxMessage
from hub.workflow.service import current_config
from hub.workflow.tables import TicketRow
from tests.support.education import PERIOD, RA, debt, enrollment

EXAM = "edu.second-call-exam"
STUDENT = ["--customer", RA, "--name", "João Lima", "--email", "joao@example.com"]


@dataclass
class Result:
    exit_code: int
    output: str  # stdout and stderr
    stdout: str


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """``hub ARGS...`` in this process, as ``main`` runs it (one-line errors, exit codes)."""
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    monkeypatch.setenv("HUB_DATABASE_URL", url)

    def run(*args: str) -> Result:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["hub", *args])
        with pytest.raises(SystemExit) as ended:
            main()
        out = capsys.readouterr()
        return Result(int(ended.value.code or 0), out.out + out.err, out.out)

    refdata = tmp_path / "students.jsonl"
    refdata.write_text(
        "\n".join(json.dumps(e) for e in [enrollment(disciplines=["MAT101"]), debt()]) + "\n"
    )
    assert run("refdata", "load", str(refdata)).exit_code == 0
    run.url = url  # type: ignore[attr-defined]
    return run


def _outbox(url: str) -> list[OutboxMessage]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = list(conn.execute(select(OutboxMessage).order_by(OutboxMessage.id)).all())
    engine.dispose()
    return rows  # type: ignore[return-value]


def _rows(url: str, table: type) -> list[Any]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = list(conn.execute(select(table)).all())
    engine.dispose()
    return rows


def test_an_option_outside_the_students_disciplines_is_rejected_not_opened(cli: Any) -> None:
    out = cli("tickets", "open", EXAM, "-p", "discipline=HIS999", *STUDENT, "--period", PERIOD)
    assert out.exit_code == 2
    assert out.output.strip().splitlines()[-1].startswith("error: request DESK-")
    assert "rejected: invalid_parameters: parameters.discipline" in out.output
    assert _rows(cli.url, TicketRow) == []
    (rejected,) = [r for r in _outbox(cli.url) if r.event_type == "edu.request.rejected"]
    assert json.loads(rejected.body)["data"]["reason"] == "invalid_parameters"


def test_an_eligible_request_opens_the_ticket_with_its_charge_and_mail(cli: Any) -> None:
    # the transcript is charged at opening (the exam, once the student accepts its fee)
    out = cli("tickets", "open", "edu.transcript", *STUDENT, "--period", PERIOD)
    assert out.exit_code == 0, out.output
    ticket_id = out.stdout.strip()
    (ticket,) = _rows(cli.url, TicketRow)
    assert (ticket.id, ticket.origin_type) == (ticket_id, "edu.request.created")
    (charge,) = _rows(cli.url, ChargeRow)
    assert (charge.ticket_id, str(charge.amount)) == (ticket_id, "35.00")
    kinds = [(r.kind, r.event_type) for r in _outbox(cli.url)]
    assert ("event", "crm.ticket.created") in kinds
    assert ("event", "billing.charge.requested") in kinds
    assert [k for k, _ in kinds].count("mail") == 1


def test_a_student_not_enrolled_is_rejected(cli: Any) -> None:
    out = cli(
        "tickets",
        "open",
        "edu.transcript",
        "--customer",
        "RA-UNKNOWN",
        "--name",
        "X",
        "--period",
        PERIOD,
    )
    assert out.exit_code == 2 and "rejected: not_enrolled" in out.output


def test_what_an_educational_request_needs_is_named_in_one_line(cli: Any) -> None:
    out = cli("tickets", "open", EXAM, "-p", "discipline=MAT101", "--customer", RA)
    assert out.exit_code == 2
    assert out.output.strip().splitlines() == [
        "error: 'edu.second-call-exam' is an educational request: it needs --name (the "
        "student's name), --period (the academic period)"
    ]


def test_a_finance_approval_type_is_opened_only_by_its_event(cli: Any) -> None:
    out = cli("tickets", "open", "finance.agreement-approval", "--customer", "C-1")
    assert out.exit_code == 2
    assert "finance.agreement.pending" in out.output and "hub publish" in out.output
    assert _rows(cli.url, TicketRow) == []


@pytest.mark.parametrize("discipline", ["MAT101", "HIS999"])
def test_the_desk_decides_exactly_as_the_event_path(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, discipline: str
) -> None:
    """The same request through the CLI and as an event from the broker (the processor, on a
    second store with the same reference data): the same decision, charge and events."""
    desk = cli(
        "tickets",
        "open",
        EXAM,
        "-p",
        f"discipline={discipline}",
        *STUDENT,
        "--period",
        PERIOD,
        "--request-id",
        "R-1",
    )
    other = f"sqlite:///{tmp_path / 'events.sqlite'}"
    monkeypatch.setenv("HUB_DATABASE_URL", other)
    refdata = tmp_path / "students.jsonl"
    assert cli("refdata", "load", str(refdata)).exit_code == 0
    assert cli("config", "apply", "hub/demo/workflow.yaml").exit_code == 0
    factory = UnitOfWorkFactory(make_engine(other))
    with factory(Cause.action(tenant="default")) as uow:
        _, config = current_config(uow)
    event = request_event(
        config,
        EXAM,
        ra=RA,
        name="João Lima",
        email="joao@example.com",
        academic_period=PERIOD,
        parameters={"discipline": discipline},
        now=factory.clock.now(),
        request_id="R-1",
    )
    processor = Processor(
        by_queue([edu_requests.consumer]), factory, default_retry=RetryPolicy(), delivery_limit=5
    )
    delivery = Delivery(
        "hub.edu-requests",
        event.type,
        event.to_json(),
        {},
        event.id,
        1,
        lambda: None,
        lambda: None,
    )
    assert processor(delivery) is Outcome.HANDLED

    def decision(url: str) -> tuple[Any, ...]:
        (req,) = _rows(url, EduRequestRow)
        charges = [(str(c.amount), c.due_date, c.service) for c in _rows(url, ChargeRow)]
        out = sorted((r.kind, r.event_type, r.routing_key) for r in _outbox(url))
        return req.status, req.rejection_reason, charges, out

    assert decision(cli.url) == decision(other)
    assert desk.exit_code == (0 if discipline == "MAT101" else 2)
