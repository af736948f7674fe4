"""Operators' endpoints: dead letters, queues, configuration, message trace, health."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.runtime import dlq_audit, dlq_edit
from hub.runtime.deadletters import DeadLetterFilter, DeadLetters, detail, summary
from hub.runtime.overview import overview
from hub.runtime.trace import timeline
from hub.runtime.uow import Cause
from hub.settings import redact
from hub.store.db import ping
from hub.web.context import WebContext
from hub.web.errors import responses
from hub.web.json_types import Rate
from hub.web.security import context, permissions_of_request, principal, require
from hub.web.tokens import Principal
from hub.workflow import service

router = APIRouter(prefix="/api", responses=responses(401, 403, 422, 503))
health = APIRouter()
IdempotencyKey = Header(
    None, alias="Idempotency-Key", max_length=200, description="Retries do not act twice."
)
#: Ids are 64-bit integers in the store.
MAX_ID = 2**63 - 1
DeadLetterId = Annotated[int, Path(ge=1, le=MAX_ID, description="The dead letter's id.")]
Filter = Query(None, max_length=200)
#: A write may meet a request with the same ``Idempotency-Key`` still running.
WRITE = responses(409)


class Group(BaseModel):
    """A group of dead letters: every one awaiting action, narrowed by these fields."""

    model_config = ConfigDict(extra="forbid")

    consumer: str | None = Field(default=None, max_length=200)
    error_type: str | None = Field(default=None, max_length=200)


class ReplayGroup(Group):
    rate: Rate | None = Field(
        default=None,
        description="At most this many a second; the group is chosen at once either way.",
    )


class Correction(BaseModel):
    """The corrected message: a whole CloudEvent, validated as an inbound event is."""

    model_config = ConfigDict(extra="forbid")

    event: dict[str, Any]


def actor(who: Principal) -> str:
    """Who a token's action is recorded as in the audit."""
    return who.user if who.user == who.name else f"{who.user} (token {who.name})"


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    database: str = Field(description="`ok`, or why the database does not answer.")
    broker: str = Field(description="`ok`, or why the broker does not answer.")


@router.get("/dead-letters", tags=["dead letters"])
def list_dead_letters(
    consumer: str | None = Filter,
    error_type: str | None = Filter,
    event_type: str | None = Filter,
    status: Literal["dead", "replayed", ""] = "dead",
    limit: int = Query(1000, ge=1, le=10_000),
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("dead_letters", "view")),
) -> list[dict[str, Any]]:
    """Dead letters, oldest first (``status=dead``: awaiting action; ``status=`` : all)."""
    where = DeadLetterFilter(consumer, error_type, event_type, status or None)
    return [summary(dl) for dl in DeadLetters(ctx.uow, who.tenant).find(where, limit=limit)]


@router.get("/dead-letters/groups", tags=["dead letters"])
def dead_letter_groups(
    ctx: WebContext = Depends(context), who: Principal = Depends(require("dead_letters", "view"))
) -> list[dict[str, Any]]:
    """Dead letters awaiting action, counted by consumer and error type."""
    return [
        {**g, "last_failed_at": g["last_failed_at"].isoformat() if g["last_failed_at"] else None}
        for g in DeadLetters(ctx.uow, who.tenant).groups()
    ]


@router.get("/dead-letters/audit", tags=["dead letters"])
def dead_letter_audit(
    dead_letter_id: int | None = Query(None, ge=1, le=MAX_ID),
    limit: int = Query(200, ge=1, le=10_000),
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("dead_letters", "view")),
) -> list[dict[str, Any]]:
    """Who replayed, edited or purged dead letters, newest first, with the messages as they
    were (a purged one stays here for ``HUB_AUDIT_RETENTION_DAYS``)."""
    return [
        dlq_audit.as_json(e, with_bodies=True)
        for e in dlq_audit.entries(ctx.uow, who.tenant, dead_letter_id, limit)
    ]


@router.get("/dead-letters/{dl_id}", tags=["dead letters"], responses=responses(404))
def show_dead_letter(
    dl_id: DeadLetterId,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("dead_letters", "view")),
) -> dict[str, Any]:
    """One dead letter: the original bytes, the payload, headers, error and traceback."""
    return detail(DeadLetters(ctx.uow, who.tenant).get(dl_id))


@router.post("/dead-letters/{dl_id}/replay", tags=["dead letters"], responses=responses(404, 409))
def replay_dead_letter(
    dl_id: DeadLetterId,
    idempotency_key: str | None = IdempotencyKey,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("dead_letters", "edit")),
) -> dict[str, Any]:
    """Send the dead letter back to the consumer that failed it (attempts reset)."""
    return {"replayed": DeadLetters(ctx.uow, who.tenant).replay([dl_id], by=actor(who))}


@router.post("/dead-letters/{dl_id}/edit", tags=["dead letters"], responses=responses(404, 409))
def edit_dead_letter(
    dl_id: DeadLetterId,
    correction: Correction,
    idempotency_key: str | None = IdempotencyKey,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("dead_letters", "edit")),
) -> dict[str, Any]:
    """Replay a corrected version of the dead letter's message (validated first: 422 lists
    every problem). The original, the diff and who did it are kept in the audit."""
    text = json.dumps(correction.event, ensure_ascii=False)
    return dlq_edit.replay_corrected(
        ctx.uow, dl_id, text, tenant=who.tenant, by=actor(who), limits=ctx.settings.limits
    )


@router.post("/dead-letters/{dl_id}/purge", tags=["dead letters"], responses=responses(404, 409))
def purge_dead_letter(
    dl_id: DeadLetterId,
    idempotency_key: str | None = IdempotencyKey,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("dead_letters", "delete")),
) -> dict[str, Any]:
    """Delete the dead letter for good (it stays in the audit)."""
    return {"purged": DeadLetters(ctx.uow, who.tenant).purge([dl_id], by=actor(who))}


@router.post("/dead-letters/replay", tags=["dead letters"], responses=WRITE)
def replay_group(
    group: ReplayGroup,
    idempotency_key: str | None = IdempotencyKey,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("dead_letters", "edit")),
) -> dict[str, Any]:
    """Replay every dead letter awaiting action in the group (an empty group: all of them),
    chosen at once; with ``rate``, no faster than that."""
    where = DeadLetterFilter(group.consumer, group.error_type)
    return {"replayed": DeadLetters(ctx.uow, who.tenant).replay(None, where, by=actor(who), rate=group.rate)}


@router.post("/dead-letters/purge", tags=["dead letters"], responses=WRITE)
def purge_group(
    group: Group,
    idempotency_key: str | None = IdempotencyKey,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("dead_letters", "delete")),
) -> dict[str, Any]:
    """Purge every dead letter awaiting action in the group (they stay in the audit)."""
    where = DeadLetterFilter(group.consumer, group.error_type, None, "dead")
    return {"purged": DeadLetters(ctx.uow, who.tenant).purge(None, where, by=actor(who))}


@router.get("/queues", tags=["operations"])
def queues(
    ctx: WebContext = Depends(context), who: Principal = Depends(require("operations", "view"))
) -> dict[str, Any]:
    """Each hub queue (depth, consumers, in flight, oldest age, in/out rates), the outbox
    backlog and the dead letters by consumer and error type."""
    return overview(ctx.uow, ctx.transport, ctx.queues, ctx.sampler, tenant=who.tenant)


@router.get("/trace/{correlation_id}", tags=["operations"])
def trace(
    correlation_id: Annotated[str, Path(max_length=200)],
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("operations", "view")),
) -> dict[str, Any]:
    """Every record of one correlation id, oldest first."""
    return {"correlation_id": correlation_id, "steps": timeline(ctx.uow, correlation_id, tenant=who.tenant)}


@router.get("/config", tags=["operations"], responses=responses(409))
def configuration(
    ctx: WebContext = Depends(context), who: Principal = Depends(require("configuration", "view"))
) -> dict[str, Any]:
    """The workflow configuration in force and the hub's settings (no passwords)."""
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        version, config = service.current_config(uow)
    s = ctx.settings
    return {
        "workflow": {"version": version, "config": config.to_json()},
        "settings": {
            "broker_url": redact(s.effective_broker_url),
            "database_url": redact(s.effective_database_url),
            "consumers": ctx.queues,
            "prefetch": s.prefetch,
            "batch": s.batch,
            "retry_attempts": s.retry_attempts,
            "retry_base_delay": s.retry_base_delay,
            "retry_max_delay": s.retry_max_delay,
            "delivery_limit": s.delivery_limit,
            "outbox_retention_days": s.outbox_retention_days,
            "inbox_retention_days": s.inbox_retention_days,
        },
    }


@router.get("/me", tags=["operations"])
def me(request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    """Who the caller is: tenant, user, roles, data scope and permissions per module."""
    granted = permissions_of_request(request, who)
    return {
        "name": who.name,
        "kind": who.kind,
        "tenant": who.tenant,
        "user": who.user,
        "roles": sorted(granted.roles),
        "scope": granted.scope,
        "permissions": {m: sorted(a) for m, a in granted.grants.items() if "access" in a},
    }


@health.get(
    "/healthz",
    tags=["operations"],
    response_model=Health,
    responses={
        503: {"model": Health, "description": "The broker or the database does not answer."}
    },
)
def healthz(ctx: WebContext = Depends(context)) -> JSONResponse:
    """``200`` when the broker and the database answer, ``503`` otherwise (no token needed)."""
    checks: dict[str, str] = {}
    try:
        ping(ctx.uow.engine)
        checks["database"] = "ok"
    except Exception as e:
        checks["database"] = f"unreachable: {type(e).__name__}"
    try:
        ctx.transport.ping()
        checks["broker"] = "ok"
    except Exception as e:
        checks["broker"] = f"unreachable: {e}"
    healthy = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, 200 if healthy else 503
    )
