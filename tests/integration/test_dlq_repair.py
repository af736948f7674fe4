"""Operators' repair tools on the store: purges and replays leave an audit, an edited message is
validated and replayed in place of the original (the original, the diff and who are kept), and a
group replay takes a frozen snapshot and spaces the messages at the rate asked for."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.clock import ControllableClock
from hub.errors import InvalidMessage
from hub.runtime import dlq_audit
from hub.runtime.deadletters import DeadLetterFilter, DeadLetters
from hub.runtime.dlq_edit import NotEditable, NothingChanged, editable, replay_corrected
from hub.runtime.housekeeping import prune
from hub.runtime.relay import OUTBOX_ORIGIN
from hub.runtime.transport import DIRECT
from hub.runtime.uow import UnitOfWorkFactory
from hub.store import make_engine, upgrade
from hub.store.models import DeadLetter, OutboxMessage
from tests.support.harness import item_event

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def uow(database_url: str) -> UnitOfWorkFactory:
    upgrade(database_url)
    return UnitOfWorkFactory(make_engine(database_url), ControllableClock(NOW))


def _dead(
    uow: UnitOfWorkFactory, body: bytes, error_type: str = "PermanentError", **kw: object
) -> int:
    with uow.sessions.begin() as s:
        dl = DeadLetter(
            tenant_id="default",
            consumer="ledger",
            queue="hub.ledger",
            event_id=kw.get("event_id", "e-1"),  # type: ignore[arg-type]
            event_type="test.item.created",
            correlation_id="c-1",
            body=body,
            headers=kw.get("headers", {}),  # type: ignore[arg-type]
            error_type=error_type,
            error_message="item cannot be booked",
            attempts=1,
            first_failed_at=NOW,
            last_failed_at=NOW,
        )
        s.add(dl)
        s.flush()
        return dl.id


def _outbox(uow: UnitOfWorkFactory) -> list[OutboxMessage]:
    with uow.sessions() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_purge_keeps_who_when_and_the_message_in_the_audit_for_its_retention(
    uow: UnitOfWorkFactory,
) -> None:
    body = json.dumps(item_event("P-1")).encode()
    first, second = _dead(uow, body), _dead(uow, b"{not json")
    assert DeadLetters(uow, "default").purge(None, DeadLetterFilter(status=None), by="cli:ana") == 2
    assert DeadLetters(uow, "default").find(DeadLetterFilter(status=None)) == []
    entries = sorted(dlq_audit.entries(uow, "default"), key=lambda e: e.dead_letter_id)
    assert [(e.dead_letter_id, e.action, e.by, e.at) for e in entries] == [
        (first, "purged", "cli:ana", NOW),
        (second, "purged", "cli:ana", NOW),
    ]
    assert entries[0].body == body and entries[0].error_type == "PermanentError"
    clock = uow.clock
    assert isinstance(clock, ControllableClock)
    clock.advance(timedelta(days=89))
    prune(uow, outbox_days=7, inbox_days=30, audit_days=90)
    assert len(dlq_audit.entries(uow, "default")) == 2  # still within the retention period
    clock.advance(timedelta(days=2))
    prune(uow, outbox_days=7, inbox_days=30, audit_days=90)
    assert dlq_audit.entries(uow, "default") == []


def test_a_group_replay_is_a_snapshot_spaced_at_the_rate(uow: UnitOfWorkFactory) -> None:
    ids = [
        _dead(uow, json.dumps(item_event(f"R-{i}")).encode(), event_id=f"e-{i}") for i in range(5)
    ]
    other = _dead(uow, b"{}", error_type="InvalidMessage")
    done = DeadLetters(uow, "default").replay(
        None, DeadLetterFilter("ledger", "PermanentError"), by="ops", rate=50
    )
    assert done == ids
    late = _dead(uow, b"{}")  # fails after the snapshot: not part of this replay
    rows = _outbox(uow)
    assert [r.available_at - NOW for r in rows] == [timedelta(seconds=i * 0.02) for i in range(5)]
    assert {(r.kind, r.exchange, r.routing_key) for r in rows} == {("replay", DIRECT, "hub.ledger")}
    left = {dl.id for dl in DeadLetters(uow, "default").find(DeadLetterFilter())}
    assert left == {other, late}
    replayed = [e for e in dlq_audit.entries(uow, "default") if e.action == "replayed"]
    assert len(replayed) == 5 and {e.by for e in replayed} == {"ops"}
    assert all(e.detail and e.detail.startswith("at 50/s") for e in replayed)


def test_an_edited_message_is_validated_then_replayed_with_the_original_and_diff_kept(
    uow: UnitOfWorkFactory,
) -> None:
    original = item_event("E-1")
    original["data"]["amount"] = "lots"
    del original["subject"]
    dl_id = _dead(uow, json.dumps(original).encode(), error_type="InvalidMessage")
    text = editable(DeadLetters(uow, "default").get(dl_id))
    assert json.loads(text) == original and text.startswith("{\n  ")

    with pytest.raises(InvalidMessage) as invalid:
        replay_corrected(uow, dl_id, text.replace('"E-1"', '""'), tenant="default", by="ana")
    assert "subject: Field required" in invalid.value.problems
    with pytest.raises(InvalidMessage, match="body is not JSON"):
        replay_corrected(uow, dl_id, text[:-5], tenant="default", by="ana")
    with pytest.raises(NothingChanged):
        replay_corrected(uow, dl_id, text, tenant="default", by="ana")
    assert _outbox(uow) == [] and DeadLetters(uow, "default").get(dl_id).status == "dead"

    corrected = {**original, "subject": "E-1"}
    corrected["data"] = {**original["data"], "amount": "12.00"}
    entry = replay_corrected(uow, dl_id, json.dumps(corrected), tenant="default", by="ana")
    (row,) = _outbox(uow)
    assert json.loads(row.body) == corrected
    assert (row.kind, row.routing_key, row.event_id) == ("replay", "hub.ledger", original["id"])
    assert row.headers["x-hub-replay-of"] == dl_id and row.headers["x-hub-edited"] is True
    assert DeadLetters(uow, "default").get(dl_id).status == "replayed"
    (audit,) = dlq_audit.entries(uow, "default", dl_id)
    assert (audit.action, audit.by) == ("edited", "ana")
    assert json.loads(audit.body) == original  # the original, as it failed
    assert json.loads(audit.corrected or b"") == corrected
    assert '-    "amount": "lots"' in (audit.diff or "")
    assert '+    "amount": "12.00"' in (audit.diff or "")
    assert '+  "subject": "E-1"' in (audit.diff or "")
    assert entry["diff"] == audit.diff


def test_a_mail_the_relay_kept_is_not_edited(uow: UnitOfWorkFactory) -> None:
    dl_id = _dead(uow, b'{"to": "x@example.org"}', headers={OUTBOX_ORIGIN: {"kind": "mail"}})
    with pytest.raises(NotEditable):
        replay_corrected(uow, dl_id, '{"to": "y@example.org"}', tenant="default", by="ana")


def test_purging_an_unknown_id_purges_nothing(uow: UnitOfWorkFactory, tmp_path: Path) -> None:
    kept = _dead(uow, b"{}")
    from hub.runtime.deadletters import DeadLetterNotFound

    with pytest.raises(DeadLetterNotFound):
        DeadLetters(uow, "default").purge([kept, kept + 100], by="ops")
    assert [dl.id for dl in DeadLetters(uow, "default").find()] == [kept]
    assert dlq_audit.entries(uow, "default") == []
