"""Occurrences: one a script item (or omnichannel form) was recorded with, and its ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base, UTCDateTime


class OccurrenceRow(Base):
    """One occurrence ("ocorrência"). ``contact_id``: the omnichannel contact it came from (one
    ticket per contact); ``complement``: ``{"kind": "pending", "status", "responsible"}`` or
    ``{"kind": "marketing", "outcome"}``."""

    __tablename__ = "occurrences"

    tenant_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    script_item: Mapped[str | None] = mapped_column(String(200))
    form: Mapped[str] = mapped_column(String(200))
    ticket_id: Mapped[str] = mapped_column(String(40))
    contact_id: Mapped[str | None] = mapped_column(String(200))
    customer_id: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(40))
    complement: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_occurrences_contact", "tenant_id", "contact_id"),
        Index("ix_occurrences_ticket", "tenant_id", "ticket_id"),
    )
