"""The web app served by ``hub run``: uvicorn in a thread of the hub process."""

from __future__ import annotations

import logging
import threading
import time

import uvicorn

from hub.bootstrap import Hub
from hub.errors import ConfigurationError
from hub.web.app import create_app
from hub.web.context import WebContext
from hub.web.idempotency import forget_older_than

log = logging.getLogger("hub.web")


class WebServer:
    """Starts on ``host``:``port`` (``0``: a free port, see ``url``); ``stop`` lets the
    requests in progress finish. Adds a periodic job to ``hub`` that forgets stored
    idempotent responses after ``HUB_INBOX_RETENTION_DAYS`` (create it before ``hub.start``)."""

    def __init__(self, hub: Hub, host: str, port: int) -> None:
        ctx = WebContext(hub.settings, hub.uow, hub.transport, hub.queues, hub.observer)
        config = uvicorn.Config(
            create_app(ctx),
            host=host,
            port=port,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        days = hub.settings.inbox_retention_days
        hub.ticks.append(("idempotency", 3600.0, lambda: forget_older_than(hub.uow, days)))
        self.thread = threading.Thread(target=self.server.run, name="hub-web", daemon=True)
        self.url = ""

    def start(self, timeout: float = 15.0) -> str:
        """Serve in a thread; return the bound URL. Raises ``ConfigurationError`` when the
        address cannot be bound."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                cfg = self.server.config
                raise ConfigurationError(
                    f"HUB_HTTP_HOST/HUB_HTTP_PORT: cannot serve on {cfg.host}:{cfg.port}"
                )
            time.sleep(0.02)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}/"
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
