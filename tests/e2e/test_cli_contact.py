"""``hub scripts tree`` and ``hub forms list`` (SQLite default): in this process, and the
refusal of a bad argument as a separate process prints it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hub.cli import app
from hub.workflow.loader import DEMO_CONFIG
from tests.e2e.test_cli_basics import run


def hub(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def test_the_tree_as_each_user_sees_it_and_the_forms(tmp_path: Path) -> None:
    hub("config", "apply", str(DEMO_CONFIG))

    [start] = json.loads(hub("scripts", "tree", "--user", "bruno", "--json"))
    assert (start["id"], start["name"]) == ("start", "Start")
    [academic] = start["children"]  # Financial is not authorised to bruno
    [transcript] = academic["children"]
    assert set(transcript) >= {"id", "name", "form", "message", "complement", "children"}
    assert (transcript["id"], transcript["form"], transcript["complement"]) == (
        "transcript",
        "transcript",
        "pending",
    )

    forms = {f["id"]: f for f in json.loads(hub("forms", "list", "--json"))}
    invoice = forms["invoice-copy"]
    assert (invoice["ticket_type"], invoice["omnichannel"], invoice["groups"]) == (
        "cc.invoice-copy",
        True,
        ["finance-approvals"],
    )
    assert invoice["process"] == "cc.invoice-copy"
    assert {"name": "invoice", "type": "text", "required": True}.items() <= invoice["fields"][
        0
    ].items()
    assert forms["transcript"]["omnichannel"] is False

    env = {"HUB_DATA_DIR": str(tmp_path / "hub-data")}
    unknown = run("scripts", "tree", "--user", "zed", "--json", cwd=tmp_path, env=env)
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == "error: unknown or inactive user 'zed'"
    assert "Traceback" not in unknown.stderr
