"""Every inbound event has a size bound: a message too large, an integer too long, JSON too
deep or an idempotency key too long is dead-lettered at once (never retried), with the reason;
what is kept of a message too large is its first bytes, its length and its hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.runtime.deadletters import DeadLetters, NotReplayable
from hub.runtime.oversize import KEPT_BYTES, ORIGINAL_BYTES, ORIGINAL_SHA256, TRUNCATED
from hub.runtime.policy import RetryPolicy
from hub.runtime.processor import Outcome, Processor
from hub.runtime.registry import by_queue
from hub.runtime.transport import Delivery
from hub.runtime.uow import UnitOfWorkFactory
from hub.store import make_engine, upgrade
from hub.store.models import DeadLetter, InboxEntry, OutboxMessage
from schemas.bounds import Limits
from tests.support import ledger
from tests.support.harness import item_event


@pytest.fixture
def processor(tmp_path: Path) -> Processor:
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    upgrade(url)
    p = Processor(
        by_queue([ledger.consumer]),
        UnitOfWorkFactory(make_engine(url)),
        default_retry=RetryPolicy(attempts=5),
        delivery_limit=5,
        outage_pause=0,
        limits=Limits(max_bytes=256 * 1024),
    )
    ledger.metadata.create_all(p.uow.engine)
    return p


def _deliver(processor: Processor, body: bytes, message_id: str | None = "m-1") -> Outcome:
    d = Delivery("hub.ledger", ledger.ITEM, body, {}, message_id, 1, lambda: None, lambda: None)
    return processor(d)


def _letters(processor: Processor) -> list[DeadLetter]:
    with processor.uow.sessions() as s:
        return list(s.scalars(select(DeadLetter).order_by(DeadLetter.id)))


def _retries(processor: Processor) -> int:
    with processor.uow.sessions() as s:
        return len(list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "retry"))))


def test_an_event_over_the_size_limit_is_dead_lettered_at_once_truncated_with_length_and_hash(
    processor: Processor,
) -> None:
    event = item_event("BIG-1", blob="x" * (2 * 1024 * 1024))
    body = json.dumps(event).encode()
    assert _deliver(processor, body) is Outcome.DEAD
    (dl,) = _letters(processor)
    assert dl.error_type == "MessageTooLarge" and dl.attempts == 1
    assert f"{len(body)} bytes, more than the limit of {256 * 1024} bytes" in dl.error_message
    assert dl.body == body[:KEPT_BYTES]
    assert dl.headers[TRUNCATED] is True
    assert dl.headers[ORIGINAL_BYTES] == len(body)
    assert dl.headers[ORIGINAL_SHA256] == hashlib.sha256(body).hexdigest()
    assert _retries(processor) == 0
    with processor.uow.sessions() as s:
        assert s.scalar(select(InboxEntry.consumer)) is None  # never handled, no key kept
    with pytest.raises(NotReplayable, match="cannot be replayed"):
        DeadLetters(processor.uow, "default").replay([dl.id])
    assert DeadLetters(processor.uow, "default").replay(None) == []  # a group replay leaves it alone


def test_a_huge_integer_is_an_invalid_message_dead_lettered_at_once_not_retried(
    processor: Processor,
) -> None:
    body = (
        json.dumps(item_event("INT-1"))
        .encode()
        .replace(b'"INT-1"}', b'"INT-1", "n": ' + b"9" * 5000 + b"}")
    )
    assert _deliver(processor, body) is Outcome.DEAD
    (dl,) = _letters(processor)
    assert (dl.error_type, dl.attempts) == ("InvalidMessage", 1)
    assert "an integer of 5000 digits" in dl.error_message
    assert _retries(processor) == 0


def test_json_nested_too_deep_is_refused_with_the_reason(processor: Processor) -> None:
    event = item_event("DEEP-1")
    event["data"]["nested"] = json.loads("[" * 40 + "]" * 40)
    assert _deliver(processor, json.dumps(event).encode()) is Outcome.DEAD
    (dl,) = _letters(processor)
    assert "nested deeper than 32 levels" in dl.error_message


def test_an_idempotency_key_longer_than_200_characters_is_refused(processor: Processor) -> None:
    event = item_event("KEY-1", key="k" * 201)
    assert _deliver(processor, json.dumps(event).encode()) is Outcome.DEAD
    (dl,) = _letters(processor)
    assert "idempotencykey: String should have at most 200 characters" in dl.error_message
    event = item_event("KEY-2", key="k" * 200)
    assert _deliver(processor, json.dumps(event).encode()) is Outcome.HANDLED


def test_a_long_source_and_id_make_a_hashed_key_of_bounded_length(processor: Processor) -> None:
    event = {**item_event("KEY-3", event_id="i" * 200), "source": "urn:" + "s" * 300}
    assert _deliver(processor, json.dumps(event).encode()) is Outcome.HANDLED
    with processor.uow.sessions() as s:
        (key,) = s.scalars(select(InboxEntry.idempotency_key))
    assert key.startswith("sha256:") and len(key) <= 200


def test_the_dead_letter_log_line_names_a_message_without_a_message_id(
    processor: Processor, caplog: pytest.LogCaptureFixture
) -> None:
    event = item_event("NOID-1", permanent=True)
    assert _deliver(processor, json.dumps(event).encode(), message_id=None) is Outcome.DEAD
    line = next(r.getMessage() for r in caplog.records if "dead-lettered" in r.getMessage())
    assert line.startswith(f"dead-lettered {event['id']} for ledger")
    assert "None" not in line
    assert _deliver(processor, b"\xff not an event", message_id=None) is Outcome.DEAD
    line = [r.getMessage() for r in caplog.records if "dead-lettered" in r.getMessage()][-1]
    assert line.startswith("dead-lettered sha256:") and "None" not in line
