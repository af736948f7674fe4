"""``/api/tickets``: list, show, move, classify, comment, cancel, delete, attach. Every rule (flow, reasons, field
rules, who may act) is the workflow's: the endpoints call ``hub.workflow.service`` as the token's
user."""

from __future__ import annotations

from typing import Annotated, Any, BinaryIO, Literal

from fastapi import APIRouter, Depends, File, Header, HTTPException, Path, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.files import placement
from hub.runtime.uow import Cause, UnitOfWork
from hub.web.attachments import content_disposition, read_upload, served_media_type
from hub.web.context import WebContext
from hub.web.errors import responses
from hub.web.idempotency import action_id
from hub.web.json_types import VersionNumber
from hub.web.security import context, require
from hub.web.tokens import Principal
from hub.workflow import access, service
from hub.workflow.access import visible_ticket
from hub.workflow.repository import TicketFilter, TicketRepository
from hub.workflow.tables import AttachmentRow
from hub.workflow.tickets import Ticket
from hub.workflow.views import ticket_json, tombstone_json

router = APIRouter(prefix="/api/tickets", tags=["tickets"], responses=responses(401, 403, 422, 503))
IdempotencyKey = Header(
    None, alias="Idempotency-Key", max_length=200, description="Retries do not act twice."
)
#: An operation on one ticket: it may not exist (404).
ONE = responses(404)
#: A write to one ticket may also meet a newer version, or a request with the same
#: ``Idempotency-Key`` still running (409).
WRITE = responses(404, 409)
#: Ids are 64-bit integers in the store.
MAX_ID = 2**63 - 1
TicketId = Annotated[str, Path(max_length=200, description="The ticket's id (`T-...`).")]
Text = Field(max_length=10_000)
Name = Field(min_length=1, max_length=200)
Version = Field(
    default=None, description="Refuse with 409 unless the ticket is still at this version."
)


class MoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: str = Field(
        min_length=1,
        max_length=200,
        description="The stage to move to (one of the ticket's allowed moves).",
    )
    reason: str | None = Field(default=None, max_length=2000)
    fields: dict[str, Any] = Field(
        default_factory=dict, max_length=100, description="Parameters to write first."
    )
    expected_version: VersionNumber | None = Version


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    classification: str = Field(
        min_length=1, max_length=200, description="One of the ticket's `classifications_allowed`."
    )
    expected_version: VersionNumber | None = Version


class CommentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Text
    internal: bool = Field(
        default=False, description="An attendants' note: the customer never sees it."
    )


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=2000)
    expected_version: VersionNumber | None = Version


@router.get("")
def list_tickets(
    type: str | None = Query(None, max_length=200),
    stage: str | None = Query(None, max_length=200),
    status: Literal["open", "completed", "cancelled"] | None = None,
    holder: str | None = Query(None, max_length=400),
    customer: str | None = Query(None, max_length=200),
    limit: int = Query(200, ge=1, le=10_000),
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("tickets", "view")),
) -> list[dict[str, Any]]:
    """Tickets the caller's data scope reaches, newest first. ``holder``: ``KIND:ID``, a kind,
    or an id. Narrowing the list needs the ``tickets:filter`` permission."""
    where = TicketFilter(type, stage, status, holder, customer, limit=limit)
    filtered = any(v is not None for v in (type, stage, status, holder, customer))
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        where = access.listing(uow, who.user, where, filtered=filtered)
        return [ticket_json(t) for t in TicketRepository(uow.session, uow.tenant).search(where)]


@router.get("/{ticket_id}", responses=ONE)
def show_ticket(
    ticket_id: TicketId,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("tickets", "view")),
) -> dict[str, Any]:
    """A ticket with its stage history, discussion, attachments and allowed moves."""
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        return ticket_json(visible_ticket(uow, who.user, ticket_id), uow)


@router.post("/{ticket_id}/move", responses=WRITE)
def move_ticket(
    ticket_id: TicketId,
    body: MoveRequest,
    idempotency_key: str | None = IdempotencyKey,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("tickets", "edit")),
) -> dict[str, Any]:
    """Move the ticket along its flow, as the token's user."""
    aid = action_id(who.key, idempotency_key)
    with ctx.uow(Cause.action(aid, tenant=who.tenant)) as uow:
        visible_ticket(uow, who.user, ticket_id, "edit")
        ticket = service.move_ticket(
            uow,
            ticket_id,
            body.stage,
            reason=body.reason,
            by=who.user,
            fields=body.fields,
            expected_version=body.expected_version,
            action_id=aid,
        )
        return ticket_json(ticket, uow)


@router.post("/{ticket_id}/classification", responses=WRITE)
def classify_ticket(
    ticket_id: TicketId,
    body: ClassifyRequest,
    idempotency_key: str | None = IdempotencyKey,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("tickets", "edit")),
) -> dict[str, Any]:
    """Give the open ticket another classification, as the token's user."""
    aid = action_id(who.key, idempotency_key)
    with ctx.uow(Cause.action(aid, tenant=who.tenant)) as uow:
        visible_ticket(uow, who.user, ticket_id, "edit")
        ticket = service.classify_ticket(
            uow,
            ticket_id,
            body.classification,
            by=who.user,
            expected_version=body.expected_version,
            action_id=aid,
        )
        return ticket_json(ticket, uow)


@router.post("/{ticket_id}/comments", status_code=201, responses=WRITE)
def comment_ticket(
    ticket_id: TicketId,
    body: CommentRequest,
    idempotency_key: str | None = IdempotencyKey,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("tickets", "edit")),
) -> dict[str, Any]:
    """Add to the ticket's discussion (``internal``: a note the customer never sees)."""
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        visible_ticket(uow, who.user, ticket_id, "edit")
        entry = service.comment_ticket(
            uow, ticket_id, body.text, by=who.user, internal=body.internal
        )
    return {
        "ticket_id": ticket_id,
        "by": entry.by,
        "at": entry.at.isoformat(),
        "text": entry.text,
        "internal": entry.internal,
    }


@router.post("/{ticket_id}/cancel", responses=WRITE)
def cancel_ticket(
    ticket_id: TicketId,
    body: CancelRequest,
    idempotency_key: str | None = IdempotencyKey,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("tickets", "edit")),
) -> dict[str, Any]:
    """Cancel the open ticket (a reason is mandatory)."""
    aid = action_id(who.key, idempotency_key)
    with ctx.uow(Cause.action(aid, tenant=who.tenant)) as uow:
        visible_ticket(uow, who.user, ticket_id, "edit")
        ticket = service.cancel_ticket(
            uow,
            ticket_id,
            reason=body.reason,
            by=who.user,
            expected_version=body.expected_version,
            action_id=aid,
        )
        return ticket_json(ticket, uow)


class DeleteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=2000, description="Why; kept in the tombstone.")


@router.post("/{ticket_id}/delete", responses=WRITE)
def delete_ticket(
    ticket_id: TicketId,
    body: DeleteRequest,
    idempotency_key: str | None = IdempotencyKey,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("tickets", "delete")),
) -> dict[str, Any]:
    """Delete a cancelled ticket (an administrator; a reason is mandatory). Answers with its
    tombstone; the events the ticket emitted stay, and ``crm.ticket.deleted`` follows."""
    aid = action_id(who.key, idempotency_key)
    with ctx.uow(Cause.action(aid, tenant=who.tenant)) as uow:
        visible_ticket(uow, who.user, ticket_id, "delete")
        stone = service.delete_ticket(
            uow, ticket_id, reason=body.reason, by=who.user, action_id=aid
        )
        return tombstone_json(stone)


#: ``/api/deleted-tickets``: the tombstones (apart, so that no ticket id shadows it).
deleted = APIRouter(prefix="/api", tags=["tickets"], responses=responses(401, 403, 422, 503))


@deleted.get("/deleted-tickets")
def list_deleted(
    limit: int = Query(200, ge=1, le=10_000),
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("tickets", "delete")),
) -> list[dict[str, Any]]:
    """The deleted tickets' tombstones, newest first: who deleted each, when and why."""
    with ctx.uow.sessions() as session:
        found = TicketRepository(session, who.tenant).tombstones(limit=limit)
        return [tombstone_json(s) for s in found]


def attach(
    ctx: WebContext, who: Principal, ticket_id: str, name: str, content: BinaryIO, ctype: str
) -> dict[str, Any]:
    """Attach ``content`` to the ticket the caller may edit (``store_attachment``)."""
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        ticket = visible_ticket(uow, who.user, ticket_id, "edit")
        return store_attachment(ctx, uow, ticket, name, content, ctype, by=who.user)


def store_attachment(
    ctx: WebContext,
    uow: UnitOfWork,
    ticket: Ticket,
    name: str,
    content: BinaryIO,
    ctype: str,
    *,
    by: str,
) -> dict[str, Any]:
    """Attach ``content`` to ``ticket``, in the store of its company/branch's file server
    (``hub.files.placement``); for the API, the console and the portal alike."""
    store, location = placement.store_for_ticket(
        uow.session,
        uow.tenant,
        ticket.company,
        ticket.branch,
        box=ctx.secrets,
        local=ctx.attachment_store,
    )
    row = service.attach_file(
        uow,
        ticket.id,
        name,
        content,
        by=by,
        store=store,
        content_type=ctype,
        location=location,
    )
    return {
        "id": row.id,
        "ticket_id": ticket.id,
        "filename": row.filename,
        "content_type": row.content_type,
        "size": row.size,
        "sha256": row.sha256,
        "by": row.by,
    }


@router.post(
    "/{ticket_id}/attachments", status_code=201, responses={**WRITE, **responses(413, 502)}
)
async def upload_attachment(
    ticket_id: TicketId,
    file: UploadFile = File(...),
    idempotency_key: str | None = IdempotencyKey,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("tickets", "edit")),
) -> dict[str, Any]:
    """Attach a file (multipart field ``file``, at most ``HUB_MAX_ATTACHMENT_BYTES``) to the
    open ticket. The part's content type must be a media type (``type/subtype``). The bytes go
    to the file server of the ticket's branch (else company) when one is set to transfer
    `hub`, else to the hub's local store."""
    content = await read_upload(file, ctx.settings.max_attachment_bytes)
    ctype = file.content_type or "application/octet-stream"
    return await run_in_threadpool(
        attach, ctx, who, ticket_id, file.filename or "attachment", content, ctype
    )


def attachment_download(
    ctx: WebContext, who: Principal, ticket_id: str, attachment_id: int
) -> Response:
    """The attachment's bytes (``stream_attachment``), when the caller may see its ticket."""
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        visible_ticket(uow, who.user, ticket_id)
    return stream_attachment(ctx, who.tenant, ticket_id, attachment_id)


def stream_attachment(ctx: WebContext, tenant: str, ticket_id: str, attachment_id: int) -> Response:
    """An attachment of ``ticket_id``, streamed from the store it was written to, as a
    download (for the API, the console and the portal alike); the caller has checked that
    the ticket may be seen."""
    with ctx.uow.sessions() as session:
        row = session.get(AttachmentRow, attachment_id)
    if row is None or row.tenant_id != tenant or row.ticket_id != ticket_id:
        raise HTTPException(404, f"ticket {ticket_id} has no attachment {attachment_id}")
    store = placement.store_at(row.location, box=ctx.secrets, local=ctx.attachment_store)
    try:
        chunks = store.get(row.storage_key)
    except FileNotFoundError:
        raise HTTPException(410, f"the bytes of attachment {attachment_id} are gone") from None
    return StreamingResponse(
        chunks,
        media_type=served_media_type(row.content_type),
        headers={
            "Content-Disposition": content_disposition(row.filename),
            "Content-Length": str(row.size),
        },
    )


@router.get(
    "/{ticket_id}/attachments/{attachment_id}",
    response_class=Response,
    responses={
        200: {
            "description": "The file's bytes, with the content type it was attached with.",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        },
        **responses(404, 410, 502),
    },
)
def download_attachment(
    ticket_id: TicketId,
    attachment_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("tickets", "view")),
) -> Response:
    """The attachment's bytes."""
    return attachment_download(ctx, who, ticket_id, attachment_id)
