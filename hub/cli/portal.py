"""``hub portal``: customers' portal accounts (invite, list, disable) and ``hub settings
portal``: the tenant's portal settings."""

from __future__ import annotations

import typer

from hub.cli.common import (
    BY_OPTION,
    TENANT_OPTION,
    actor_of,
    authorize,
    fail,
    print_json,
    settings,
    tenant_uow,
)
from hub.portal import accounts as portal_accounts
from hub.portal.settings import (
    PortalSettings,
    PortalSettingsError,
    change_portal_settings,
    portal_settings,
)
from hub.web.sessions import set_customer_status

app = typer.Typer(help="The customer portal: customers' accounts.", no_args_is_help=True)
accounts = typer.Typer(help="Customers' portal accounts.", no_args_is_help=True)
app.add_typer(accounts, name="accounts")
settings_app = typer.Typer(help="The tenant's portal settings.", no_args_is_help=True)


@app.command("invite")
def invite(
    customer_id: str = typer.Argument(..., help="The customer's id in the ERP (a student's RA)."),
    email: str = typer.Option(..., "--email", help="Where the invitation goes."),
    language: str | None = typer.Option(
        None, "--language", help="pt_BR or en (default: pt_BR, or the account's)."
    ),
    company: str | None = typer.Option(None, "--company", help="Whose SMTP settings send it."),
    branch: str | None = typer.Option(None, "--branch", help="Whose SMTP settings send it."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """E-mail CUSTOMER_ID a one-time link where they choose their portal password (the link
    is built from HUB_PUBLIC_URL). A second invitation voids the first link."""
    by = actor_of(by)
    if settings().public_url is None and settings().http_port == 0:
        fail("HUB_HTTP_PORT is 0 (a free port): set HUB_PUBLIC_URL, the address customers reach")
    with tenant_uow(tenant) as uow:
        authorize(uow, by, "users", "include")
        try:
            sent = portal_accounts.invite(
                uow,
                customer_id,
                email,
                by=by,
                public_url=settings().effective_public_url,
                language=language,
                company=company,
                branch=branch,
            )
        except portal_accounts.PortalError as e:
            fail(str(e))
    typer.echo(
        f"invited {sent.account.customer_id} <{sent.account.email}>: the e-mail (mail "
        f"{sent.mail_id}) waits in the outbox for the running hub"
    )


@accounts.command("list")
def accounts_list(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """The tenant's portal accounts."""
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "users", "view")
        found = portal_accounts.accounts(uow.session, uow.tenant)
    if as_json:
        print_json([a.to_json() for a in found])
        return
    if not found:
        typer.echo("no portal accounts")
    for a in found:
        typer.echo(f"{a.customer_id}\t{a.email}\t{a.status}")


def _set_status(customer_id: str, enabled: bool, tenant: str | None, by: str | None) -> None:
    by = actor_of(by)
    with tenant_uow(tenant) as uow:
        authorize(uow, by, "users", "edit")
        try:
            account = set_customer_status(uow, customer_id, enabled=enabled, by=by)
        except portal_accounts.PortalError as e:
            fail(str(e))
    typer.echo(f"{account.customer_id}: {account.status}")


@accounts.command("disable")
def accounts_disable(
    customer_id: str = typer.Argument(...),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Refuse the account's sign-ins from now on, and end its open sessions."""
    _set_status(customer_id, False, tenant, by)


@accounts.command("enable")
def accounts_enable(
    customer_id: str = typer.Argument(...),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Let a disabled account sign in again."""
    _set_status(customer_id, True, tenant, by)


@settings_app.command("set")
def settings_set(
    default_attendant: str | None = typer.Option(
        None,
        "--default-attendant",
        help="The user tickets opened in the portal go to ('' : the type's own assignment).",
    ),
    customer_mail: bool | None = typer.Option(
        None,
        "--customer-mail/--no-customer-mail",
        help="E-mail customers when a ticket comes back to them, is completed or cancelled.",
    ),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Change the tenant's portal settings (what is not given stays)."""
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "settings", "edit")
        try:
            chosen = change_portal_settings(
                uow.session,
                uow.tenant,
                default_attendant=default_attendant,
                customer_mail=customer_mail,
            )
        except PortalSettingsError as e:
            fail(str(e))
    _print_settings(chosen, as_json=False)


@settings_app.command("show")
def settings_show(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """The tenant's portal settings."""
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "settings", "view")
        chosen = portal_settings(uow.session, uow.tenant)
    _print_settings(chosen, as_json=as_json)


def _print_settings(chosen: PortalSettings, *, as_json: bool) -> None:
    if as_json:
        print_json(chosen.to_json())
        return
    typer.echo(f"default attendant: {chosen.default_attendant or '- (the type assigns)'}")
    typer.echo(f"customer mail: {'on' if chosen.customer_mail else 'off'}")
