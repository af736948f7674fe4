"""Reference data kept from ERP events: enrollments and open debts.

Upserts are idempotent and ordered by the publisher's ``version``: a version older than (or
equal to) the stored one changes nothing, so events may arrive late, twice or out of order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from hub.education.tables import CustomerDebtRow, EnrollmentRow
from hub.store.batch import find, flush, keep
from schemas.events import DebtUpserted, EnrollmentUpserted

ACTIVE = "active"


@dataclass(frozen=True)
class Enrollment:
    ra: str
    company: str
    academic_period: str
    contract_id: str
    contract_status: str
    disciplines: tuple[str, ...] = ()
    fixed_due_day: int | None = None
    version: int = 0
    discipline_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def contract_active(self) -> bool:
        return self.contract_status.strip().lower() == ACTIVE

    @classmethod
    def of(cls, data: EnrollmentUpserted) -> Enrollment:
        return cls(
            ra=data.ra,
            company=data.company,
            academic_period=data.academic_period,
            contract_id=data.contract_id,
            contract_status=data.contract_status,
            disciplines=tuple(data.disciplines),
            fixed_due_day=data.fixed_due_day,
            version=data.version,
            discipline_names=dict(data.discipline_names),
        )


@dataclass(frozen=True)
class Debt:
    customer_id: str
    company: str
    open_amount: Decimal
    version: int = 0

    @property
    def is_open(self) -> bool:
        return self.open_amount > 0

    @classmethod
    def of(cls, data: DebtUpserted) -> Debt:
        return cls(data.customer_id, data.company, data.open_amount, data.version)


class StudentOptions:
    """Parameter option sources resolved from one student's enrollment (see
    ``hub.workflow.config.OPTION_SOURCES``)."""

    def __init__(self, enrollment: Enrollment | None) -> None:
        self.enrollment = enrollment

    def options(self, source: str, context: Mapping[str, Any]) -> Sequence[str] | None:
        """The allowed values of ``source``; ``None`` (nothing allowed) without an enrollment
        or for a source this class does not know."""
        if self.enrollment is None:
            return None
        if source == "student.disciplines":
            return list(self.enrollment.disciplines)
        return None

    def labels(self, source: str) -> dict[str, str]:
        """Labels of ``source``'s options where the reference data names them (a discipline:
        its code and name)."""
        if self.enrollment is None or source != "student.disciplines":
            return {}
        names = self.enrollment.discipline_names
        return {c: f"{c} — {names[c]}" for c in self.enrollment.disciplines if names.get(c)}


class RefData:
    """Repository of a tenant's reference tables, inside the caller's transaction."""

    def __init__(self, session: Session, tenant: str) -> None:
        self.session = session
        self.tenant = tenant

    def enrollment(self, company: str, ra: str, academic_period: str) -> Enrollment | None:
        row = find(self.session, EnrollmentRow, (self.tenant, company, ra, academic_period))
        if row is None:
            return None
        return Enrollment(
            ra=row.ra,
            company=row.company,
            academic_period=row.academic_period,
            contract_id=row.contract_id,
            contract_status=row.contract_status,
            disciplines=tuple(row.disciplines or ()),
            fixed_due_day=row.fixed_due_day,
            version=row.version,
            discipline_names=dict(row.discipline_names or {}),
        )

    def debt(self, company: str, customer_id: str) -> Debt | None:
        row = find(self.session, CustomerDebtRow, (self.tenant, company, customer_id))
        if row is None:
            return None
        return Debt(row.customer_id, row.company, row.open_amount, row.version)

    def upsert_enrollment(self, e: Enrollment, now: datetime) -> bool:
        """Store ``e`` unless a version at least as new is stored; ``True`` when it was."""
        return self._upsert_versioned(
            EnrollmentRow,
            (self.tenant, e.company, e.ra, e.academic_period),
            {
                "tenant_id": self.tenant,
                "company": e.company,
                "ra": e.ra,
                "academic_period": e.academic_period,
                "contract_id": e.contract_id,
                "contract_status": e.contract_status,
                "disciplines": list(e.disciplines),
                "fixed_due_day": e.fixed_due_day,
                "discipline_names": dict(e.discipline_names),
            },
            e.version,
            now,
        )

    def upsert_debt(self, d: Debt, now: datetime) -> bool:
        """Store ``d`` unless a version at least as new is stored; ``True`` when it was."""
        return self._upsert_versioned(
            CustomerDebtRow,
            (self.tenant, d.company, d.customer_id),
            {
                "tenant_id": self.tenant,
                "company": d.company,
                "customer_id": d.customer_id,
                "open_amount": d.open_amount,
            },
            d.version,
            now,
        )

    def _upsert_versioned(
        self,
        model: Any,
        key: tuple[str, ...],
        values: dict[str, Any],
        version: int,
        now: datetime,
    ) -> bool:
        """Insert, or overwrite only when ``version`` is newer than the stored one."""
        row = find(self.session, model, key, for_update=True)
        if row is None:
            keep(self.session, model, key, model(**values, version=version, updated_at=now))
            flush(self.session)
            return True
        if version <= row.version:
            return False
        for name, value in values.items():
            setattr(row, name, value)
        row.version = version
        row.updated_at = now
        return True
