"""Tables of a tenant's companies and branches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base


class CompanyRow(Base):
    """A company of a tenant. ``version``: the ERP's version last applied (``None``: the ERP
    never sent it); ``source``: who changed it last (``erp``, ``local`` or ``seed``)."""

    __tablename__ = "companies"

    tenant_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tax_id: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(20))  # erp | local | seed
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(200))


class BranchRow(Base):
    """A branch of a company; ``version`` and ``source`` as for the company."""

    __tablename__ = "branches"

    tenant_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    company: Mapped[str] = mapped_column(String(50), primary_key=True)
    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    headquarters: Mapped[bool] = mapped_column(Boolean, default=False)
    tax_id: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "company"],
            ["companies.tenant_id", "companies.id"],
            name="fk_branches_company",
            ondelete="CASCADE",
        ),
    )
