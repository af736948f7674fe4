"""One shape for every error the HTTP API answers: ``{"error": "<type>", "detail": "<one
line>"}``, whatever refused the request (the workflow, a token check, request validation, an
unknown path or method, a store or broker that does not answer), and the OpenAPI description of
those answers (``responses``)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException

from hub.companies.service import CompanyExists, CompanyInUse, CompanyNotFound
from hub.contact.desk import ScriptItemNotFound
from hub.errors import HubError, TransientError
from hub.files.servers import FileServerFailed, FileServerNotFound
from hub.identity.permissions import Forbidden
from hub.identity.service import RoleExists, RoleNotFound, UserNotFound
from hub.portal.accounts import AccountNotFound
from hub.runtime.deadletters import DeadLetterNotFound, NotReplayable
from hub.runtime.dlq_edit import NotEditable
from hub.store.db import is_store_outage
from hub.tenancy.tenants import UnknownTenantError
from hub.workflow import errors as wf

log = logging.getLogger("hub.web")


class ErrorBody(BaseModel):
    """Every refusal of the API."""

    error: str = Field(description="The kind of refusal, e.g. `IllegalMove`, `NotFound`.")
    detail: str = Field(description="One line saying why, for a person.")


#: The status of each error the hub raises on purpose (first match wins).
STATUS: list[tuple[type[Exception], int]] = [
    (Forbidden, 403),
    (UserNotFound, 404),
    (RoleNotFound, 404),
    (RoleExists, 409),
    (UnknownTenantError, 404),
    (FileServerNotFound, 404),
    (AccountNotFound, 404),
    (FileServerFailed, 502),
    (CompanyNotFound, 404),
    (CompanyExists, 409),
    (CompanyInUse, 409),
    (wf.TicketNotFound, 404),
    (ScriptItemNotFound, 404),
    (DeadLetterNotFound, 404),
    (wf.PermissionDenied, 403),
    (wf.Conflict, 409),
    (wf.NoConfiguration, 409),
    (NotReplayable, 409),
    (NotEditable, 409),
    (wf.WorkflowError, 422),
    (TransientError, 503),
    (HubError, 422),
]

#: The ``error`` of a refusal that carries only a status.
NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Gone",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "ValidationError",
    502: "BadGateway",
    503: "Unavailable",
}

WHY = {
    401: "No token or session, or one that is not valid (revoked, expired, its user pending).",
    403: "The caller's roles do not grant this (the detail names the missing permission), the "
    "workflow refuses this user, or a cookie-authenticated write lacks its CSRF token.",
    404: "No such ticket, dead letter, attachment, user, role, tenant, company, branch, or mail or "
    "file-server setting in the caller's tenant.",
    409: "The state changed meanwhile (a stale `expected_version`, a request with the same "
    "`Idempotency-Key` still running, no configuration yet, a dead letter that cannot be "
    "replayed, a role, company or branch that exists already, a company or branch that data is "
    "linked to: the detail lists what, with counts).",
    410: "The attachment's bytes are gone from the attachment store.",
    413: "The request body (an attachment) is larger than the hub accepts.",
    422: "The request is not valid (a parameter, the body, an `Idempotency-Key` used for "
    "another request), or the workflow refused it (`IllegalMove`, `ReasonRequired`, ...).",
    502: "A company's file server refused or did not answer; the detail is its answer.",
    503: "The broker or the database does not answer; try again later.",
}


def status_of(error: Exception) -> int:
    return next((code for kind, code in STATUS if isinstance(error, kind)), 500)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of these refusals, each with ``ErrorBody``."""
    return {code: {"model": ErrorBody, "description": WHY[code]} for code in codes}


def error_response(
    status: int, error: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _validation_detail(error: RequestValidationError) -> str:
    parts = []
    for e in error.errors():
        where = ".".join(str(p) for p in e.get("loc", ()))
        parts.append(f"{where}: {e.get('msg', 'invalid')}" if where else str(e.get("msg")))
    return _one_line("; ".join(parts)) or "the request is not valid"


def install(app: FastAPI) -> None:
    """Answer every error in the one shape."""

    @app.exception_handler(HubError)
    async def _hub_error(request: Request, error: HubError) -> JSONResponse:
        return error_response(status_of(error), type(error).__name__, _one_line(str(error)))

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
        detail = error.detail if isinstance(error.detail, str) else str(error.detail)
        # a body that cannot be parsed (not JSON, a broken multipart form) is invalid input
        status = 422 if error.status_code == 400 else error.status_code
        return error_response(
            status,
            NAMES.get(status, "Error"),
            _one_line(detail),
            dict(error.headers) if error.headers else None,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(422, "ValidationError", _validation_detail(error))

    @app.exception_handler(DBAPIError)
    async def _store(request: Request, error: DBAPIError) -> JSONResponse:
        if isinstance(error, OperationalError) or is_store_outage(error):
            return error_response(503, "Unavailable", "the database does not answer; try again")
        return await _defect(request, error)

    @app.exception_handler(Exception)
    async def _defect(request: Request, error: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return error_response(500, "ServerError", "an unexpected error; it is in the hub's log")
