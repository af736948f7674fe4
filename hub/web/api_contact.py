"""``/api/scripts``, ``/api/forms``, ``/api/occurrences``: the contact center's script tree and
forms as the caller may see them, and occurrences recorded through a script item. The same
functions as the CLI and the console's desk."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from pydantic import BaseModel, ConfigDict, Field

from hub.contact import occurrences
from hub.contact.desk import form_list, script_tree
from hub.identity.access import authorize
from hub.runtime.uow import Cause
from hub.web.context import WebContext
from hub.web.errors import responses
from hub.web.idempotency import action_id
from hub.web.security import context, require
from hub.web.tokens import Principal

router = APIRouter(prefix="/api", tags=["contact center"], responses=responses(401, 403, 422, 503))
IdempotencyKey = Header(
    None, alias="Idempotency-Key", max_length=200, description="Retries do not act twice."
)


class Complement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["pending", "resolved", "concluded"] | None = Field(
        default=None, description="A `pending` item's status (default pending)."
    )
    responsible: str | None = Field(default=None, min_length=1, max_length=200)
    outcome: Literal["success", "failure", "callback"] | None = Field(
        default=None, description="A `marketing` item's outcome."
    )


class NewOccurrence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    script_item: str = Field(min_length=1, max_length=200)
    customer_id: str = Field(min_length=1, max_length=200)
    fields: dict[Annotated[str, Field(max_length=200)], Any] = Field(
        default_factory=dict, max_length=100
    )
    complement: Complement | None = None
    channel: str = Field(default="phone", min_length=1, max_length=40)


@router.get("/scripts/tree")
def show_script_tree(
    user: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Whose view (default: yours).")
    ] = None,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("tickets", "view")),
) -> list[dict[str, Any]]:
    """The script tree as ``user`` may see it: nested ``{id, name, form, message, complement,
    children}``. Another user's view needs users:view."""
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        if user is not None and user != who.user:
            authorize(uow.session, uow.tenant, who.user, "users", "view")
        return script_tree(uow, user or who.user)


@router.get("/forms")
def list_forms(
    ctx: WebContext = Depends(context), who: Principal = Depends(require("tickets", "view"))
) -> list[dict[str, Any]]:
    """Every form: ticket type, omnichannel, groups, process and fields."""
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        return form_list(uow)


@router.post("/occurrences", status_code=201, responses=responses(404, 409))
def record_occurrence(
    body: NewOccurrence,
    idempotency_key: str | None = IdempotencyKey,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("tickets", "include")),
) -> dict[str, Any]:
    """Record an occurrence through a script item authorised to the caller (403 otherwise):
    opens a ticket of the item's form's type, or adds to the customer's open one."""
    aid = action_id(who.key, idempotency_key)
    complement = body.complement.model_dump(exclude_none=True) if body.complement else None
    with ctx.uow(Cause.action(aid, tenant=who.tenant)) as uow:
        done = occurrences.record_from_script(
            uow,
            body.script_item,
            fields=body.fields,
            customer_id=body.customer_id,
            complement=complement,
            by=who.user,
            channel=body.channel,
        )
    return {"occurrence_id": done.occurrence_id, "ticket_id": done.ticket_id, "opened": done.opened}
