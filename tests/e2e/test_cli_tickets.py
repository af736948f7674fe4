"""``hub config`` and ``hub tickets`` as a user runs them (separate processes, SQLite default)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from hub.workflow.loader import DEMO_CONFIG
from tests.e2e.test_cli_basics import run

PARAMS = ("-p", "discipline=MAT101", "--customer", "RA-1", "--name", "Rita", "--period", "2026-2")


def _with_an_exam(tmp_path: Path) -> tuple[dict[str, str], str]:
    """The demo configuration, RA-1 enrolled with no debt, and a second-call exam request
    opened for them (held by bruno's secretariat); the environment and the ticket's id."""
    env = {"HUB_DATA_DIR": str(tmp_path / "data")}
    assert run("config", "apply", str(DEMO_CONFIG), cwd=tmp_path, env=env).returncode == 0
    students = tmp_path / "students.jsonl"
    students.write_text(
        json.dumps(
            {
                "kind": "enrollment",
                "ra": "RA-1",
                "company": "1",
                "academic_period": "2026-2",
                "contract_id": "CT-1",
                "contract_status": "active",
                "disciplines": ["MAT101"],
                "fixed_due_day": 10,
                "version": 1,
            }
        )
        + "\n"
        + json.dumps(
            {
                "kind": "debt",
                "customer_id": "RA-1",
                "company": "1",
                "open_amount": "0",
                "version": 1,
            }
        )
        + "\n"
    )
    assert run("refdata", "load", str(students), cwd=tmp_path, env=env).returncode == 0
    # an educational type is decided as its edu.request.created event would be
    opened = run("tickets", "open", "edu.second-call-exam", *PARAMS, cwd=tmp_path, env=env)
    assert opened.returncode == 0, opened.stderr
    tid = opened.stdout.strip()
    return env, tid


@pytest.mark.timeout(240)  # some twenty `hub` processes, each a second or more under load
def test_open_move_show_and_illegal_moves(tmp_path: Path) -> None:
    env, tid = _with_an_exam(tmp_path)

    illegal = run("tickets", "move", tid, "done", "--by", "bruno", cwd=tmp_path, env=env)
    assert illegal.returncode == 2 and "Traceback" not in illegal.stderr
    assert illegal.stderr.strip().splitlines() == [
        f"error: ticket {tid}: no flow from 'requested' to 'done' (allowed: awaiting-fee, awaiting-student, rejected)"
    ]
    no_reason = run("tickets", "move", tid, "rejected", "--by", "bruno", cwd=tmp_path, env=env)
    assert no_reason.returncode == 2 and "needs a reason" in no_reason.stderr
    # the secretariat asks for the fee, the student accepts it, then the exam is scheduled
    for stage, by in (("awaiting-fee", "bruno"), ("fee-accepted", "RA-1"), ("scheduled", "bruno")):
        moved = run("tickets", "move", tid, stage, "--by", by, cwd=tmp_path, env=env)
        assert moved.returncode == 0, moved.stderr
    missing = run("tickets", "move", tid, "done", "--by", "bruno", cwd=tmp_path, env=env)
    assert missing.returncode == 2 and "required at stage 'scheduled': exam_date" in missing.stderr
    assert (
        run("tickets", "comment", tid, "see you", "--by", "RA-1", cwd=tmp_path, env=env).returncode
        == 0
    )

    fixed = run("tickets", "classify", tid, "agreement", "--by", "bruno", cwd=tmp_path, env=env)
    assert fixed.returncode == 2 and fixed.stderr.strip().splitlines() == [
        f"error: ticket {tid}: its classification 'student-request' cannot be changed"
    ]

    shown = run("tickets", "show", tid, "--json", cwd=tmp_path, env=env)
    data = json.loads(shown.stdout)
    assert (data["classification"], data["classifications_allowed"]) == ("student-request", [])
    assert (data["stage"], data["status"]) == ("scheduled", "open")
    assert [h["to"] for h in data["history"]] == [
        "requested",
        "awaiting-fee",
        "fee-accepted",
        "scheduled",
    ]
    assert data["allowed_moves"] == [
        {
            "stage": "done",
            "name": "Exam taken",
            "purpose": "none",
            "reason_required": False,
            "reasons": [],
        }
    ]
    listed = json.loads(
        run(
            "tickets", "list", "--json", "--holder", "attendant:bruno", cwd=tmp_path, env=env
        ).stdout
    )
    assert [t["id"] for t in listed] == [tid]


@pytest.mark.timeout(240)
def test_only_an_administrator_cancels_a_ticket_the_customer_holds_then_deletes_it(
    tmp_path: Path,
) -> None:
    env, other = _with_an_exam(tmp_path)
    # only an administrator cancels, and only a ticket the customer holds
    held = run(
        "tickets", "cancel", other, "--reason", "dup", "--by", "admin", cwd=tmp_path, env=env
    )
    assert held.returncode == 2 and held.stderr.strip().splitlines() == [
        f"error: ticket {other} is not under the customer's responsibility (held by group "
        "edu-secretariat); only such a ticket may be cancelled"
    ]
    asked = run("tickets", "move", other, "awaiting-fee", "--by", "bruno", cwd=tmp_path, env=env)
    assert asked.returncode == 0, asked.stderr
    refused = run(
        "tickets", "cancel", other, "--reason", "x", "--by", "RA-1", cwd=tmp_path, env=env
    )
    assert refused.returncode == 2 and "only administrators may cancel" in refused.stderr
    hidden = run(
        "tickets", "cancel", other, "--reason", "x", "--by", "bruno", cwd=tmp_path, env=env
    )
    assert (
        hidden.returncode == 2 and f"no ticket '{other}'" in hidden.stderr
    )  # no longer the secretariat's
    cancelled = run(
        "tickets", "cancel", other, "--reason", "duplicate", "--by", "admin", cwd=tmp_path, env=env
    )
    assert cancelled.returncode == 0, cancelled.stderr
    assert [
        t["id"]
        for t in json.loads(
            run("tickets", "list", "--json", "--status", "cancelled", cwd=tmp_path, env=env).stdout
        )
    ] == [other]
    # then only an administrator deletes it; a tombstone keeps who, when and why
    kept = run("tickets", "delete", other, "--reason", "x", "--by", "bruno", cwd=tmp_path, env=env)
    assert kept.returncode == 2 and "Traceback" not in kept.stderr
    gone = run(
        "tickets",
        "delete",
        other,
        "--reason",
        "asked twice",
        "--by",
        "admin",
        cwd=tmp_path,
        env=env,
    )
    assert gone.returncode == 0 and gone.stdout.strip() == f"{other} deleted", gone.stderr
    missing = run("tickets", "show", other, cwd=tmp_path, env=env)
    assert missing.returncode == 2 and f"no ticket '{other}'" in missing.stderr
    [stone] = json.loads(
        run("tickets", "deleted", "--json", "--by", "admin", cwd=tmp_path, env=env).stdout
    )
    assert (stone["ticket_id"], stone["deleted_by"], stone["reason"]) == (
        other,
        "admin",
        "asked twice",
    )
    assert stone["cancel_reason"] == "duplicate"


def test_an_empty_configuration_is_refused_by_check_and_by_apply(tmp_path: Path) -> None:
    env = {"HUB_DATA_DIR": str(tmp_path / "data")}
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    for verb in ("check", "apply"):
        out = run("config", verb, str(empty), cwd=tmp_path, env=env)
        assert out.returncode == 2, out.stdout
        assert out.stderr.strip().splitlines() == [
            "error: ticket_types: a configuration needs at least one ticket type; this one has none"
        ]
    applied = run("config", "apply", str(DEMO_CONFIG), cwd=tmp_path, env=env)
    assert applied.stdout.strip() == "configuration version 1"  # nothing was stored before


def test_config_check_lists_every_problem(tmp_path: Path) -> None:
    raw = yaml.safe_load(DEMO_CONFIG.read_text())
    fin = raw["ticket_types"]["finance.agreement-approval"]
    fin["flows"].append({"from": "analysis", "to": "aproved"})
    del fin["stages"]["analysis"]["assignment"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    out = run("config", "check", str(bad), cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "error: 2 problems" in out.stderr
    assert (
        "ticket_types[finance.agreement-approval].flows[2].to: unknown stage 'aproved'"
        in out.stderr
    )
    assert "stages[analysis].assignment: missing" in out.stderr
    assert run("config", "check", str(DEMO_CONFIG), cwd=tmp_path).returncode == 0
