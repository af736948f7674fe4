"""Charging a request: the amount and the installment's due date. Pure functions.

Due-date rules (one per ticket type, ``billing.due_date``):

- ``contract_fixed_day``: the first day after the request date that falls on the contract's
  fixed day of month; in a month shorter than that day, the month's last day counts (a fixed
  day of 31 is the 28th or 29th in February, the 30th in April).
- ``days_after_request``: the request date plus N days.
- ``period_table``: among the rows of the request's academic period, the one with the earliest
  ``requested_until`` on or after the request date gives the due date; a row without a due
  date falls back to the contract's fixed day.

The amount is the type's service value or the delivery location's price, as a ``Decimal``.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from hub.errors import PermanentError
from hub.workflow.config import (
    Billing,
    DueDateRule,
    PeriodDueDate,
    TicketType,
    WorkflowConfig,
)


class BillingError(PermanentError):
    """The charge cannot be computed from the configuration and reference data (no price,
    no fixed day on the contract, no period-table row for the request date)."""


def clamp_day(year: int, month: int, day: int) -> date:
    """``day`` of the month, or the month's last day when the month is shorter."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def fixed_day_due_date(requested_on: date, fixed_day: int) -> date:
    """The first date strictly after ``requested_on`` on the contract's fixed day (clamped to
    the month's end)."""
    if not 1 <= fixed_day <= 31:
        raise BillingError(f"a contract's fixed day must be 1..31, not {fixed_day}")
    this_month = clamp_day(requested_on.year, requested_on.month, fixed_day)
    if this_month > requested_on:
        return this_month
    year, month = divmod(requested_on.year * 12 + requested_on.month, 12)
    return clamp_day(year, month + 1, fixed_day)


def days_after_due_date(requested_on: date, days: int) -> date:
    """``days`` days after the request date."""
    if days < 0:
        raise BillingError(f"days after the request must not be negative, not {days}")
    return requested_on + timedelta(days=days)


def period_table_due_date(
    requested_on: date, academic_period: str, table: Sequence[PeriodDueDate]
) -> PeriodDueDate:
    """The table row that applies: the request's period, the earliest ``requested_until`` not
    before the request date. Raises ``BillingError`` when none does."""
    rows = sorted(
        (r for r in table if r.period == academic_period and requested_on <= r.requested_until),
        key=lambda r: r.requested_until,
    )
    if not rows:
        raise BillingError(
            f"the due-date table has no row of period {academic_period} "
            f"for a request on {requested_on}"
        )
    return rows[0]


def due_date(
    rule: DueDateRule,
    *,
    requested_on: date,
    academic_period: str,
    fixed_day: int | None,
) -> date:
    """The installment's due date under ``rule``; raises ``BillingError``."""
    if rule.days_after_request is not None:
        return days_after_due_date(requested_on, rule.days_after_request)
    if rule.period_table is not None:
        row = period_table_due_date(requested_on, academic_period, rule.period_table)
        if row.due_date is not None:
            return row.due_date
    if fixed_day is None:
        raise BillingError("the student's contract has no fixed due day")
    return fixed_day_due_date(requested_on, fixed_day)


def charge_amount(
    config: WorkflowConfig, ticket_type: TicketType, delivery_location: str | None
) -> Decimal:
    """The amount to charge: the service value, or the price of the request's delivery
    location (the type's own when the request names none or an unknown one)."""
    billing = ticket_type.billing
    if billing is None or not billing.charged:
        raise BillingError("the ticket type is not charged")
    if billing.amount_from == "service_value":
        if billing.service_value is None:
            raise BillingError("the ticket type has no service value")
        return billing.service_value
    location_id = (
        delivery_location
        if delivery_location in config.delivery_locations
        else ticket_type.delivery_location
    )
    location = config.delivery_locations.get(location_id or "")
    if location is None or location.price is None:
        raise BillingError(f"delivery location {location_id!r} has no price")
    return location.price


@dataclass(frozen=True)
class ChargePlan:
    amount: Decimal
    due_date: date
    extra_service: bool


def plan_charge(
    config: WorkflowConfig,
    ticket_type: TicketType,
    *,
    delivery_location: str | None,
    requested_on: date,
    academic_period: str,
    fixed_day: int | None,
) -> ChargePlan:
    """Amount, due date and extra-service flag of a charged type's request."""
    billing: Billing | None = ticket_type.billing
    if billing is None or not billing.charged or billing.due_date is None:
        raise BillingError("the ticket type is not charged")
    return ChargePlan(
        amount=charge_amount(config, ticket_type, delivery_location),
        due_date=due_date(
            billing.due_date,
            requested_on=requested_on,
            academic_period=academic_period,
            fixed_day=fixed_day,
        ),
        extra_service=billing.extra_service,
    )
