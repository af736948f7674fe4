"""The workflow's tables on the store's ``Base``: configuration versions, tickets, stage
history, discussion, attachments, deadline timers and deleted tickets' tombstones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.store.models import Base, BigId


class ConfigVersionRow(Base):
    """One applied workflow configuration of a tenant (numbered 1, 2, ... per tenant); tickets
    keep the version they were opened with."""

    __tablename__ = "workflow_config_versions"

    tenant_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(1000))
    body: Mapped[dict[str, Any]]
    applied_at: Mapped[datetime]


class TicketRow(Base):
    __tablename__ = "tickets"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=0)
    config_version: Mapped[int] = mapped_column(Integer)
    ticket_type: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    holder_kind: Mapped[str] = mapped_column(String(20))
    holder_id: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(400))
    description: Mapped[str | None] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]]
    customer_id: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(50))
    branch: Mapped[str | None] = mapped_column(String(50))
    origin_type: Mapped[str | None] = mapped_column(String(200))
    origin_id: Mapped[str | None] = mapped_column(String(200))
    classification: Mapped[str | None] = mapped_column(String(200))
    correlation_id: Mapped[str | None] = mapped_column(
        String(200), doc="The chain of the event or action that opened the ticket."
    )
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    due_at: Mapped[datetime | None]

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "config_version"],
            ["workflow_config_versions.tenant_id", "workflow_config_versions.version"],
            name="fk_tickets_config_version",
        ),
        Index("ix_tickets_tenant_opened", "tenant_id", "opened_at"),
        Index("ix_tickets_tenant_holder", "tenant_id", "holder_kind", "holder_id"),
        Index("ix_tickets_tenant_origin", "tenant_id", "origin_type", "origin_id"),
        Index("ix_tickets_tenant_customer", "tenant_id", "customer_id"),
        Index("ix_tickets_tenant_type_stage", "tenant_id", "ticket_type", "stage"),
        Index("ix_tickets_tenant_status", "tenant_id", "status"),
        Index("ix_tickets_config_version", "tenant_id", "config_version"),
    )


class StageHistoryRow(Base):
    __tablename__ = "ticket_stage_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(100))
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    ticket_row: Mapped[TicketRow] = relationship(lazy="raise")  # flushed after its ticket
    kind: Mapped[str] = mapped_column(String(20))  # open|move|transfer|cancel|classify
    from_stage: Mapped[str | None] = mapped_column(String(200))
    to_stage: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    holder_kind: Mapped[str] = mapped_column(String(20))
    holder_id: Mapped[str | None] = mapped_column(String(200))


class CommentRow(Base):
    __tablename__ = "ticket_comments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(100))
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    ticket_row: Mapped[TicketRow] = relationship(lazy="raise")  # flushed after its ticket
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AttachmentRow(Base):
    """An attachment's metadata; the bytes live under ``storage_key`` in the store that
    ``location`` names: ``None`` for the local store, else the file server they were written
    to (a sealed ``hub.files.servers.Endpoint``, so a later change of the setting still finds
    them)."""

    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(100))
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    ticket_row: Mapped[TicketRow] = relationship(lazy="raise")  # flushed after its ticket
    filename: Mapped[str] = mapped_column(String(400))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(400))
    location: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]


class TimerRow(Base):
    """A stage deadline: fires ``action`` once at ``due_at`` unless the ticket left the stage
    entry it belongs to (then ``cancelled_at`` is set)."""

    __tablename__ = "ticket_timers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(100))
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    ticket_row: Mapped[TicketRow] = relationship(lazy="raise")  # flushed after its ticket
    stage: Mapped[str] = mapped_column(String(200))
    entry: Mapped[int] = mapped_column(Integer, doc="The ticket version that entered the stage.")
    due_at: Mapped[datetime]
    action: Mapped[dict[str, Any]]
    fired_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("ticket_id", "entry", name="uq_ticket_timers_entry"),
        Index("ix_ticket_timers_due", "fired_at", "cancelled_at", "due_at"),
    )


class TicketTombstone(Base):
    """What is left of a deleted ticket: who deleted it, when and why, and what it was. The
    events it emitted stay in the outbox and with their consumers."""

    __tablename__ = "ticket_tombstones"

    tenant_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    ticket_type: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(400))
    opened_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    deleted_by: Mapped[str] = mapped_column(String(200))
    deleted_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
