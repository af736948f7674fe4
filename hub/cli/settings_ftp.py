"""``hub settings ftp``: a company's or branch's FTP/SFTP server, for ticket attachments. The
password is read from standard input and never printed."""

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
    authorize,
    fail,
    print_json,
    settings,
    tenant_uow,
)
from hub.files import servers
from hub.files.stores import upload_test_file
from hub.secrets import SecretBox

app = typer.Typer(help="FTP/SFTP servers per company and branch.", no_args_is_help=True)


@app.command("set")
def ftp_set(
    company: str = COMPANY_OPTION,
    branch: str | None = BRANCH_OPTION,
    host: str = typer.Option(..., "--host", metavar="H"),
    port: int | None = typer.Option(None, "--port", metavar="P", help="Default: 21, SFTP 22."),
    folder: str = typer.Option(..., "--folder", metavar="F", help="An existing folder: /in."),
    user: str = typer.Option(..., "--user", metavar="U"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input (one line)."
    ),
    protocol: str = typer.Option(..., "--protocol", metavar="ftp|sftp"),
    transfer: str = typer.Option(
        "hub",
        "--transfer",
        metavar="hub|server",
        help="hub: the hub writes attachments to the server; server: the customer's server "
        "fetches them from the hub (docs/file-servers.md).",
    ),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Set the file server of a company or branch (a branch's wins over its company's). Without
    --password-stdin the stored password stays."""
    password = (
        sys.stdin.readline(servers.MAX_PASSWORD + 2).rstrip("\r\n") if password_stdin else None
    )
    chosen_port = port if port is not None else servers.DEFAULT_PORTS.get(protocol, 0)
    change = servers.Change(
        company, branch, host, chosen_port, folder, user, password, protocol, transfer
    )
    actor = actor_of(by)
    try:
        with tenant_uow(tenant) as uow:
            authorize(uow, actor, "settings", "edit")
            row = servers.put(
                uow.session,
                uow.tenant,
                change,
                box=SecretBox.for_settings(settings()),
                by=actor,
                now=uow.now(),
            )
            shown = servers.view(row)
    except servers.FileServerError as e:
        fail(str(e))
    typer.echo(f"{_label(shown)}: {_address(shown)} (transfer {shown['transfer']})")


@app.command("show")
def ftp_show(
    company: str = COMPANY_OPTION,
    branch: str | None = BRANCH_OPTION,
    as_json: bool = JSON_OPTION,
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """One company's or branch's own setting (no password)."""
    try:
        with tenant_uow(tenant) as uow:
            authorize(uow, actor_of(by), "settings", "view")
            shown = servers.view(servers.get(uow.session, uow.tenant, company, branch))
    except servers.FileServerError as e:
        fail(str(e))
    if as_json:
        print_json(shown)
        return
    for key, value in shown.items():
        typer.echo(f"{key}: {'-' if value is None else value}")


@app.command("list")
def ftp_list(
    as_json: bool = JSON_OPTION,
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Every file-server setting of the tenant (no passwords)."""
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "settings", "view")
        shown = [servers.view(r) for r in servers.listing(uow.session, uow.tenant)]
    if as_json:
        print_json(shown)
        return
    for s in shown:
        typer.echo(f"{_label(s)}: {_address(s)} (transfer {s['transfer']})")


@app.command("test")
def ftp_test(
    company: str = COMPANY_OPTION,
    branch: str | None = BRANCH_OPTION,
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Upload a small file to the setting's folder; one line says how it went (exit 1 when the
    server refuses or does not answer)."""
    try:
        with tenant_uow(tenant) as uow:
            authorize(uow, actor_of(by), "settings", "edit")
            row = servers.get(uow.session, uow.tenant, company, branch)
            endpoint = servers.endpoint(row, SecretBox.for_settings(settings()))
    except servers.FileServerError as e:
        fail(str(e))
    try:
        typer.echo(upload_test_file(endpoint))
    except servers.FileServerFailed as e:
        fail(str(e), code=1)


def _label(shown: dict[str, object]) -> str:
    branch = shown["branch"]
    return (
        f"company {shown['company']}" if branch is None else f"branch {shown['company']}/{branch}"
    )


def _address(shown: dict[str, object]) -> str:
    return f"{shown['protocol']}://{shown['user']}@{shown['host']}:{shown['port']}{shown['folder']}"
