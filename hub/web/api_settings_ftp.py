"""``/api/settings/ftp``: a company's or branch's FTP/SFTP server (list, show, set, test). The
same functions as ``hub settings ftp``; the password is write-only."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from hub.files import servers
from hub.files.stores import upload_test_file
from hub.runtime.uow import Cause
from hub.web.context import WebContext
from hub.web.errors import responses
from hub.web.security import context, require
from hub.web.tokens import Principal

router = APIRouter(
    prefix="/api/settings/ftp", tags=["settings"], responses=responses(401, 403, 422, 503)
)

Company = Annotated[
    str, Path(min_length=1, max_length=servers.MAX_CODE, description="The company's code.")
]
Branch = Annotated[
    str | None,
    Query(
        max_length=servers.MAX_CODE,
        description="The branch's code; left out: the company's own setting.",
    ),
]


class FileServerBody(BaseModel):
    """A company's or branch's file server."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=servers.MAX_HOST)
    port: int | None = Field(default=None, ge=1, le=65535, description="Default: 21, SFTP 22.")
    folder: str = Field(
        min_length=1, max_length=servers.MAX_FOLDER, description="An existing folder: `/in`."
    )
    user: str = Field(min_length=1, max_length=servers.MAX_USER)
    password: str | None = Field(
        default=None,
        max_length=servers.MAX_PASSWORD,
        description="Write-only: never returned. Left out, the stored one stays.",
    )
    protocol: Literal["ftp", "sftp"]
    transfer: Literal["hub", "server"] = Field(
        default="hub",
        description="`hub`: the hub writes attachments to the server; `server`: they stay in "
        "the hub and the customer's server fetches them.",
    )


class TestResult(BaseModel):
    ok: bool
    detail: str = Field(description="One line: what was uploaded where.")


@router.get("")
def list_file_servers(
    ctx: WebContext = Depends(context), who: Principal = Depends(require("settings", "view"))
) -> list[dict[str, Any]]:
    """The tenant's file-server settings, by company then branch (no passwords)."""
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        return [servers.view(r) for r in servers.listing(uow.session, uow.tenant)]


@router.get("/{company}", responses=responses(404))
def show_file_server(
    company: Company,
    branch: Branch = None,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("settings", "view")),
) -> dict[str, Any]:
    """The company's own setting, or the branch's (no password)."""
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        return servers.view(servers.get(uow.session, uow.tenant, company, branch))


@router.put("/{company}")
def set_file_server(
    company: Company,
    body: FileServerBody,
    branch: Branch = None,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("settings", "edit")),
) -> dict[str, Any]:
    """Set the company's or branch's file server (a branch's wins over its company's)."""
    port = body.port if body.port is not None else servers.DEFAULT_PORTS[body.protocol]
    change = servers.Change(
        company,
        branch,
        body.host,
        port,
        body.folder,
        body.user,
        body.password,
        body.protocol,
        body.transfer,
    )
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        row = servers.put(
            uow.session, uow.tenant, change, box=ctx.secrets, by=who.user, now=uow.now()
        )
        return servers.view(row)


@router.post("/{company}/test", responses=responses(404, 409, 502))
def test_file_server(
    company: Company,
    branch: Branch = None,
    ctx: WebContext = Depends(context),
    who: Principal = Depends(require("settings", "edit")),
) -> TestResult:
    """Upload a small file to the setting's folder; ``502`` with the server's answer when it
    refuses or does not answer."""
    with ctx.uow(Cause.action(tenant=who.tenant)) as uow:
        row = servers.get(uow.session, uow.tenant, company, branch)
        endpoint = servers.endpoint(row, ctx.secrets)
    return TestResult(ok=True, detail=upload_test_file(endpoint))
