"""``hub config`` and ``hub tickets`` as a user runs them (separate processes, SQLite default)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from hub.workflow.loader import DEMO_CONFIG
from tests.e2e.test_cli_basics import run


def test_open_move_show_and_illegal_moves(tmp_path: Path) -> None:
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
    opened = run(
        "tickets",
        "open",
        "edu.second-call-exam",
        "-p",
        "discipline=MAT101",
        "--customer",
        "RA-1",
        "--name",
        "Rita",
        "--period",
        "2026-2",
        cwd=tmp_path,
        env=env,
    )
    assert opened.returncode == 0, opened.stderr
    tid = opened.stdout.strip()

    illegal = run("tickets", "move", tid, "done", "--by", "bruno", cwd=tmp_path, env=env)
    assert illegal.returncode == 2 and "Traceback" not in illegal.stderr
    assert illegal.stderr.strip().splitlines() == [
        f"error: ticket {tid}: no flow from 'requested' to 'done' (allowed: scheduled, awaiting-student, rejected)"
    ]
    no_reason = run("tickets", "move", tid, "rejected", "--by", "bruno", cwd=tmp_path, env=env)
    assert no_reason.returncode == 2 and "needs a reason" in no_reason.stderr
    moved = run("tickets", "move", tid, "scheduled", "--by", "bruno", cwd=tmp_path, env=env)
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
    assert [h["to"] for h in data["history"]] == ["requested", "scheduled"]
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
    cancelled = run(
        "tickets", "cancel", tid, "--reason", "duplicate", "--by", "admin", cwd=tmp_path, env=env
    )
    assert cancelled.returncode == 0
    assert (
        json.loads(
            run("tickets", "list", "--json", "--status", "cancelled", cwd=tmp_path, env=env).stdout
        )[0]["id"]
        == tid
    )


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
