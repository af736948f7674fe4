"""The web application: the JSON API under ``/api``, the console's pages, ``/metrics`` and
``/healthz``. ``create_app`` takes a ``WebContext`` (the running hub's store and transport)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import fastapi_offline
from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from hub import __version__
from hub.web import (
    api_companies,
    api_contact,
    api_ops,
    api_people,
    api_portal,
    api_settings_ftp,
    api_settings_smtp,
    api_tickets,
    console,
    console_companies,
    console_desk,
    console_letters,
    console_people,
    console_portal,
    console_settings_ftp,
    console_settings_smtp,
    console_tickets,
    errors,
    idempotency,
    limits,
    portal,
    portal_tickets,
)
from hub.web.context import WebContext
from hub.web.headers import security_headers, swagger_csp
from hub.web.metrics import exposition, store_registry
from hub.web.security import CsrfRefused, LoginRequired, principal
from hub.web.tokens import Principal

#: Swagger UI's files, served by the hub itself (fastapi-offline ships them)
SWAGGER_UI = Path(fastapi_offline.__file__).parent / "static"


def create_app(ctx: WebContext) -> FastAPI:
    app = FastAPI(
        title="Integration hub",
        version=__version__,
        description="Tickets, dead letters, queues and configuration of the integration hub. "
        "Every endpoint but /healthz and /metrics needs a bearer token of a tenant's user "
        "(`hub tokens create NAME --user ID`); each needs a permission of the user's roles.",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.state.metrics = store_registry(ctx.uow, ctx.transport, ctx.queues)
    app.middleware("http")(idempotency.middleware)
    app.add_middleware(idempotency.SpooledUploads)
    # no request body beyond its bound reaches the idempotency check or a handler
    app.add_middleware(limits.BodyLimit, attachment_bytes=ctx.settings.max_attachment_bytes)
    # outermost: every answer, refusals included, carries the security headers
    app.middleware("http")(security_headers(ctx.settings.cookie_secure))
    app.include_router(api_ops.health)
    app.include_router(api_tickets.router)
    app.include_router(api_tickets.deleted)
    app.include_router(api_ops.router)
    app.include_router(api_people.router)
    app.include_router(api_portal.router)
    app.include_router(api_contact.router)
    app.include_router(api_settings_ftp.router)
    app.include_router(api_settings_smtp.router)
    app.include_router(api_companies.router)
    for pages in (
        console,
        console_letters,
        console_tickets,
        console_people,
        console_portal,
        console_companies,
        console_desk,
        console_settings_ftp,
        console_settings_smtp,
    ):
        app.include_router(pages.router)
    portal.install(app)
    app.include_router(portal_tickets.router)
    app.mount("/static", StaticFiles(directory=console.STATIC), name="static")
    app.mount("/swagger", StaticFiles(directory=SWAGGER_UI), name="swagger")

    errors.install(app)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, error: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, error: CsrfRefused) -> Response:
        return JSONResponse({"error": "CsrfRefused", "detail": error.why}, status_code=403)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(
            exposition(ctx.observer, app.state.metrics),
            media_type="text/plain; version=0.0.4; charset=utf-8",
        )

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(who: Principal = Depends(principal)) -> dict[str, Any]:
        return app.openapi()

    @app.get("/docs", include_in_schema=False)
    def docs(who: Principal = Depends(principal)) -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} API",
            swagger_js_url="/swagger/swagger-ui-bundle.js",
            swagger_css_url="/swagger/swagger-ui.css",
            swagger_favicon_url="/swagger/favicon.png",
        )
        page.headers["Content-Security-Policy"] = swagger_csp(bytes(page.body))
        return page

    return app
