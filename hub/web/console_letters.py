"""The console's dead-letter pages: groups by consumer and error, one dead letter's payload,
headers and traceback, replay and purge of one or a group (operators)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from hub.errors import HubError
from hub.identity.permissions import Forbidden
from hub.runtime.deadletters import DeadLetterFilter, DeadLetters, detail, summary
from hub.web.console import act, page
from hub.web.context import WebContext
from hub.web.security import allowed, console_user, context, permissions_of_request
from hub.web.tokens import Principal

# --- dead letters -----------------------------------------------------------------------

router = APIRouter(include_in_schema=False)


def _letters(
    ctx: WebContext, who: Principal, consumer: str | None, error_type: str | None
) -> dict[str, Any]:
    store = DeadLetters(ctx.uow, who.tenant)
    where = DeadLetterFilter(consumer or None, error_type or None)
    return {
        "groups": store.groups(),
        "letters": [summary(dl) for dl in store.find(where, limit=500)],
        "consumer": consumer or "",
        "error_type": error_type or "",
    }


@router.get("/dead-letters")
def dead_letters_page(
    request: Request,
    consumer: str | None = None,
    error_type: str | None = None,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> HTMLResponse:
    if not allowed(request, who, "dead_letters", "view"):
        return page(request, "error.html", who, problem=_refusal(request, who, "view"))
    return page(request, "dead_letters.html", who, **_letters(ctx, who, consumer, error_type))


@router.get("/live/dead-letters")
def dead_letters_live(
    request: Request,
    consumer: str | None = None,
    error_type: str | None = None,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> HTMLResponse:
    if not allowed(request, who, "dead_letters", "view"):
        return page(request, "error.html", who, problem=_refusal(request, who, "view"))
    return page(request, "_dead_letters.html", who, **_letters(ctx, who, consumer, error_type))


@router.get("/dead-letters/{dl_id}")
def dead_letter_page(
    request: Request,
    dl_id: int,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> HTMLResponse:
    try:
        permissions_of_request(request, who).check("dead_letters", "view")
        letter = detail(DeadLetters(ctx.uow, who.tenant).get(dl_id))
    except (HubError, Forbidden) as e:
        return page(request, "error.html", who, problem=str(e))
    return page(request, "dead_letter.html", who, dl=letter)


@router.post("/dead-letters/{dl_id}/replay")
def dead_letter_replay(
    request: Request,
    dl_id: int,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    def run() -> str:
        done = DeadLetters(ctx.uow, who.tenant).replay([dl_id])
        return (
            f"dead letter {dl_id} replayed" if done else f"dead letter {dl_id} was replayed already"
        )

    return act(request, who, ("dead_letters", "edit"), f"/dead-letters/{dl_id}", run)


@router.post("/dead-letters/{dl_id}/purge")
def dead_letter_purge(
    request: Request,
    dl_id: int,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    def run() -> str:
        DeadLetters(ctx.uow, who.tenant).purge([dl_id])
        return f"dead letter {dl_id} purged"

    return act(request, who, ("dead_letters", "delete"), "/dead-letters", run)


@router.post("/dead-letter-groups/{verb}")
def dead_letter_group(
    request: Request,
    verb: str,
    consumer: str = Form(""),
    error_type: str = Form(""),
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    where = DeadLetterFilter(consumer or None, error_type or None, None, "dead")
    group = f"{consumer or 'every consumer'} / {error_type or 'every error'}"

    def run() -> str:
        store = DeadLetters(ctx.uow, who.tenant)
        if verb == "replay":
            return f"replayed {len(store.replay(None, where))} of {group}"
        if verb == "purge":
            return f"purged {store.purge(None, where)} of {group}"
        raise HubError(f"unknown action {verb!r}")

    permission = ("dead_letters", "delete" if verb == "purge" else "edit")
    return act(request, who, permission, "/dead-letters", run)


def _refusal(request: Request, who: Principal, action: str) -> str:
    try:
        permissions_of_request(request, who).check("dead_letters", action)
    except Forbidden as e:
        return str(e)
    return ""
