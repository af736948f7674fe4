"""The console's dead-letter pages: groups by consumer and error, one dead letter's payload,
headers and traceback, replay and purge of one or a group (operators)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from hub.errors import HubError
from hub.identity.permissions import Forbidden
from hub.runtime import dlq_audit, dlq_edit
from hub.runtime.deadletters import DeadLetterFilter, DeadLetters, detail, summary
from hub.web.api_ops import actor
from hub.web.console import act, back, page
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
    return _letter_page(request, ctx, who, dl_id)


def _letter_page(
    request: Request,
    ctx: WebContext,
    who: Principal,
    dl_id: int,
    *,
    draft: str | None = None,
    problems: list[str] | None = None,
) -> HTMLResponse:
    """A dead letter's page: its message, the edit form (with ``draft`` and the ``problems``
    found in it, after a refused correction) and its history in the audit."""
    try:
        permissions_of_request(request, who).check("dead_letters", "view")
        row = DeadLetters(ctx.uow, who.tenant).get(dl_id)
    except (HubError, Forbidden) as e:
        return page(request, "error.html", who, problem=str(e))
    try:
        dlq_edit.check_editable(row)
        editable = True
    except HubError:
        editable = False
    return page(
        request,
        "dead_letter.html",
        who,
        dl=detail(row),
        editable=editable,
        draft=draft if draft is not None else dlq_edit.editable(row),
        problems=problems or [],
        history=[
            dlq_audit.as_json(e) for e in dlq_audit.entries(ctx.uow, who.tenant, dl_id, 50)
        ],
    )


@router.post("/dead-letters/{dl_id}/edit", response_model=None)
def dead_letter_edit(
    request: Request,
    dl_id: int,
    event: str = Form(""),
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> HTMLResponse | RedirectResponse:
    """Replay the corrected message; a refused one comes back on the page with every problem
    and the text as it was typed."""
    try:
        permissions_of_request(request, who).check("dead_letters", "edit")
    except Forbidden as e:
        return back(f"/dead-letters/{dl_id}", error=str(e))
    try:
        entry = dlq_edit.replay_corrected(
            ctx.uow, dl_id, event, tenant=who.tenant, by=actor(who), limits=ctx.settings.limits
        )
    except HubError as e:
        problems = list(getattr(e, "problems", None) or [str(e)])
        return _letter_page(request, ctx, who, dl_id, draft=event, problems=problems)
    return back(f"/dead-letters/{dl_id}", msg=f"corrected version replayed ({entry['detail']})")


@router.post("/dead-letters/{dl_id}/replay")
def dead_letter_replay(
    request: Request,
    dl_id: int,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    def run() -> str:
        done = DeadLetters(ctx.uow, who.tenant).replay([dl_id], by=actor(who))
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
        DeadLetters(ctx.uow, who.tenant).purge([dl_id], by=actor(who))
        return f"dead letter {dl_id} purged"

    return act(request, who, ("dead_letters", "delete"), "/dead-letters", run)


@router.post("/dead-letter-groups/{verb}")
def dead_letter_group(
    request: Request,
    verb: str,
    consumer: str = Form(""),
    error_type: str = Form(""),
    rate: str = Form(""),
    ctx: WebContext = Depends(context),
    who: Principal = Depends(console_user),
) -> RedirectResponse:
    where = DeadLetterFilter(consumer or None, error_type or None, None, "dead")
    group = f"{consumer or 'every consumer'} / {error_type or 'every error'}"

    def run() -> str:
        store = DeadLetters(ctx.uow, who.tenant)
        if verb == "replay":
            per_second = _rate(rate)
            done = store.replay(None, where, by=actor(who), rate=per_second)
            pace = f" at {per_second:g}/s" if per_second else ""
            return f"replaying {len(done)} of {group}{pace}"
        if verb == "purge":
            return f"purged {store.purge(None, where, by=actor(who))} of {group}"
        raise HubError(f"unknown action {verb!r}")

    permission = ("dead_letters", "delete" if verb == "purge" else "edit")
    return act(request, who, permission, "/dead-letters", run)


def _refusal(request: Request, who: Principal, action: str) -> str:
    try:
        permissions_of_request(request, who).check("dead_letters", action)
    except Forbidden as e:
        return str(e)
    return ""


def _rate(text: str) -> float | None:
    """The console's rate field: empty, or messages a second (above 0, at most 10,000)."""
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise HubError(f"rate {text!r}: a number of messages a second, such as 50") from None
    if not 0 < value <= 10_000:
        raise HubError(f"rate {text!r}: above 0 and at most 10000 a second")
    return value
