"""Whether a student may file a request: the checks of the educational integration, in order.

1. enrolled in the request's academic period (``not_enrolled``);
2. the enrollment's contract is active (``contract_inactive``);
3. the ticket type is valid on the request's date (``outside_window``);
4. no open debts, when the type asks for that check (``has_debts``);
5. the parameters are valid: declared, typed, allowed options, required ones present
   (``invalid_parameters``; the detail names the field).

Pure: the caller loads the enrollment and the debt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from hub.education.refdata import Debt, Enrollment, StudentOptions
from hub.workflow.config import TicketType
from hub.workflow.errors import InvalidParameters
from hub.workflow.parameters import check_values, is_blank
from schemas.events import RejectionCode


@dataclass(frozen=True)
class Rejection:
    reason: RejectionCode
    detail: str


def check_request(
    ticket_type: TicketType,
    *,
    requested_on: date,
    academic_period: str,
    parameters: Mapping[str, Any],
    enrollment: Enrollment | None,
    debt: Debt | None,
) -> Rejection | None:
    """The first check the request fails, or ``None`` when it may be opened."""
    if enrollment is None:
        return Rejection("not_enrolled", f"no enrollment in academic period {academic_period}")
    if not enrollment.contract_active:
        return Rejection(
            "contract_inactive",
            f"contract {enrollment.contract_id} is {enrollment.contract_status}",
        )
    tt = ticket_type
    if (tt.valid_from and requested_on < tt.valid_from) or (
        tt.valid_until and requested_on > tt.valid_until
    ):
        return Rejection(
            "outside_window",
            f"requests are accepted from {tt.valid_from or '-'} to {tt.valid_until or '-'}, "
            f"not on {requested_on}",
        )
    if tt.check_debts and debt is not None and debt.is_open:
        return Rejection("has_debts", f"open amount {format(debt.open_amount, 'f')}")
    return parameter_problem(tt, parameters, enrollment)


def parameter_problem(
    ticket_type: TicketType, parameters: Mapping[str, Any], enrollment: Enrollment | None
) -> Rejection | None:
    """An ``invalid_parameters`` rejection naming the first bad field (``parameters.<name>: ...``),
    or ``None``."""
    context = {"customer_id": enrollment.ra if enrollment else None, "parameters": parameters}
    try:
        values = check_values(ticket_type, parameters, context, StudentOptions(enrollment))
    except InvalidParameters as e:
        return Rejection("invalid_parameters", str(e))
    for name, param in ticket_type.parameters.items():
        if param.required and is_blank(values.get(name)):
            return Rejection("invalid_parameters", f"parameters.{name}: required")
    return None
