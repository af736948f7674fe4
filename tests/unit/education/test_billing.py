"""Due-date rules and the charge amount: pure functions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from hub.education.billing import (
    BillingError,
    charge_amount,
    days_after_due_date,
    due_date,
    fixed_day_due_date,
    period_table_due_date,
    plan_charge,
)
from hub.workflow.config import DueDateRule, PeriodDueDate, WorkflowConfig
from hub.workflow.loader import load_demo


@pytest.mark.parametrize(
    ("requested", "fixed_day", "expected"),
    [
        (date(2027, 2, 3), 31, date(2027, 2, 28)),  # 31 in February: its last day
        (date(2028, 2, 3), 31, date(2028, 2, 29)),  # leap year
        (date(2027, 2, 28), 31, date(2027, 3, 31)),  # February's last day is taken: next month
        (date(2027, 4, 10), 31, date(2027, 4, 30)),  # a 30-day month
        (date(2027, 1, 31), 30, date(2027, 2, 28)),  # 30 clamped in February
        (date(2027, 3, 5), 10, date(2027, 3, 10)),  # later this month
        (date(2027, 3, 10), 10, date(2027, 4, 10)),  # the day itself: next month
        (date(2027, 3, 20), 10, date(2027, 4, 10)),
        (date(2027, 12, 15), 5, date(2028, 1, 5)),  # across the year end
        (date(2027, 12, 31), 31, date(2028, 1, 31)),
        (date(2027, 1, 1), 1, date(2027, 2, 1)),
    ],
)
def test_the_contracts_fixed_day_clamped_to_the_month_end(
    requested: date, fixed_day: int, expected: date
) -> None:
    assert fixed_day_due_date(requested, fixed_day) == expected


@pytest.mark.parametrize("bad", [0, 32, -1])
def test_a_fixed_day_outside_1_to_31_is_refused(bad: int) -> None:
    with pytest.raises(BillingError):
        fixed_day_due_date(date(2027, 1, 1), bad)


@pytest.mark.parametrize(
    ("requested", "days", "expected"),
    [
        (date(2026, 11, 25), 10, date(2026, 12, 5)),
        (date(2027, 1, 31), 1, date(2027, 2, 1)),
        (date(2028, 2, 28), 1, date(2028, 2, 29)),
        (date(2027, 12, 25), 10, date(2028, 1, 4)),
        (date(2027, 5, 5), 0, date(2027, 5, 5)),
    ],
)
def test_n_days_after_the_request(requested: date, days: int, expected: date) -> None:
    assert days_after_due_date(requested, days) == expected


TABLE = [
    PeriodDueDate(period="2027-1", requested_until=date(2027, 3, 31), due_date=date(2027, 4, 10)),
    PeriodDueDate(period="2027-1", requested_until=date(2027, 2, 28), due_date=date(2027, 3, 10)),
    PeriodDueDate(period="2027-1", requested_until=date(2027, 6, 30), due_date=None),
    PeriodDueDate(period="2027-2", requested_until=date(2027, 9, 30), due_date=date(2027, 10, 10)),
]


@pytest.mark.parametrize(
    ("requested", "period", "expected"),
    [
        (date(2027, 1, 15), "2027-1", date(2027, 3, 10)),
        (date(2027, 2, 28), "2027-1", date(2027, 3, 10)),  # "until" includes the day
        (date(2027, 3, 1), "2027-1", date(2027, 4, 10)),
        (date(2027, 8, 1), "2027-2", date(2027, 10, 10)),
    ],
)
def test_the_period_table_picks_the_first_requested_until_not_passed(
    requested: date, period: str, expected: date
) -> None:
    rule = DueDateRule(period_table=TABLE)
    got = due_date(rule, requested_on=requested, academic_period=period, fixed_day=None)
    assert got == expected


def test_a_table_row_without_due_date_falls_back_to_the_fixed_day() -> None:
    rule = DueDateRule(period_table=TABLE)
    got = due_date(rule, requested_on=date(2027, 5, 2), academic_period="2027-1", fixed_day=31)
    assert got == date(2027, 5, 31)
    with pytest.raises(BillingError, match="no fixed due day"):
        due_date(rule, requested_on=date(2027, 5, 2), academic_period="2027-1", fixed_day=None)


def test_no_table_row_for_the_period_or_date_is_an_error() -> None:
    with pytest.raises(BillingError, match="no row of period 2027-2"):
        period_table_due_date(date(2027, 10, 1), "2027-2", TABLE)
    with pytest.raises(BillingError, match="no row of period 2030-1"):
        period_table_due_date(date(2030, 1, 1), "2030-1", TABLE)


def test_the_rule_in_force_decides() -> None:
    on = date(2027, 2, 3)
    assert due_date(
        DueDateRule(days_after_request=10), requested_on=on, academic_period="x", fixed_day=31
    ) == date(2027, 2, 13)
    assert due_date(
        DueDateRule(contract_fixed_day=True), requested_on=on, academic_period="x", fixed_day=31
    ) == date(2027, 2, 28)
    with pytest.raises(BillingError):
        due_date(
            DueDateRule(contract_fixed_day=True),
            requested_on=on,
            academic_period="x",
            fixed_day=None,
        )


@pytest.fixture
def demo() -> WorkflowConfig:
    return load_demo()


def test_price_from_the_delivery_location(demo: WorkflowConfig) -> None:
    tt = demo.ticket_type("edu.transcript")
    amount = charge_amount(demo, tt, "main-office")
    assert amount == Decimal("35.00") and isinstance(amount, Decimal)
    # an unknown location on the request falls back to the type's own
    assert charge_amount(demo, tt, "elsewhere") == Decimal("35.00")


def test_price_from_the_service_value_ignores_the_location(demo: WorkflowConfig) -> None:
    tt = demo.ticket_type("edu.second-call-exam")
    assert charge_amount(demo, tt, "main-office") == Decimal("45.00")


def test_a_location_without_a_price_cannot_be_charged(demo: WorkflowConfig) -> None:
    raw = demo.to_json()
    del raw["delivery_locations"]["main-office"]["price"]
    config = WorkflowConfig.model_validate(raw)
    with pytest.raises(BillingError, match="has no price"):
        charge_amount(config, config.ticket_type("edu.transcript"), "main-office")


def test_the_plan_of_each_demo_type(demo: WorkflowConfig) -> None:
    transcript = plan_charge(
        demo,
        demo.ticket_type("edu.transcript"),
        delivery_location="main-office",
        requested_on=date(2026, 11, 25),
        academic_period="2026-2",
        fixed_day=None,
    )
    assert (transcript.amount, transcript.due_date, transcript.extra_service) == (
        Decimal("35.00"),
        date(2026, 12, 5),
        True,
    )
    exam = plan_charge(
        demo,
        demo.ticket_type("edu.second-call-exam"),
        delivery_location="main-office",
        requested_on=date(2027, 2, 3),
        academic_period="2027-1",
        fixed_day=31,
    )
    assert (exam.amount, exam.due_date) == (Decimal("45.00"), date(2027, 2, 28))
