"""Reference data of the educational integration, kept from ERP events.

- ``edu.enrollment.upserted``: a student's enrollment in an academic period (contract, status,
  disciplines, the contract's fixed due day);
- ``finance.debt.upserted``: a customer's open amount in a company.

Each is applied in version order: a version older than or equal to the stored one changes
nothing, so late, repeated and out-of-order events are harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.orm import Session

from hub.education.refdata import Debt, Enrollment, RefData
from hub.education.tables import CustomerDebtRow, EnrollmentRow
from hub.runtime.registry import Consumer, data_keys
from hub.runtime.uow import UnitOfWork
from hub.store.batch import preload
from schemas import CloudEvent
from schemas.events import DebtUpserted, EnrollmentUpserted

log = logging.getLogger(__name__)

consumer = Consumer("edu-refdata")


@consumer.reads_ahead("edu.enrollment.upserted")
def _enrollments(events: Sequence[CloudEvent], session: Session) -> None:
    keys = data_keys(events, "company", "ra", "academic_period")
    preload(session, EnrollmentRow, keys, for_update=True)


@consumer.reads_ahead("finance.debt.upserted")
def _debts(events: Sequence[CloudEvent], session: Session) -> None:
    preload(session, CustomerDebtRow, data_keys(events, "company", "customer_id"), for_update=True)


@consumer.handles("edu.enrollment.upserted")
def on_enrollment(event: CloudEvent, uow: UnitOfWork) -> None:
    data = EnrollmentUpserted.model_validate(event.data)
    if not RefData(uow.session, uow.tenant).upsert_enrollment(Enrollment.of(data), uow.now()):
        log.info(
            "enrollment %s/%s v%d is not newer; ignored",
            data.ra,
            data.academic_period,
            data.version,
        )


@consumer.handles("finance.debt.upserted")
def on_debt(event: CloudEvent, uow: UnitOfWork) -> None:
    data = DebtUpserted.model_validate(event.data)
    if not RefData(uow.session, uow.tenant).upsert_debt(Debt.of(data), uow.now()):
        log.info("debt of %s v%d is not newer; ignored", data.customer_id, data.version)
