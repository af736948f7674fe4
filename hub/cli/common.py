"""Helpers shared by the CLI verbs: settings, one-line errors, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console

from hub.runtime.uow import Cause, UnitOfWork, UnitOfWorkFactory
from hub.settings import Settings, load_settings
from hub.store import db as store_db

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def fail(message: str, problems: list[str] | None = None, code: int = 2) -> NoReturn:
    """Print ``error: message`` (and one line per problem when there are several) and exit."""
    if problems and len(problems) > 1:
        err_console.print(f"error: {len(problems)} problems", markup=False, highlight=False)
        for p in problems:
            err_console.print(f"  - {p}", markup=False, highlight=False)
    else:
        err_console.print(f"error: {message}", markup=False, highlight=False)
    sys.exit(code)


def settings() -> Settings:
    return load_settings()


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str, ensure_ascii=False) + "\n")


# --- the tenant and the person a verb acts as -------------------------------------------

TENANT_OPTION: Any = typer.Option(
    None, "--tenant", metavar="T", help="The tenant (default: HUB_TENANT, else 'default')."
)
JSON_OPTION: Any = typer.Option(False, "--json", help="Print JSON.")
#: a company's or branch's own setting (mail server, file server)
COMPANY_OPTION: Any = typer.Option(..., "--company", metavar="C", help="The company's code.")
BRANCH_OPTION: Any = typer.Option(
    None, "--branch", metavar="B", help="The branch's code (none: the company's own setting)."
)
BY_OPTION: Any = typer.Option(
    None,
    "--by",
    metavar="USER",
    help="Who acts; their roles' permissions apply (default: HUB_USER, else 'support').",
)


def tenant_of(option: str | None) -> str:
    return option or settings().tenant


def actor_of(option: str | None) -> str:
    return option or settings().user


@contextmanager
def open_store() -> Iterator[UnitOfWorkFactory]:
    """A unit-of-work factory on the configured database, migrated to the newest schema, with
    the default tenant provisioned."""
    from hub.provisioning import ensure_default_tenant

    url = settings().effective_database_url
    store_db.upgrade(url)
    engine = store_db.make_engine(url)
    try:
        factory = UnitOfWorkFactory(engine)
        ensure_default_tenant(factory)
        yield factory
    finally:
        engine.dispose()


@contextmanager
def tenant_store(tenant: str | None) -> Iterator[tuple[UnitOfWorkFactory, str]]:
    """The store and the chosen tenant, once it is known to exist."""
    from hub.tenancy.tenants import Tenants

    chosen = tenant_of(tenant)
    with open_store() as factory:
        with factory.sessions() as session:
            Tenants(session).get(chosen)
        yield factory, chosen


@contextmanager
def tenant_uow(tenant: str | None, action_id: str | None = None) -> Iterator[UnitOfWork]:
    """One unit of work in ``tenant`` (which must exist), committed when the block ends."""
    with (
        tenant_store(tenant) as (factory, chosen),
        factory(Cause.action(action_id, tenant=chosen)) as uow,
    ):
        yield uow


def authorize(uow: UnitOfWork, by: str, module: str, action: str) -> None:
    """Refuse (one line, naming the missing permission) unless ``by`` may do it."""
    from hub.identity.access import authorize as check

    check(uow.session, uow.tenant, by, module, action)


def allow(factory: UnitOfWorkFactory, tenant: str, by: str, module: str, action: str) -> None:
    """``authorize`` in a short read of its own."""
    from hub.identity.access import authorize as check

    with factory.sessions() as session:
        check(session, tenant, by, module, action)
