"""``hub publish``, ``hub dlq ...`` and ``hub queues`` as an operator runs them, beside ``hub run``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from hub.store.db import make_engine, upgrade
from tests.support.harness import create_ledger_tables, item_event, wait_until
from tests.support.ledger import fixes
from tests.support.process import hub_env, run_cli, start_hub, stop


def _effects(database_url: str, item: str) -> int:
    from sqlalchemy import func, select

    from tests.support.ledger import ledger

    engine = make_engine(database_url)
    with engine.connect() as conn:
        n = conn.execute(
            select(func.count()).select_from(ledger).where(ledger.c.item == item)
        ).scalar_one()
    engine.dispose()
    return int(n)


def _fix(database_url: str, item: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(fixes.insert().values(item=item))
    engine.dispose()


# it starts a hub and runs a dozen `hub` commands, each a new interpreter: slow on a loaded machine
@pytest.mark.timeout(300)
def test_publish_dead_letter_inspect_replay_and_purge(
    process_tier: dict[str, str], tmp_path: Path
) -> None:
    upgrade(process_tier["database_url"])
    create_ledger_tables(process_tier["database_url"])
    env = hub_env(process_tier, HUB_CONSUMERS="tests.support.ledger:consumer")
    proc = start_hub(env, tmp_path / "hub.log")
    try:
        wait_until(
            lambda: "hub running" in (tmp_path / "hub.log").read_text(),
            timeout=60,
            what="hub run to start",
        )
        events = tmp_path / "events.json"
        events.write_text(json.dumps([item_event("Q-1", permanent=True), item_event("Q-2")]))
        out = run_cli(env, "publish", str(events))
        assert out.returncode == 0, out.stderr
        assert "published 2 event(s)" in out.stdout
        out = run_cli(
            env, "publish", "-", "--raw", "--routing-key", "test.item.created", stdin="{not json"
        )
        assert out.returncode == 0, out.stderr
        # nobody handles this type: the hub runs, so the hint is not to start it
        stray = tmp_path / "stray.json"
        stray.write_text(json.dumps({**item_event("Q-9"), "type": "test.nobody.listens"}))
        out = run_cli(env, "publish", str(stray))
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        assert "the hub is running, but none of its consumers handles this type" in out.stderr
        assert "start `hub run`" not in out.stderr

        def letters() -> list[dict[str, object]]:
            listed = run_cli(env, "dlq", "list", "--json")
            assert listed.returncode == 0, listed.stderr
            return json.loads(listed.stdout)

        wait_until(lambda: len(letters()) == 2, timeout=30, what="two dead letters")
        by_type = {str(d["error_type"]): d for d in letters()}
        assert set(by_type) == {"PermanentError", "InvalidMessage"}
        assert "body is not JSON" in str(by_type["InvalidMessage"]["error_message"])

        permanent_id = str(by_type["PermanentError"]["id"])
        shown = json.loads(run_cli(env, "dlq", "show", permanent_id).stdout)
        assert shown["payload"]["data"]["item"] == "Q-1"
        assert "Traceback" in shown["traceback"]

        _fix(process_tier["database_url"], "Q-1")
        # a user of the User role may not touch dead letters; the operators get the Admin role
        out = run_cli(env, "dlq", "replay", permanent_id, "--by", "ana")
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        assert "ana may not change dead letters" in out.stderr
        people = tmp_path / "people.jsonl"
        people.write_text(
            json.dumps({"user_id": "ops", "name": "Ops", "active": True, "version": 1}) + "\n"
        )
        assert run_cli(env, "users", "import", str(people)).returncode == 0
        for user in ("ops", "ana"):
            out = run_cli(env, "users", "set", user, "--role", "admin")
            assert out.returncode == 0, out.stderr
        out = run_cli(
            env,
            "dlq",
            "replay",
            "--group",
            "PermanentError",
            "--consumer",
            "ledger",
            "--rate",
            "50/s",
            "--by",
            "ops",
        )
        assert out.returncode == 0, out.stderr
        assert "replaying 1 dead letter(s) at 50/s over 0.0s" in out.stdout
        assert f"[{permanent_id}]" in out.stdout
        wait_until(lambda: _effects(process_tier["database_url"], "Q-1") == 1, what="Q-1 handled")

        # the unreadable one, corrected in $EDITOR and replayed
        invalid_id = str(by_type["InvalidMessage"]["id"])
        corrected = tmp_path / "corrected.json"
        corrected.write_text(json.dumps(item_event("Q-3")))
        editor = tmp_path / "editor.py"
        editor.write_text(f"import shutil, sys\nshutil.copyfile({str(corrected)!r}, sys.argv[1])\n")
        edit_env = {**env, "EDITOR": f"{sys.executable} {editor}"}
        out = run_cli(edit_env, "dlq", "edit", invalid_id, "--by", "ana")
        assert out.returncode == 0, out.stderr
        assert f"dead letter {invalid_id}: corrected version replayed" in out.stdout
        assert "-{not json" in out.stdout and '+  "specversion": "1.0",' in out.stdout
        wait_until(lambda: _effects(process_tier["database_url"], "Q-3") == 1, what="Q-3 handled")
        assert letters() == []  # both replayed

        out = run_cli(env, "dlq", "purge", "--all")
        assert out.returncode == 2 and "Traceback" not in out.stderr
        assert out.stderr.strip().splitlines() == [
            "error: purging deletes 2 dead letter(s) for good: add --yes to do it"
        ]
        assert len(json.loads(run_cli(env, "dlq", "list", "--all", "--json").stdout)) == 2
        out = run_cli(env, "dlq", "purge", "--all", "--yes", "--by", "ops")
        assert out.returncode == 0 and "purged 2" in out.stdout, out.stderr
        assert json.loads(run_cli(env, "dlq", "list", "--all", "--json").stdout) == []
        audit = json.loads(run_cli(env, "dlq", "audit", "--json").stdout)
        assert sorted((a["action"], a["by"]) for a in audit) == [
            ("edited", "ana"),
            ("purged", "ops"),
            ("purged", "ops"),
            ("replayed", "ops"),
        ]
        purged = {a["dead_letter_id"]: a for a in audit if a["action"] == "purged"}
        assert purged[int(invalid_id)]["body"] == "{not json"

        queues = run_cli(env, "queues", "--json")
        assert queues.returncode == 0, queues.stderr
        stats = json.loads(queues.stdout)
        assert [q["queue"] for q in stats["queues"]] == ["hub.ledger"]
        assert stats["queues"][0]["consumers"] == 1
    finally:
        assert stop(proc) == 0


def test_bad_cli_input_gets_one_line_not_a_traceback(tmp_path: Path) -> None:
    env = hub_env(
        {
            "broker_url": f"sqla+sqlite:///{tmp_path}/b.sqlite",
            "database_url": f"sqlite:///{tmp_path}/h.sqlite",
        }
    )
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"specversion": "1.0", "type": "finance.agreement.cancelled"}))
    stray = tmp_path / "stray.json"
    stray.write_text(json.dumps(item_event("S-1")))
    cases = [
        (["publish", str(stray)], "no hub consumer runs: start `hub run` once"),
        (["tickets", "list", "--status", "bogus"], "unknown status 'bogus' (one of: open,"),
        (["publish", str(bad)], "event 0: id: Field required"),
        (["publish", str(tmp_path / "absent.json")], "cannot read"),
        (["dlq", "show", "999"], "no dead letter with id 999"),
        (["dlq", "replay"], "give one ID or --all"),
        (["dlq", "replay", "--group", "X", "--rate", "fast"], "expected a rate such as 50/s"),
        (["dlq", "replay", "--all", "--rate", "0/s"], "a rate above 0"),
        (["dlq", "purge", "1"], "add --yes"),
        (["dlq", "show", "abc"], "Invalid value for 'ID'"),
        (["dlq", "list", "--frob"], "No such option: --frob"),
    ]
    for args, expected in cases:
        out = run_cli(env, *args)
        assert out.returncode != 0, args
        assert "Traceback" not in out.stderr, args
        assert expected in out.stderr, (args, out.stderr)
        lines = out.stderr.strip().splitlines()
        # one line, or one headline and one line per problem when there are several
        assert len(lines) == 1 or lines[0].startswith(f"error: {len(lines) - 1} problems"), lines
