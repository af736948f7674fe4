"""Companies and branches as the ERP gives them: ``erp.company.upserted`` and
``erp.branch.upserted``, applied in version order.

A version newer than the one last applied overwrites the stored record, local edits included;
an older or equal one changes nothing. See ``docs/companies.md``.
"""

from __future__ import annotations

import logging

from hub.companies.service import Record, upsert
from hub.runtime.registry import Consumer
from hub.runtime.uow import UnitOfWork
from schemas import CloudEvent
from schemas.events import BranchUpserted, CompanyUpserted

log = logging.getLogger(__name__)

consumer = Consumer("erp-companies")


@consumer.handles("erp.company.upserted")
def on_company(event: CloudEvent, uow: UnitOfWork) -> None:
    data = CompanyUpserted.model_validate(event.data)
    if upsert(uow, Record.of(data)) == "stale":
        log.info("company %s v%d is not newer; ignored", data.company, data.version)


@consumer.handles("erp.branch.upserted")
def on_branch(event: CloudEvent, uow: UnitOfWork) -> None:
    data = BranchUpserted.model_validate(event.data)
    if upsert(uow, Record.of(data)) == "stale":
        log.info("branch %s/%s v%d is not newer; ignored", data.company, data.branch, data.version)
