"""The benchmark's batched loop does the per-message loop's work in a constant number of
statements per batch, so that the "limit" row it gives is an honest one."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from hub.bench import baseline, limit
from hub.bench.mix import Mix
from hub.bench.run import _dsn


class _Counting:
    """A connection whose statements are counted."""

    def __init__(self, db: psycopg.Connection[Any]) -> None:
        self.db = db
        self.statements = 0

    def execute(self, *args: Any) -> Any:
        self.statements += 1
        return self.db.execute(*args)


def _loop_answers(dsn: str, mix: Mix, write: Any) -> tuple[list[str], dict[str, int]]:
    baseline.preload(dsn, mix.enrollment_records())
    with psycopg.connect(dsn) as db:
        answers = write(db, [m.body for m in mix.sends])
    return sorted(f"{a['causationid']} {a['type']}" for a in answers), baseline.counts(dsn)


def _per_message(db: psycopg.Connection[Any], bodies: list[bytes]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for body in bodies:
        baseline.handle_one(db, body, out.append)
    return out


def _batched(db: psycopg.Connection[Any], bodies: list[bytes]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for start in range(0, len(bodies), limit.BATCH):
        with db.transaction():
            out += limit.write_batch(db, bodies[start : start + limit.BATCH]).answers
    return out


def test_the_batched_loop_gives_the_per_message_loops_answers_and_effects() -> None:
    from tests.services import fresh_postgres_database

    mix = Mix(400, 0.2, tag="same")
    with fresh_postgres_database() as one, fresh_postgres_database() as other:
        expected = _loop_answers(_dsn(one), mix, _per_message)
        got = _loop_answers(_dsn(other), mix, _batched)
    assert got == expected
    answers, stored = got
    assert len(answers) > 400 and stored["dead"] == mix.invalid > 0


@pytest.mark.parametrize("workload", ["mix", "agreements"])
def test_a_batch_costs_at_most_five_statements_whatever_its_size(
    postgres_url: str, workload: str
) -> None:
    dsn = _dsn(postgres_url)
    mix = Mix(limit.BATCH * 2, 0.1, tag=workload, workload=workload)
    baseline.preload(dsn, mix.enrollment_records())
    with psycopg.connect(dsn) as db:
        counting = _Counting(db)
        with db.transaction():
            written = limit.write_batch(counting, [m.body for m in mix.sends[: limit.BATCH]])  # type: ignore[arg-type]
    assert counting.statements <= 5
    assert written.tickets and len(written.answers) >= len(written.tickets)


def test_a_later_event_of_a_batch_sees_an_earlier_ones_enrollment(postgres_url: str) -> None:
    dsn = _dsn(postgres_url)
    baseline.preload(dsn, [])
    mix = Mix(200, 0, tag="order")
    enrollment = next(m for m in mix.sends if m.kind == "enrollment")
    ra = json.loads(enrollment.body)["data"]["ra"]
    request = next(m for m in mix.sends if m.kind == "request")
    asked = json.loads(request.body)
    asked["data"]["student"]["ra"] = ra
    old = json.loads(enrollment.body)
    old["id"] += "-old"
    old["data"]["version"] = 0
    bodies = [enrollment.body, json.dumps(asked).encode(), json.dumps(old).encode()]
    with psycopg.connect(dsn) as db, db.transaction():
        written = limit.write_batch(db, bodies)
    assert [a["type"] for a in written.answers] == [
        "crm.ticket.created",
        "billing.charge.requested",
    ]
    assert written.enrollments == {ra: (f"CT-{ra}", "active", 1)}  # the older version is dropped


def test_an_event_the_loop_cannot_handle_is_dead_and_claims_no_key(postgres_url: str) -> None:
    dsn = _dsn(postgres_url)
    baseline.preload(dsn, [])
    request = json.loads(next(m for m in Mix(50, 0, tag="bad").sends if m.kind == "request").body)
    request["data"]["student"] = "RA-1"
    with psycopg.connect(dsn) as db:
        with db.transaction():
            written = limit.write_batch(db, [json.dumps(request).encode(), b"{"])
        claimed = db.execute("SELECT count(*) FROM baseline_inbox").fetchone()
    assert len(written.dead) == 2 and not written.answers and claimed == (0,)
