"""Users as the platform gives them: ``platform.user.upserted``, applied in version order.

A new user is active at once only on the freemium plan; on the others it waits for an
administrator of the tenant (``hub users activate``). See ``docs/tenants.md``.
"""

from __future__ import annotations

from hub.identity.service import sync_user
from hub.runtime.registry import Consumer
from hub.runtime.uow import UnitOfWork
from schemas import CloudEvent
from schemas.events import UserUpserted

consumer = Consumer("platform-users")


@consumer.handles("platform.user.upserted")
def on_user_upserted(event: CloudEvent, uow: UnitOfWork) -> None:
    sync_user(uow, UserUpserted.model_validate(event.data))
