"""The eligibility checks of a student's request, in their order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from hub.education.eligibility import check_request
from hub.education.refdata import Debt, Enrollment
from hub.workflow.config import WorkflowConfig
from hub.workflow.loader import load_demo

ACTIVE = Enrollment("RA-1", "1", "2027-1", "CT-1", "active", ("MAT101", "FIS201"), 10, 1)
NO_DEBT = Debt("RA-1", "1", Decimal("0.00"))
DEBT = Debt("RA-1", "1", Decimal("0.01"))
IN_WINDOW = date(2027, 3, 1)


@pytest.fixture(scope="module")
def demo() -> WorkflowConfig:
    return load_demo()


def check(
    demo: WorkflowConfig,
    type_id: str = "edu.second-call-exam",
    *,
    on: date = IN_WINDOW,
    params: dict[str, Any] | None = None,
    enrollment: Enrollment | None = ACTIVE,
    debt: Debt | None = NO_DEBT,
) -> tuple[str, str] | None:
    rejection = check_request(
        demo.ticket_type(type_id),
        requested_on=on,
        academic_period="2027-1",
        parameters={"discipline": "MAT101"} if params is None else params,
        enrollment=enrollment,
        debt=debt,
    )
    return None if rejection is None else (rejection.reason, rejection.detail)


def test_an_eligible_request_passes(demo: WorkflowConfig) -> None:
    assert check(demo) is None
    assert check(demo, debt=None) is None  # no debt record: nothing open


def test_the_checks_apply_in_order(demo: WorkflowConfig) -> None:
    everything_wrong: dict[str, Any] = {
        "on": date(2035, 1, 1),
        "params": {"discipline": "NOPE"},
        "debt": DEBT,
    }
    inactive = Enrollment("RA-1", "1", "2027-1", "CT-1", "cancelled")
    assert check(demo, enrollment=None, **everything_wrong)[0] == "not_enrolled"  # type: ignore[index]
    assert check(demo, enrollment=inactive, **everything_wrong)[0] == "contract_inactive"  # type: ignore[index]
    assert check(demo, **everything_wrong)[0] == "outside_window"  # type: ignore[index]
    assert check(demo, params={"discipline": "NOPE"}, debt=DEBT)[0] == "has_debts"  # type: ignore[index]
    assert check(demo, params={"discipline": "NOPE"})[0] == "invalid_parameters"  # type: ignore[index]


def test_the_window_includes_its_first_and_last_day(demo: WorkflowConfig) -> None:
    assert check(demo, on=date(2026, 1, 1)) is None
    assert check(demo, on=date(2030, 12, 31)) is None
    assert check(demo, on=date(2025, 12, 31))[0] == "outside_window"  # type: ignore[index]


def test_debts_are_checked_only_when_the_type_asks(demo: WorkflowConfig) -> None:
    assert check(demo, "edu.transcript", params={}, debt=DEBT) is None
    assert check(demo, debt=DEBT) == ("has_debts", "open amount 0.01")


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({}, "parameters.discipline: required"),
        ({"discipline": "  "}, "parameters.discipline: required"),
        ({"discipline": "QUI301"}, "parameters.discipline: 'QUI301' is not one of the allowed"),
        ({"discipline": "MAT101", "grade": "10"}, "parameters.grade: not a parameter"),
        ({"discipline": "MAT101", "exam_date": "soon"}, "parameters.exam_date:"),
    ],
)
def test_parameter_problems_name_the_field(
    demo: WorkflowConfig, params: dict[str, Any], detail: str
) -> None:
    result = check(demo, params=params)
    assert result is not None and result[0] == "invalid_parameters"
    assert result[1].startswith(detail)


def test_the_disciplines_come_from_the_students_enrollment(demo: WorkflowConfig) -> None:
    other = Enrollment("RA-1", "1", "2027-1", "CT-1", "active", ("QUI301",))
    assert check(demo, params={"discipline": "QUI301"}, enrollment=other) is None
    assert check(demo, params={"discipline": "MAT101"}, enrollment=other)[0] == (  # type: ignore[index]
        "invalid_parameters"
    )
