"""``deploy/rabbitmq/definitions.json`` is what the hub declares (no drift from the code), a real
RabbitMQ imports it, and the hub starts on a vhost made from it (same queue arguments)."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consumers import ALL
from hub.runtime.transports import transport_for
from tests.services import AMQP_HOST, IN_CI, require

DEFINITIONS = Path(__file__).resolve().parents[2] / "deploy" / "rabbitmq" / "definitions.json"
SECTIONS = ("exchanges", "queues", "bindings", "policies")


def _ctl(*args: str, stdin: str | None = None) -> str:
    """rabbitmqctl runs as the rabbitmq user: files go through its standard streams."""
    return subprocess.run(
        ["rabbitmqctl", "-q", *args],
        check=True,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    ).stdout


@pytest.fixture
def vhost() -> Iterator[str]:
    require("RabbitMQ", AMQP_HOST, 5672)
    if shutil.which("rabbitmqctl") is None:
        if IN_CI:
            pytest.fail("rabbitmqctl is needed", pytrace=False)
        pytest.skip("rabbitmqctl not found")
    name = "hub-defs-" + uuid.uuid4().hex[:8]
    _ctl("add_vhost", name)
    _ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    try:
        yield name
    finally:
        _ctl("delete_vhost", name)


def _on(vhost: str, definitions: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"vhosts": [{"name": vhost}]}
    for section in SECTIONS:
        out[section] = [{**item, "vhost": vhost} for item in definitions.get(section, [])]
    return out


def _export(vhost: str, tmp_path: Path) -> dict[str, list[dict[str, Any]]]:
    exported = json.loads(_ctl("export_definitions", "-", "--format", "json"))
    return {
        section: sorted(
            ({**i, "vhost": "hub"} for i in exported.get(section, []) if i.get("vhost") == vhost),
            key=json.dumps,
        )
        for section in SECTIONS
    }


def test_the_definitions_are_what_the_hub_declares(vhost: str, tmp_path: Path) -> None:
    transport = transport_for(f"amqp://guest:guest@{AMQP_HOST}:5672/{vhost}")
    transport.setup({c.queue: c.event_types for c in ALL})
    transport.close()
    declared = _export(vhost, tmp_path)
    shipped = json.loads(DEFINITIONS.read_text())
    for section in ("exchanges", "queues", "bindings"):
        assert sorted(shipped[section], key=json.dumps) == declared[section], (
            f"deploy/rabbitmq/definitions.json: {section} differ from what the hub declares"
        )


def test_rabbitmq_imports_them_and_the_hub_starts_on_them(vhost: str, tmp_path: Path) -> None:
    definitions = _on(vhost, json.loads(DEFINITIONS.read_text()))
    _ctl("import_definitions", "--format", "json", stdin=json.dumps(definitions))
    rows = [line.split("\t") for line in _ctl("list_queues", "-p", vhost, "name", "type", "policy").splitlines()[1:]]
    queues = {name: (kind, policy) for name, kind, policy in rows}
    assert {c.queue for c in ALL} | {"hub.poison"} == set(queues)
    assert all(kind == "quorum" for kind, _ in queues.values())
    assert queues["hub.finance-agreements"][1] == "hub-queues"
    assert queues["hub.poison"][1] == "hub-poison"
    transport = transport_for(f"amqp://guest:guest@{AMQP_HOST}:5672/{vhost}")
    transport.setup({c.queue: c.event_types for c in ALL})  # inequivalent arguments would fail
    transport.close()
