"""The finance-agreements consumer's own table: what the hub knows about each agreement beyond
its ticket, so that events arriving out of order are judged correctly."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base


class AgreementState(Base):
    """One row per agreement the hub has heard of (per tenant).

    ``ticket_id`` is the approval ticket opened for it (none yet, or none ever when the agreement
    was cancelled first). ``cancelled_at`` set means finance cancelled the agreement; ``outcome``
    says what the cancellation did: ``ticket-cancelled``, ``after-decision`` (nothing changed:
    the ticket was already decided), ``before-pending`` (no ticket yet: none will be opened) or
    ``ticket-closed`` (the ticket had been closed otherwise).
    """

    __tablename__ = "finance_agreement_states"

    tenant_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    agreement_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    ticket_id: Mapped[str | None] = mapped_column(String(40))
    pending_event_id: Mapped[str | None] = mapped_column(String(200))
    cancel_event_id: Mapped[str | None] = mapped_column(String(200))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(40))
    cancelled_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
