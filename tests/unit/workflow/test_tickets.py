"""The ticket's rules, on the domain object alone (no store)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import pytest

from hub.workflow.config import WorkflowConfig
from hub.workflow.errors import (
    FieldRuleViolation,
    IllegalMove,
    InvalidParameters,
    OutsideValidity,
    PermissionDenied,
    ReasonRequired,
    WorkflowError,
)
from hub.workflow.permissions import Holder
from hub.workflow.tickets import Ticket
from schemas import EVENT_DATA
from tests.unit.workflow.conftest import NOW

FIN = "finance.agreement-approval"
EXAM = "edu.second-call-exam"
AGREEMENT = {
    "agreement_id": "AG-1",
    "customer": {"id": "C-1", "name": "Maria"},
    "company": "1",
    "branch": "1",
    "amount": "1500.00",
}


class Disciplines:
    def options(self, source: str, context: Mapping[str, Any]) -> Sequence[str] | None:
        assert source == "student.disciplines"
        return ["MAT101", "FIS201"] if context["customer_id"] == "RA-1" else None


def finance(demo: WorkflowConfig) -> Ticket:
    return Ticket.open(demo, 1, FIN, ticket_id="T-1", by="system", now=NOW, parameters=AGREEMENT)


def exam(demo: WorkflowConfig, **params: Any) -> Ticket:
    return Ticket.open(
        demo,
        1,
        EXAM,
        ticket_id="T-2",
        by="system",
        now=NOW,
        customer_id="RA-1",
        parameters={"discipline": "MAT101", **params},
        sources=Disciplines(),
    )


def test_opening_records_created_and_holds_the_first_stage(demo: WorkflowConfig) -> None:
    t = finance(demo)
    assert (t.stage, t.status, t.holder) == ("analysis", "open", Holder("attendant", "ana"))
    assert [e.type for e in t.events] == ["crm.ticket.created"]
    assert t.due_at == NOW + timedelta(hours=48)
    assert t.changes[0].kind == "open"


def test_validity_window_is_enforced(demo: WorkflowConfig) -> None:
    with pytest.raises(OutsideValidity):
        Ticket.open(
            demo,
            1,
            "edu.transcript",
            ticket_id="T",
            by="system",
            now=NOW,
            valid_on=date(2025, 12, 31),
        )


def test_required_parameters_and_options(demo: WorkflowConfig) -> None:
    with pytest.raises(InvalidParameters, match="discipline"):
        Ticket.open(demo, 1, EXAM, ticket_id="T", by="system", now=NOW, customer_id="RA-1")
    with pytest.raises(InvalidParameters, match="not one of the allowed options"):
        exam(demo, discipline="HIS999")
    with pytest.raises(InvalidParameters, match="not a parameter"):
        exam(demo, colour="red")
    with pytest.raises(InvalidParameters, match="decimal"):
        Ticket.open(
            demo,
            1,
            FIN,
            ticket_id="T",
            by="system",
            now=NOW,
            parameters={**AGREEMENT, "amount": 10.5},
        )


def test_a_move_outside_the_flow_is_illegal(demo: WorkflowConfig) -> None:
    t = exam(demo)
    with pytest.raises(IllegalMove, match="no flow from 'requested' to 'done'"):
        t.move_to("done", None, "bruno", now=NOW)
    assert t.stage == "requested"


def test_reason_required_by_flow_and_by_rejection_stage(demo: WorkflowConfig) -> None:
    t = finance(demo)
    with pytest.raises(ReasonRequired):
        t.move_to("rejected", "  ", "ana", now=NOW)
    t.move_to("rejected", "amount above limit", "ana", now=NOW)
    assert t.status == "completed"


def test_reason_from_a_list(demo: WorkflowConfig) -> None:
    t = Ticket.open(demo, 1, "edu.transcript", ticket_id="T", by="system", now=NOW)
    t.move_to("charge-failed", None, "bruno", now=NOW)
    with pytest.raises(ReasonRequired, match="one of"):
        t.move_to("rejected", "whatever", "bruno", now=NOW)
    t.move_to("rejected", "student gave up", "bruno", now=NOW)


def test_field_rules_required_and_read_only(demo: WorkflowConfig) -> None:
    t = exam(demo)
    with pytest.raises(FieldRuleViolation, match="discipline"):
        t.move_to("awaiting-fee", None, "bruno", now=NOW, fields={"discipline": "FIS201"})
    t.move_to("awaiting-fee", None, "bruno", now=NOW)
    t.move_to("fee-accepted", None, t.customer_id or "", now=NOW)  # the student accepts
    t.move_to("scheduled", None, "bruno", now=NOW)
    with pytest.raises(FieldRuleViolation, match="exam_date"):
        t.move_to("done", None, "bruno", now=NOW)
    t.move_to("done", None, "bruno", now=NOW, fields={"exam_date": "2026-06-10"})
    assert t.parameters["exam_date"] == "2026-06-10" and t.status == "completed"


def test_invisible_fields_are_hidden_and_not_writable(demo: WorkflowConfig) -> None:
    raw_type = demo.ticket_types[EXAM]
    stages = dict(raw_type.stages)
    stages["requested"] = stages["requested"].model_copy(
        update={"fields": {"justification": "invisible"}}
    )
    config = demo.model_copy(
        update={
            "ticket_types": {
                **demo.ticket_types,
                EXAM: raw_type.model_copy(update={"stages": stages}),
            }
        }
    )
    t = exam(config, justification="sick")
    assert "justification" not in t.visible_parameters()
    with pytest.raises(FieldRuleViolation):
        t.update_fields({"justification": "x"}, "bruno", now=NOW)


def test_permissions_holder_group_manager_admin_and_strangers(demo: WorkflowConfig) -> None:
    with pytest.raises(PermissionDenied, match="may not act"):
        finance(demo).move_to("approved", None, "bruno", now=NOW)
    with pytest.raises(PermissionDenied, match="unknown user"):
        finance(demo).move_to("approved", None, "mallory", now=NOW)
    for who in ("ana", "carla", "admin", "system"):  # holder, her manager, admin, the system
        finance(demo).move_to("approved", None, who, now=NOW)
    exam(demo).move_to("awaiting-fee", None, "diana", now=NOW)  # member of the holding group


def test_only_an_administrator_cancels_and_only_a_ticket_the_customer_holds(
    demo: WorkflowConfig,
) -> None:
    t = exam(demo)  # held by the secretariat
    for who in ("admin", "bruno", "RA-1"):
        with pytest.raises(PermissionDenied):
            t.cancel("changed my mind", who, now=NOW)
    with pytest.raises(PermissionDenied, match="not under the customer's responsibility"):
        t.cancel("changed my mind", "admin", now=NOW)
    t.move_to("awaiting-student", "need a medical certificate", "bruno", now=NOW)
    assert t.holder == Holder("customer", "RA-1")
    for who in ("bruno", "diana", "RA-1"):  # the secretariat, its manager, the customer
        with pytest.raises(PermissionDenied, match="only administrators may cancel"):
            t.cancel("changed my mind", who, now=NOW)
    assert t.status == "open" and t.events[-1].type == "crm.ticket.stage-changed"
    t.cancel("changed my mind", "admin", now=NOW)
    assert t.status == "cancelled"
    assert t.events[-1].type == "crm.ticket.cancelled"
    assert t.changes[-1].by == "admin"


def test_only_an_administrator_deletes_and_only_a_cancelled_ticket(demo: WorkflowConfig) -> None:
    t = exam(demo)
    with pytest.raises(IllegalMove, match="only a cancelled ticket may be deleted"):
        t.check_may_delete("admin")
    t.move_to("awaiting-student", "need a medical certificate", "bruno", now=NOW)
    t.cancel("asked twice", "admin", now=NOW)
    for who in ("bruno", "diana", "RA-1"):
        with pytest.raises(PermissionDenied, match="only administrators may delete"):
            t.check_may_delete(who)
    t.check_may_delete("admin")


def test_internal_notes_are_the_attendants(demo: WorkflowConfig) -> None:
    t = exam(demo)
    note = t.comment("the certificate looks forged", "bruno", now=NOW, internal=True)
    assert note.internal
    assert not t.comment("when is the exam?", "RA-1", now=NOW).internal
    with pytest.raises(PermissionDenied, match="internal notes are the attendants'"):
        t.comment("psst", "RA-1", now=NOW, internal=True)


def test_the_system_cancels_any_open_ticket(demo: WorkflowConfig) -> None:
    t = exam(demo)  # held by the secretariat: a consumer or a timer still cancels it
    t.cancel("the enrollment was withdrawn", "system:edu-requests", now=NOW)
    assert t.status == "cancelled"


def test_cancel_needs_a_reason_and_closed_tickets_are_read_only(demo: WorkflowConfig) -> None:
    t = finance(demo)
    with pytest.raises(ReasonRequired):
        t.cancel("", "system", now=NOW)
    t.comment("looking at it", "ana", now=NOW)
    t.cancel("duplicate", "system", now=NOW)
    with pytest.raises(IllegalMove):
        t.move_to("approved", None, "ana", now=NOW)
    with pytest.raises(IllegalMove, match="discussion is closed"):
        t.comment("late", "ana", now=NOW)


def test_discussion_is_writable_by_anyone_involved_while_open(demo: WorkflowConfig) -> None:
    t = exam(demo)
    t.comment("when is the exam?", "RA-1", now=NOW)  # the customer, though not holding it
    t.comment("soon", "carla", now=NOW)  # any attendant
    with pytest.raises(PermissionDenied):
        t.comment("hi", "stranger", now=NOW)


def test_approval_emits_the_contract_event_built_from_the_ticket(demo: WorkflowConfig) -> None:
    t = finance(demo)
    t.move_to("approved", None, "ana", now=NOW)
    changed, approved = t.events[-2:]
    assert changed.type == "crm.ticket.stage-changed"
    assert changed.data["from_stage"] == "analysis" and changed.data["by"] == "ana"
    assert approved.type == "finance.agreement.approved" and approved.subject == "AG-1"
    data = EVENT_DATA["finance.agreement.approved"].model_validate(approved.data)
    assert (data.agreement_id, data.ticket_id, data.decided_by) == ("AG-1", "T-1", "ana")
    assert data.decided_at == NOW


def test_rejection_event_carries_the_reason(demo: WorkflowConfig) -> None:
    t = finance(demo)
    t.move_to("rejected", "amount above limit", "ana", now=NOW)
    rejected = EVENT_DATA["finance.agreement.rejected"].model_validate(t.events[-1].data)
    assert rejected.reason == "amount above limit"


def test_set_field_action_and_allowed_moves(demo: WorkflowConfig) -> None:
    t = Ticket.open(demo, 1, "edu.transcript", ticket_id="T-9", by="system", now=NOW)
    moves = {m["stage"]: m for m in t.allowed_moves()}
    assert moves["rejected"]["purpose"] == "rejection" and moves["rejected"]["reason_required"]
    assert not moves["issued"]["reason_required"]
    t.move_to("issued", None, "bruno", now=NOW)
    assert t.parameters["tracking_code"] == "TR-T-9"
    assert t.allowed_moves() == [] and t.due_at is None


def test_classification_changes_when_changeable_to_an_active_one(demo: WorkflowConfig) -> None:
    t = finance(demo)
    assert t.classification == "agreement"
    # only those of the ticket type's service: a student request's is not offered
    assert t.classifications_allowed() == ["agreement-priority"]
    with pytest.raises(WorkflowError, match="'student-request' is of the service 'edu.services'"):
        t.classify("student-request", "ana", now=NOW)
    with pytest.raises(PermissionDenied):
        t.classify("agreement-priority", "bruno", now=NOW)  # not holding it
    with pytest.raises(WorkflowError, match="'agreement-legacy' is inactive"):
        t.classify("agreement-legacy", "ana", now=NOW)
    with pytest.raises(WorkflowError, match="'nope' is unknown"):
        t.classify("nope", "ana", now=NOW)
    change = t.classify("agreement-priority", "ana", now=NOW)
    assert t.classification == "agreement-priority"
    assert change is not None and change.kind == "classify"
    assert change.reason == "classification agreement -> agreement-priority"
    assert t.classify("agreement-priority", "ana", now=NOW) is None  # already so: nothing
    assert t.events[-1].type == "crm.ticket.created"  # no contract event for it
    t.cancel("duplicate", "system", now=NOW)
    assert t.classifications_allowed() == []
    with pytest.raises(IllegalMove):
        t.classify("agreement", "ana", now=NOW)


def test_a_classification_that_is_not_changeable_stays(demo: WorkflowConfig) -> None:
    t = exam(demo)
    assert t.classification == "student-request"
    assert t.classifications_allowed() == []
    with pytest.raises(IllegalMove, match="'student-request' cannot be changed"):
        t.classify("agreement", "bruno", now=NOW)
