"""``hub run`` against a broker whose admin API does not answer: one line, not a traceback."""

from __future__ import annotations

import concurrent.futures
import logging
import signal
import sys
from pathlib import Path

import pytest

from hub.cli import main
from hub.runtime.transports.kafka import KafkaTransport


@pytest.mark.timeout(60)
def test_hub_run_on_kafka_whose_admin_api_does_not_answer_prints_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_answer(self: KafkaTransport, topics: object) -> None:
        raise concurrent.futures.TimeoutError()  # what an admin request's future raises

    monkeypatch.setattr(KafkaTransport, "create_topics", no_answer)
    monkeypatch.setenv("HUB_BROKER_URL", "kafka://127.0.0.1:1")
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path / 'hub.sqlite'}")
    monkeypatch.setattr(sys, "argv", ["hub", "run", "--no-http"])
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    root = logging.getLogger()
    logging_was = (root.handlers[:], root.level)
    try:
        with pytest.raises(SystemExit) as ended:
            main()
    finally:  # `hub run` installs its own signal handlers and log handler
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        root.handlers[:], root.level = logging_was
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "error: the broker at kafka://127.0.0.1:1 did not declare the hub's topology: "
        "TimeoutError: no answer in time"
    )
