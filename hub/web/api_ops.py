"""Operators' endpoints: dead letters, queues, configuration, message trace, health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from hub.runtime.deadletters import DeadLetterFilter, DeadLetters, detail, summary
from hub.runtime.overview import overview
from hub.runtime.trace import timeline
from hub.runtime.uow import Cause
from hub.settings import redact
from hub.store.db import ping
from hub.web.context import WebContext
from hub.web.security import context, permissions_of_request, principal, require
from hub.web.tokens import Principal
from hub.workflow import service

router = APIRouter(prefix="/api")
health = APIRouter()
IdempotencyKey = Header(None, alias="Idempotency-Key", description="Retries do not act twice.")


class Group(BaseModel):
    """A group of dead letters: every one awaiting action, narrowed by these fields."""

    consumer: str | None = None
    error_type: str | None = None


@router.get("/dead-letters", tags=["dead letters"])
def list_dead_letters(
    consumer: str | None = None,
    error_type: str | None = None,
    event_type: str | None = None,
    status: str | None = "dead",
    limit: int = 1000,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("dead_letters", "view")),
) -> list[dict[str, Any]]:
    """Dead letters, oldest first (``status=dead``: awaiting action; ``status=`` : all)."""
    where = DeadLetterFilter(consumer, error_type, event_type, status or None)
    store = DeadLetters(ctx.uow, who.tenant)
    return [summary(dl) for dl in store.find(where, limit=max(1, limit))]


@router.get("/dead-letters/groups", tags=["dead letters"])
def dead_letter_groups(
    ctx: WebContext = Depends(context), who: Principal = Depends(require("dead_letters", "view"))
) -> list[dict[str, Any]]:
    """Dead letters awaiting action, counted by consumer and error type."""
    return [
        {**g, "last_failed_at": g["last_failed_at"].isoformat() if g["last_failed_at"] else None}
        for g in DeadLetters(ctx.uow, who.tenant).groups()
    ]


@router.get("/dead-letters/{dl_id}", tags=["dead letters"])
def show_dead_letter(
    dl_id: int,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("dead_letters", "view")),
) -> dict[str, Any]:
    """One dead letter: the original bytes, the payload, headers, error and traceback."""
    return detail(DeadLetters(ctx.uow, who.tenant).get(dl_id))


@router.post("/dead-letters/{dl_id}/replay", tags=["dead letters"])
def replay_dead_letter(
    dl_id: int,
    idempotency_key: str | None = IdempotencyKey,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("dead_letters", "edit")),
) -> dict[str, Any]:
    """Send the dead letter back to the consumer that failed it (attempts reset)."""
    return {"replayed": DeadLetters(ctx.uow, who.tenant).replay([dl_id])}


@router.post("/dead-letters/{dl_id}/purge", tags=["dead letters"])
def purge_dead_letter(
    dl_id: int,
    idempotency_key: str | None = IdempotencyKey,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("dead_letters", "delete")),
) -> dict[str, Any]:
    """Delete the dead letter for good."""
    return {"purged": DeadLetters(ctx.uow, who.tenant).purge([dl_id])}


@router.post("/dead-letters/replay", tags=["dead letters"])
def replay_group(
    group: Group,
    idempotency_key: str | None = IdempotencyKey,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("dead_letters", "edit")),
) -> dict[str, Any]:
    """Replay every dead letter awaiting action in the group (an empty group: all of them)."""
    where = DeadLetterFilter(group.consumer, group.error_type)
    return {"replayed": DeadLetters(ctx.uow, who.tenant).replay(None, where)}


@router.post("/dead-letters/purge", tags=["dead letters"])
def purge_group(
    group: Group,
    idempotency_key: str | None = IdempotencyKey,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("dead_letters", "delete")),
) -> dict[str, Any]:
    """Purge every dead letter awaiting action in the group."""
    where = DeadLetterFilter(group.consumer, group.error_type, None, "dead")
    return {"purged": DeadLetters(ctx.uow, who.tenant).purge(None, where)}


@router.get("/queues", tags=["operations"])
def queues(
    ctx: WebContext = Depends(context), who: Principal = Depends(require("operations", "view"))
) -> dict[str, Any]:
    """Each hub queue (depth, consumers, in flight, oldest age, in/out rates; for the default
    tenant's operators only: the broker is the installation's), the tenant's outbox backlog
    and its dead letters by consumer and error type."""
    return overview(ctx.uow, ctx.transport, ctx.queues, ctx.sampler, tenant=who.tenant)


@router.get("/trace/{correlation_id}", tags=["operations"])
def trace(
    correlation_id: str,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("operations", "view")),
) -> dict[str, Any]:
    """Every record of one correlation id, oldest first."""
    steps = timeline(ctx.uow, correlation_id, tenant=who.tenant)
    return {"correlation_id": correlation_id, "steps": steps}


@router.get("/config", tags=["operations"])
def configuration(
    ctx: WebContext = Depends(context), who: Principal = Depends(require("configuration", "view"))
) -> dict[str, Any]:
    """The tenant's workflow configuration in force and the hub's settings (no passwords)."""
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


@health.get("/healthz", tags=["operations"])
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
