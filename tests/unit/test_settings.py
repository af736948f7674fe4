from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import ConfigurationError
from hub.settings import load_settings, redact


def test_defaults_are_the_embedded_tier(tmp_path: Path) -> None:
    s = load_settings()
    assert s.is_embedded
    assert s.effective_database_url.startswith("sqlite:///")
    assert s.effective_broker_url.startswith("sqla+sqlite:///")
    assert str(tmp_path) in s.effective_database_url


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    monkeypatch.setenv("HUB_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1/test")
    s = load_settings()
    assert not s.is_embedded
    assert s.effective_database_url == "postgresql+psycopg://root@127.0.0.1/test"


def test_file_is_read_and_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text('http_port = 9001\nlog_level = "DEBUG"\n')
    monkeypatch.setenv("HUB_SETTINGS_FILE", str(path))
    monkeypatch.setenv("HUB_LOG_LEVEL", "ERROR")
    s = load_settings()
    assert s.http_port == 9001
    assert s.log_level == "ERROR"


def test_every_bad_value_is_named_in_one_line_each(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_HTTP_PORT", "eighty")
    monkeypatch.setenv("HUB_BROKER_URL", "ftp://nowhere")
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    problems = info.value.problems
    assert len(problems) == 2
    assert any(p.startswith("HUB_HTTP_PORT='eighty'") for p in problems)
    assert any(p.startswith("HUB_BROKER_URL='ftp://nowhere'") for p in problems)
    assert all("\n" not in p for p in problems)


def test_unknown_key_in_file_and_missing_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "hub.toml"
    path.write_text("brokr_url = 'amqp://x'\n")
    monkeypatch.setenv("HUB_SETTINGS_FILE", str(path))
    with pytest.raises(ConfigurationError, match="brokr_url: unknown setting"):
        load_settings()
    monkeypatch.setenv("HUB_SETTINGS_FILE", str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigurationError, match="no such file"):
        load_settings()


def test_a_bad_kafka_option_is_refused_and_no_secret_is_echoed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "HUB_BROKER_URL",
        "kafka://k:9092?security.protocol=SASL_SSL&sasl.mechanism=KERBEROS"
        "&sasl.username=hub&sasl.password=s3cret",
    )
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    [problem] = info.value.problems
    assert problem.startswith("HUB_BROKER_URL=")
    assert "sasl.mechanism 'KERBEROS' is not one of PLAIN" in problem
    assert "s3cret" not in problem and "sasl.password=***" in problem


def test_urls_are_shown_without_their_secrets() -> None:
    assert redact("amqp://hub:pw@mq:5672//") == "amqp://hub:***@mq:5672//"
    assert redact("kafka://k:9092?sasl.password=x&ssl.key.password=y&partitions=3") == (
        "kafka://k:9092?sasl.password=***&ssl.key.password=***&partitions=3"
    )
    assert redact("postgresql+psycopg://root@db/hub") == "postgresql+psycopg://root@db/hub"
