"""What the CLI, the API and the console do with SMTP settings: set, show, list, test. The
caller checks the ``settings`` permission (view; edit to set or test)."""

from __future__ import annotations

from typing import Any

from hub.errors import ConfigurationError
from hub.mail import smtp
from hub.mail.servers import (
    MailServers,
    SmtpServer,
    SmtpSetting,
    check_scope,
    scope_name,
    view,
)
from hub.runtime.uow import UnitOfWork, UnitOfWorkFactory
from hub.secrets import SecretBox


def set_server(
    uow: UnitOfWork,
    setting: SmtpSetting,
    *,
    password: str | None,
    box: SecretBox,
    by: str,
) -> dict[str, Any]:
    """Store ``setting`` for its company or branch; returns it as ``view`` shows it."""
    row = MailServers(uow.session, uow.tenant).put(
        setting, password=password, box=box, by=by, now=uow.now()
    )
    return view(row)


def show_server(uow: UnitOfWork, company: str, branch: str | None) -> dict[str, Any]:
    """Raises ``MailServerNotFound``, and ``ConfigurationError`` for a code that is none."""
    return view(MailServers(uow.session, uow.tenant).get(*check_scope(company, branch)))


def list_servers(uow: UnitOfWork) -> list[dict[str, Any]]:
    return [view(r) for r in MailServers(uow.session, uow.tenant).all()]


def send_test_mail(
    factory: UnitOfWorkFactory,
    tenant: str,
    company: str,
    branch: str | None,
    *,
    box: SecretBox,
    timeout: float = smtp.TIMEOUT,
) -> smtp.MailCheck:
    """Send a test e-mail through the setting of ``company``/``branch`` to its sender
    address (outside any transaction). Raises ``MailServerNotFound`` and
    ``ConfigurationError`` (a code that is none); a password sealed with another key is a
    failed test."""
    check_scope(company, branch)
    with factory.sessions() as session:
        row = MailServers(session, tenant).get(company, branch)
        try:
            server = SmtpServer.of_row(row, box)
        except ConfigurationError as e:
            return smtp.MailCheck(False, str(e))
    return smtp.send_test(
        server, scope=scope_name(company, branch), now=factory.clock.now(), timeout=timeout
    )
