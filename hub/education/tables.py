"""Tables of the educational integration: reference data (enrollments, open debts), the
requests received and the charges requested for them.

Money is stored as decimal text (exact on SQLite and PostgreSQL alike) and read back as
``Decimal``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Index, Integer, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base


class MoneyText(TypeDecorator[Decimal]):
    """A ``Decimal`` kept as its exact decimal text; floats are refused."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be a Decimal, not {type(value).__name__}")
        return format(value, "f")

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class EnrollmentRow(Base):
    """A student's enrollment in one academic period, as the ERP last published it."""

    __tablename__ = "edu_enrollments"

    tenant_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    company: Mapped[str] = mapped_column(String(50), primary_key=True)
    ra: Mapped[str] = mapped_column(String(100), primary_key=True)
    academic_period: Mapped[str] = mapped_column(String(50), primary_key=True)
    contract_id: Mapped[str] = mapped_column(String(100))
    contract_status: Mapped[str] = mapped_column(String(50))
    disciplines: Mapped[list[str]] = mapped_column(JSON, default=list)
    fixed_due_day: Mapped[int | None] = mapped_column(Integer)
    discipline_names: Mapped[dict[str, str] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class CustomerDebtRow(Base):
    """A customer's (a student's RA) open amount in one company, as finance last published it."""

    __tablename__ = "edu_customer_debts"

    tenant_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    company: Mapped[str] = mapped_column(String(50), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    open_amount: Mapped[Decimal] = mapped_column(MoneyText())
    version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class EduRequestRow(Base):
    """One ``edu.request.created`` by its business key: what was decided and what it needs
    later (the charge at a stage uses the period, location and request time)."""

    __tablename__ = "edu_requests"

    tenant_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    ticket_type: Mapped[str] = mapped_column(String(200))
    ra: Mapped[str] = mapped_column(String(100))
    company: Mapped[str] = mapped_column(String(50))
    branch: Mapped[str] = mapped_column(String(50))
    academic_period: Mapped[str] = mapped_column(String(50))
    delivery_location: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime]
    email: Mapped[str | None] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(20))  # opened | rejected
    rejection_reason: Mapped[str | None] = mapped_column(String(50))
    rejection_detail: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime]
    body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        Index("ix_edu_requests_tenant_ra", "tenant_id", "ra"),
        Index("ix_edu_requests_tenant_ticket", "tenant_id", "ticket_id"),
    )


class ChargeRow(Base):
    """A charge the hub asked billing for, and billing's answer."""

    __tablename__ = "edu_charges"

    tenant_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    charge_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(200))
    ticket_id: Mapped[str] = mapped_column(String(40))
    student_ra: Mapped[str] = mapped_column(String(100))
    contract_id: Mapped[str] = mapped_column(String(100))
    service: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(MoneyText())
    due_date: Mapped[date] = mapped_column(Date)
    extra_service: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20))  # requested | created | failed
    installment_id: Mapped[str | None] = mapped_column(String(200))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_edu_charges_tenant_request", "tenant_id", "request_id"),
        Index("ix_edu_charges_tenant_ticket", "tenant_id", "ticket_id"),
    )
