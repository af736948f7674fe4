"""``/api/settings/smtp``: the SMTP servers of the tenant's companies and branches, and the
test e-mail. The same functions as ``hub settings smtp``; passwords are accepted, never
returned."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from hub.mail import service
from hub.mail.servers import (
    CODE,
    MAX_DELAY,
    MAX_PASSWORD,
    Address,
    Host,
    Line,
    MailServerNotFound,
    Secure,
    SmtpSetting,
)
from hub.runtime.uow import Cause
from hub.web.context import WebContext
from hub.web.errors import responses
from hub.web.security import context, require
from hub.web.tokens import Principal

router = APIRouter(prefix="/api/settings", responses=responses(401, 403, 422, 503))

Company = Annotated[
    str, Path(min_length=1, max_length=100, pattern=CODE, description="The company's code.")
]
Branch = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=100,
        pattern=CODE,
        description="The branch's code; without it, the company's own setting.",
    ),
]


class SmtpBody(BaseModel):
    """An SMTP setting. ``password`` is write-only; left out, the stored password of the same
    ``username`` is kept."""

    model_config = ConfigDict(extra="forbid")

    host: Host
    port: int = Field(ge=1, le=65535)
    sender: Address
    sender_name: Line | None = None
    username: Line | None = Field(default=None, min_length=1)
    password: str | None = Field(
        default=None, min_length=1, max_length=MAX_PASSWORD, pattern=r"^[^\r\n]*$"
    )
    secure: Secure = "none"
    primary: bool = False
    delay_seconds: int = Field(default=0, ge=0, le=MAX_DELAY)


def _not_found(error: MailServerNotFound) -> HTTPException:
    return HTTPException(404, str(error))


@router.get("/smtp", tags=["settings"])
def list_smtp(
    ctx: WebContext = Depends(context), who: Principal = Depends(require("settings", "view"))
) -> list[dict[str, Any]]:
    """Every SMTP setting of the tenant (``password``: ``set`` or ``not set``)."""
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        return service.list_servers(uow)


@router.get("/smtp/{company}", tags=["settings"], responses=responses(404))
def show_smtp(
    company: Company,
    branch: Branch = None,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("settings", "view")),
) -> dict[str, Any]:
    try:
        with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
            return service.show_server(uow, company, branch)
    except MailServerNotFound as e:
        raise _not_found(e) from None


@router.put("/smtp/{company}", tags=["settings"])
def put_smtp(
    company: Company,
    body: SmtpBody,
    branch: Branch = None,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("settings", "edit")),
) -> dict[str, Any]:
    """Set the SMTP server of a company or branch; ``primary`` makes it the tenant's fallback
    (and no other one)."""
    values = body.model_dump(exclude={"password"})
    setting = SmtpSetting.of(company=company, branch=branch, **values)
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        return service.set_server(
            uow, setting, password=body.password, box=ctx.secrets, by=who.user
        )


@router.post("/smtp/{company}/test", tags=["settings"], responses=responses(404, 409))
def test_smtp(
    company: Company,
    branch: Branch = None,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("settings", "edit")),
) -> dict[str, Any]:
    """Send a test e-mail to the setting's sender address. ``ok`` says whether the server
    accepted it; ``result`` is one line: the success, or the server's answer or the reason it
    failed."""
    try:
        result = service.send_test_mail(ctx.uow, who.tenant, company, branch, box=ctx.secrets)
    except MailServerNotFound as e:
        raise _not_found(e) from None
    return result.to_json()
