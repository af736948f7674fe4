"""The text log: one line per record, whatever the logged values hold."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest

from hub.logs import configure_logging

RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ")


@pytest.fixture
def text_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("INFO", "text")
    try:
        yield out
    finally:
        root.handlers[:], root.level = saved


def test_an_event_id_with_a_newline_cannot_forge_a_critical_line(text_log: io.StringIO) -> None:
    forged = "e-1\n2026-11-24 12:00:00,000 CRITICAL hub: the database was dropped"
    logging.getLogger("hub.runtime").warning("dead-lettered %s for %s", forged, "ledger")
    lines = text_log.getvalue().splitlines()
    assert len(lines) == 1
    assert "CRITICAL" not in [line.split(" ")[2] for line in lines if RECORD.match(line)]
    assert lines[0].endswith(
        "dead-lettered e-1\\n2026-11-24 12:00:00,000 CRITICAL hub: "
        "the database was dropped for ledger"
    )


def test_terminal_escapes_and_other_controls_are_written_as_escapes(text_log: io.StringIO) -> None:
    logging.getLogger("hub").info("subject %s", "a\x1b[2J\rb\tc\x00\u2028d")
    assert text_log.getvalue().rstrip("\n").endswith("subject a\\x1b[2J\\rb\\tc\\x00\\x2028d")


def test_a_traceback_is_indented_so_its_message_cannot_start_a_record(
    text_log: io.StringIO,
) -> None:
    try:
        raise ValueError("bad id\n2026-11-24 12:00:00,000 CRITICAL hub: forged")
    except ValueError:
        logging.getLogger("hub").exception("handling failed")
    lines = text_log.getvalue().splitlines()
    assert [bool(RECORD.match(line)) for line in lines] == [True] + [False] * (len(lines) - 1)
    assert all(line.startswith("    ") for line in lines[1:])
