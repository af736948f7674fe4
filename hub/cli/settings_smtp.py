"""``hub settings smtp``: the SMTP servers of a tenant's companies and branches. The password
is read from standard input and never printed (``password: set`` / ``not set``)."""

from __future__ import annotations

import sys

import typer

from hub.cli.common import (
    BRANCH_OPTION,
    BY_OPTION,
    COMPANY_OPTION,
    JSON_OPTION,
    TENANT_OPTION,
    actor_of,
    allow,
    authorize,
    fail,
    print_json,
    settings,
    tenant_store,
    tenant_uow,
)
from hub.mail import service
from hub.mail.servers import MAX_PASSWORD, SECURE, SmtpSetting
from hub.secrets import SecretBox

smtp = typer.Typer(help="SMTP servers of the companies and branches.", no_args_is_help=True)


@smtp.command("set")
def smtp_set(
    company: str = COMPANY_OPTION,
    branch: str | None = BRANCH_OPTION,
    host: str = typer.Option(..., "--host", metavar="H"),
    port: int = typer.Option(..., "--port", metavar="P"),
    sender: str = typer.Option(..., "--sender", metavar="EMAIL", help="The From address."),
    sender_name: str | None = typer.Option(None, "--sender-name", metavar="N"),
    user: str | None = typer.Option(
        None, "--user", metavar="U", help="Log in as U (the server requires authentication)."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read U's password from standard input (one line)."
    ),
    secure: str = typer.Option("none", "--secure", help=" | ".join(SECURE)),
    primary: bool = typer.Option(False, "--primary", help="The tenant's fallback server."),
    delay: int = typer.Option(0, "--delay", metavar="SECONDS", help="Wait before sending."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Set the SMTP server of company C (or of its branch B). Without --password-stdin the
    stored password of the same --user is kept."""
    if password_stdin and user is None:
        fail("--password-stdin needs --user")
    setting = SmtpSetting.of(
        company=company,
        branch=branch,
        host=host,
        port=port,
        sender=sender,
        sender_name=sender_name,
        username=user,
        secure=secure,
        primary=primary,
        delay_seconds=delay,
    )
    password = sys.stdin.readline(MAX_PASSWORD + 2).rstrip("\r\n") if password_stdin else None
    if password_stdin and not password:
        fail("no password on standard input")
    actor = actor_of(by)
    with tenant_uow(tenant) as uow:
        authorize(uow, actor, "settings", "edit")
        shown = service.set_server(
            uow, setting, password=password, box=SecretBox.for_settings(settings()), by=actor
        )
    typer.echo(f"{_scope(shown)}: SMTP {shown['host']}:{shown['port']} set")


@smtp.command("show")
def smtp_show(
    company: str = COMPANY_OPTION,
    branch: str | None = BRANCH_OPTION,
    as_json: bool = JSON_OPTION,
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """The SMTP setting of company C (or of its branch B)."""
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "settings", "view")
        shown = service.show_server(uow, company, branch)
    if as_json:
        print_json(shown)
        return
    for key, value in shown.items():
        typer.echo(f"{key}: {'-' if value is None else value}")


@smtp.command("list")
def smtp_list(
    as_json: bool = JSON_OPTION, tenant: str | None = TENANT_OPTION, by: str | None = BY_OPTION
) -> None:
    """Every SMTP setting of the tenant."""
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "settings", "view")
        rows = service.list_servers(uow)
    if as_json:
        print_json(rows)
        return
    for r in rows:
        flags = " primary" if r["primary"] else ""
        typer.echo(
            f"{_scope(r)}: {r['host']}:{r['port']} {r['secure']} from {r['sender']}"
            f" user {r['username'] or '-'} password {r['password']}"
            f" delay {r['delay_seconds']}s{flags}"
        )


@smtp.command("test")
def smtp_test(
    company: str = COMPANY_OPTION,
    branch: str | None = BRANCH_OPTION,
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Send a test e-mail through the setting of company C (or of its branch B) to its sender
    address; prints the outcome in one line, exits 1 when it failed."""
    with tenant_store(tenant) as (factory, chosen):
        allow(factory, chosen, actor_of(by), "settings", "edit")
        result = service.send_test_mail(
            factory, chosen, company, branch, box=SecretBox.for_settings(settings())
        )
    if not result.ok:
        fail(result.line, code=1)
    typer.echo(result.line)


def _scope(shown: dict[str, object]) -> str:
    return f"{shown['company']}/{shown['branch']}" if shown["branch"] else str(shown["company"])
