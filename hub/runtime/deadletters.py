"""The dead-letter store as operators use it: list, show, replay, purge.

Replaying writes the original bytes to the outbox, addressed to the queue of the consumer that
failed (not to every subscriber of the event type), with the attempt count reset; the relay
publishes it. A dead letter that was an outbox row the relay could not deliver (e.g. mail a
server refused) goes back to the outbox as that row was. The dead letter is kept, marked
``replayed``, until purged. Replays and purges are recorded in the audit
(``hub.runtime.dlq_audit``); editing a dead letter is ``hub.runtime.dlq_edit``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, true

from hub.errors import HubError
from hub.runtime import dlq_audit as audit
from hub.runtime.oversize import ORIGINAL_BYTES, is_truncated
from hub.runtime.processor import ATTEMPT, FIRST_FAILURE, LAST_ERROR
from hub.runtime.relay import OUTBOX_ORIGIN
from hub.runtime.transport import DIRECT
from hub.runtime.uow import UnitOfWorkFactory
from hub.store.models import DeadLetter, OutboxMessage


class DeadLetterNotFound(HubError):
    pass


class NotReplayable(HubError):
    """The dead letter cannot be sent again as it is (it was stored truncated)."""


@dataclass(frozen=True)
class DeadLetterFilter:
    consumer: str | None = None
    error_type: str | None = None
    event_type: str | None = None
    status: str | None = "dead"  # None: every status


def summary(dl: DeadLetter) -> dict[str, Any]:
    return {
        "id": dl.id,
        "tenant": dl.tenant_id,
        "consumer": dl.consumer,
        "queue": dl.queue,
        "event_id": dl.event_id,
        "event_type": dl.event_type,
        "correlation_id": dl.correlation_id,
        "error_type": dl.error_type,
        "error_message": dl.error_message,
        "attempts": dl.attempts,
        "first_failed_at": dl.first_failed_at.isoformat(),
        "last_failed_at": dl.last_failed_at.isoformat(),
        "status": dl.status,
        "replayed_at": dl.replayed_at.isoformat() if dl.replayed_at else None,
    }


def detail(dl: DeadLetter) -> dict[str, Any]:
    body_text = dl.body.decode("utf-8", "replace")
    try:
        payload: Any = json.loads(dl.body)
    except (ValueError, UnicodeDecodeError):
        payload = None
    return {
        **summary(dl),
        "headers": dl.headers,
        "body": body_text,
        "payload": payload,
        "traceback": dl.traceback,
    }


def _matching(where: DeadLetterFilter | None) -> list[ColumnElement[bool]]:
    """The conditions of ``where``: every field it gives must match."""
    if where is None:
        return []
    fields = [
        (DeadLetter.consumer, where.consumer),
        (DeadLetter.error_type, where.error_type),
        (DeadLetter.event_type, where.event_type),
        (DeadLetter.status, where.status),
    ]
    return [column == value for column, value in fields if value]


class DeadLetters:
    """A tenant's dead letters: every query is scoped to ``tenant`` (a dead letter of another
    tenant is ``DeadLetterNotFound``). ``tenant=None`` is the whole installation, for the
    hub's own metrics only."""

    def __init__(self, uow: UnitOfWorkFactory, tenant: str | None) -> None:
        self.uow = uow
        self.tenant = tenant

    def _mine(self) -> Any:
        return DeadLetter.tenant_id == self.tenant if self.tenant is not None else true()

    def find(
        self, where: DeadLetterFilter = DeadLetterFilter(), limit: int = 1000
    ) -> list[DeadLetter]:
        query = (
            select(DeadLetter)
            .where(self._mine(), *_matching(where))
            .order_by(DeadLetter.id)
            .limit(limit)
        )
        with self.uow.sessions() as session:
            return list(session.scalars(query))

    def groups(self) -> list[dict[str, Any]]:
        """Dead letters awaiting action, counted by consumer and error type."""
        query = (
            select(
                DeadLetter.consumer,
                DeadLetter.error_type,
                func.count(),
                func.max(DeadLetter.last_failed_at),
            )
            .where(self._mine(), DeadLetter.status == "dead")
            .group_by(DeadLetter.consumer, DeadLetter.error_type)
            .order_by(func.count().desc())
        )
        with self.uow.sessions() as session:
            return [
                {"consumer": c, "error_type": e, "count": n, "last_failed_at": last}
                for c, e, n, last in session.execute(query)
            ]

    def get(self, dl_id: int) -> DeadLetter:
        with self.uow.sessions() as session:
            dl = session.get(DeadLetter, dl_id)
        if dl is None or (self.tenant is not None and dl.tenant_id != self.tenant):
            raise DeadLetterNotFound(f"no dead letter with id {dl_id}")
        return dl

    def replay(
        self,
        ids: list[int] | None = None,
        where: DeadLetterFilter | None = None,
        *,
        by: str = "unknown",
        rate: float | None = None,
    ) -> list[int]:
        """Send dead letters back to their consumer's queue; ``ids=None`` replays every one
        matching ``where`` (default: all awaiting action). Returns the ids replayed.

        The dead letters are chosen once, in one transaction: those that arrive later are not
        part of the replay. With ``rate`` (messages a second) their outbox rows fall due one
        after the other at that rate, so the relay sends them no faster. Each replay is in the
        audit, by ``by``."""
        now: datetime = self.uow.clock.now()
        spacing = 1.0 / rate if rate else 0.0
        with self.uow.sessions() as session, session.begin():
            mine = self._mine()
            query = (
                select(DeadLetter).where(mine, DeadLetter.status == "dead").order_by(DeadLetter.id)
            )
            if ids is not None:
                query = query.where(DeadLetter.id.in_(ids))
                missing = set(ids) - {
                    dl.id
                    for dl in session.scalars(
                        select(DeadLetter).where(mine, DeadLetter.id.in_(ids))
                    )
                }
                if missing:
                    raise DeadLetterNotFound(f"no dead letter with id {min(missing)}")
            query = query.where(*_matching(where))
            chosen = []
            for dl in session.scalars(query.with_for_update()):
                if is_truncated(dl.headers):
                    if ids is not None:
                        raise NotReplayable(
                            f"dead letter {dl.id} keeps only the first bytes of a message of "
                            f"{dl.headers.get(ORIGINAL_BYTES)} bytes: it cannot be replayed; "
                            "its producer must send it again within the limit"
                        )
                    continue  # a group replay leaves it for its producer to send again
                chosen.append(dl)
            for n, dl in enumerate(chosen):
                due = now + timedelta(seconds=n * spacing)
                session.add(replay_row(dl, dl.body, now, due))
                dl.status = "replayed"
                dl.replayed_at = now
                note = (
                    f"at {rate:g}/s, {n + 1} of {len(chosen)}, due {due.isoformat()}"
                    if rate
                    else None
                )
                audit.record(session, dl, "replayed", by=by, at=now, detail=note)
            replayed = [dl.id for dl in chosen]
        self.uow.on_commit()
        return replayed

    def purge(
        self,
        ids: list[int] | None = None,
        where: DeadLetterFilter | None = None,
        *,
        by: str = "unknown",
    ) -> int:
        """Delete dead letters for good; ``ids=None`` purges every one matching ``where``.
        Each stays readable in the audit (who, when, the message) for its retention period."""
        query = select(DeadLetter).where(self._mine()).order_by(DeadLetter.id)
        if ids is not None:
            query = query.where(DeadLetter.id.in_(ids))
        query = query.where(*_matching(where))
        now = self.uow.clock.now()
        with self.uow.sessions() as session, session.begin():
            doomed = list(session.scalars(query.with_for_update()))
            if ids is not None and len(doomed) < len(set(ids)):
                missing = sorted(set(ids) - {dl.id for dl in doomed})
                raise DeadLetterNotFound(f"no dead letter with id(s) {missing}")
            for dl in doomed:
                audit.record(session, dl, "purged", by=by, at=now)
                session.delete(dl)
        return len(doomed)

    def count(self, where: DeadLetterFilter) -> int:
        """How many dead letters match ``where``."""
        query = select(func.count()).select_from(DeadLetter).where(self._mine(), *_matching(where))
        with self.uow.sessions() as session:
            return int(session.scalar(query) or 0)


def replay_row(dl: DeadLetter, body: bytes, now: datetime, due: datetime) -> OutboxMessage:
    """The outbox row that sends ``body`` (the dead letter's, or a corrected one) back where
    ``dl`` failed: the consumer's queue, or, for an outbox row the relay could not deliver, the
    place that row was going."""
    headers = {
        k: v for k, v in (dl.headers or {}).items() if k not in (ATTEMPT, FIRST_FAILURE, LAST_ERROR)
    }
    headers["x-hub-replay-of"] = dl.id
    origin = headers.pop(OUTBOX_ORIGIN, None) or {
        "kind": "replay",
        "exchange": DIRECT,
        "routing_key": dl.queue,
        "subject": None,
        "causation_id": None,
    }
    return OutboxMessage(
        tenant_id=dl.tenant_id,
        event_id=dl.event_id or f"dead-letter-{dl.id}",
        event_type=dl.event_type or "?",
        headers=headers,
        body=body,
        correlation_id=dl.correlation_id,
        created_at=now,
        available_at=due,
        **origin,
    )
