"""Property: no sequence of attempted moves leaves a ticket where its flow does not allow."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.workflow.config import parse
from hub.workflow.errors import WorkflowError
from hub.workflow.tickets import Ticket
from tests.unit.workflow.conftest import NOW, demo_raw

CONFIG = parse(demo_raw())
PEOPLE = ["system", "ana", "bruno", "carla", "diana", "admin", "RA-1", "stranger"]
REASONS = [None, "", "ok", "student gave up", "no answer from the student"]


def _stages(type_id: str) -> list[str]:
    return [*CONFIG.ticket_types[type_id].stages, "nowhere"]


attempt = st.tuples(
    st.sampled_from(sorted({s for t in CONFIG.ticket_types for s in _stages(t)})),
    st.sampled_from(REASONS),
    st.sampled_from(PEOPLE),
    st.booleans(),  # also try to cancel
)


@settings(max_examples=60, deadline=None)
@given(
    type_id=st.sampled_from(sorted(CONFIG.ticket_types)), attempts=st.lists(attempt, max_size=12)
)
def test_random_moves_never_break_the_flow(
    type_id: str, attempts: list[tuple[str, str | None, str, bool]]
) -> None:
    tt = CONFIG.ticket_types[type_id]
    params: dict[str, object] = {
        "edu.second-call-exam": {"discipline": "MAT101"},
        "cc.invoice-copy": {"invoice": "NF-1"},
        "cc.transcript": {"ra": "RA-1"},
    }.get(type_id, {})
    if type_id == "finance.agreement-approval":
        params = {
            "agreement_id": "A",
            "customer": {"id": "c"},
            "company": "1",
            "branch": "1",
            "amount": "1",
        }
    t = Ticket.open(
        CONFIG,
        1,
        type_id,
        ticket_id="T",
        by="system",
        now=NOW,
        parameters=params,
        customer_id="RA-1",
    )
    path = [t.stage]
    for stage, reason, by, cancel in attempts:
        before = (t.stage, t.status, t.holder, dict(t.parameters), len(t.changes))
        try:
            if cancel:
                t.cancel(reason, by, now=NOW)
            else:
                t.move_to(stage, reason, by, now=NOW)
                path.append(stage)
        except WorkflowError:
            assert (t.stage, t.status, t.holder, dict(t.parameters), len(t.changes)) == before
        # invariants
        assert t.stage in tt.stages
        assert (t.status == "completed") == (
            tt.stages[t.stage].concludes and t.status != "cancelled"
        )
        if t.status != "open":
            assert t.allowed_moves() == []
    for a, b in zip(path, path[1:], strict=False):
        assert tt.flow(a, b) is not None, f"{a} -> {b} is not in the flow"
    moves = [c for c in t.changes if c.kind == "move"]
    assert [c.to_stage for c in moves] == path[1:]
    assert all(c.reason for c in moves if tt.flow(c.from_stage or "", c.to_stage).needs_reason)  # type: ignore[union-attr]
