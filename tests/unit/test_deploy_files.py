"""The deployment examples stay loadable: the example settings file is a valid settings file."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from hub.settings import load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_the_example_settings_file_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SETTINGS_FILE", str(DEPLOY / "hub.toml.example"))
    s = load_settings()
    assert s.broker_url and s.broker_url.startswith("amqp://")
    assert s.effective_database_url.startswith("postgresql+psycopg://")
    assert s.log_format == "json"


def test_the_systemd_unit_runs_hub_run() -> None:
    unit = configparser.ConfigParser(strict=False)
    unit.read(DEPLOY / "systemd" / "hub.service")
    assert unit["Service"]["ExecStart"].endswith("hub run")
    assert unit["Service"]["KillSignal"] == "SIGTERM"
