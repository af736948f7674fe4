"""``/api/portal/...`` and ``/api/settings/portal``: customers' portal accounts (invite, list,
disable, enable) and the tenant's portal settings, for the staff. The same functions as
``hub portal`` and ``hub settings portal``; the customers' own pages are ``/portal/``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from hub.portal import accounts
from hub.portal.settings import (
    PortalSettingsError,
    change_portal_settings,
    portal_settings,
)
from hub.runtime.uow import Cause
from hub.web.context import WebContext
from hub.web.errors import responses
from hub.web.security import context, require
from hub.web.sessions import set_customer_status
from hub.web.tokens import Principal

router = APIRouter(prefix="/api", responses=responses(401, 403, 422, 503))

CustomerId = Annotated[
    str, Path(min_length=1, max_length=accounts.MAX_CUSTOMER_ID, description="The ERP's id.")
]


class Invitation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(
        min_length=1,
        max_length=accounts.MAX_CUSTOMER_ID,
        description="The customer's id in the ERP: an agreement's customer.id, a student's RA.",
    )
    email: str = Field(min_length=3, max_length=accounts.MAX_EMAIL)
    language: Literal["pt_BR", "en"] | None = None
    company: str | None = Field(default=None, max_length=50, description="Whose SMTP sends it.")
    branch: str | None = Field(default=None, max_length=50, description="Whose SMTP sends it.")


class SettingsChange(BaseModel):
    """What to change; what is left out stays."""

    model_config = ConfigDict(extra="forbid")

    default_attendant: str | None = Field(
        default=None, max_length=200, description="'' : the ticket type's own assignment."
    )
    customer_mail: StrictBool | None = None


@router.get("/portal/accounts", tags=["portal"])
def list_accounts(
    ctx: WebContext = Depends(context), who: Principal = Depends(require("users", "view"))
) -> list[dict[str, Any]]:
    """The tenant's customers' portal accounts."""
    with ctx.uow.sessions() as session:
        return [a.to_json() for a in accounts.accounts(session, who.tenant)]


@router.post("/portal/invitations", tags=["portal"], status_code=201, responses=responses(409))
def invite(
    body: Invitation,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("users", "include")),
) -> dict[str, Any]:
    """E-mail the customer a one-time link where they choose their password (built from
    ``HUB_PUBLIC_URL``); a newer invitation voids the older link. The mail waits in the
    outbox; the link itself is never shown here."""
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        sent = accounts.invite(
            uow,
            body.customer_id,
            body.email,
            by=who.user,
            public_url=ctx.settings.effective_public_url,
            language=body.language,
            company=body.company,
            branch=body.branch,
        )
    return {"account": sent.account.to_json(), "mail_id": sent.mail_id}


def _status(ctx: WebContext, who: Principal, customer_id: str, *, enabled: bool) -> Any:
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        account = set_customer_status(uow, customer_id, enabled=enabled, by=who.user)
    return account.to_json()


@router.post(
    "/portal/accounts/{customer_id}/disable", tags=["portal"], responses=responses(404, 409)
)
def disable(
    customer_id: CustomerId,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("users", "edit")),
) -> dict[str, Any]:
    """Refuse the account's sign-ins from now on and end its sessions."""
    result: dict[str, Any] = _status(ctx, who, customer_id, enabled=False)
    return result


@router.post(
    "/portal/accounts/{customer_id}/enable", tags=["portal"], responses=responses(404, 409)
)
def enable(
    customer_id: CustomerId,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("users", "edit")),
) -> dict[str, Any]:
    """Let a disabled account sign in again."""
    result: dict[str, Any] = _status(ctx, who, customer_id, enabled=True)
    return result


@router.get("/settings/portal", tags=["portal"])
def show_settings(
    ctx: WebContext = Depends(context), who: Principal = Depends(require("settings", "view"))
) -> dict[str, Any]:
    """The portal's default attendant, and whether customers are e-mailed."""
    with ctx.uow.sessions() as session:
        return portal_settings(session, who.tenant).to_json()


@router.post("/settings/portal", tags=["portal"], responses=responses(404, 409))
def change_settings(
    body: SettingsChange,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("settings", "edit")),
) -> dict[str, Any]:
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        try:
            chosen = change_portal_settings(
                uow.session,
                uow.tenant,
                default_attendant=body.default_attendant,
                customer_mail=body.customer_mail,
            )
        except PortalSettingsError as e:
            raise HTTPException(404, str(e)) from None  # no such active user
    return chosen.to_json()
