"""``hub scripts`` and ``hub forms``: the contact center's script tree and forms (seed 003)."""

from __future__ import annotations

import typer

from hub.cli.common import (
    BY_OPTION,
    JSON_OPTION,
    TENANT_OPTION,
    actor_of,
    authorize,
    print_json,
    tenant_uow,
)
from hub.contact.desk import form_list, script_tree

scripts = typer.Typer(help="The contact center's script tree.", no_args_is_help=True)
forms = typer.Typer(help="The contact center's forms.", no_args_is_help=True)


def _print_tree(nodes: list[dict[str, object]], depth: int = 0) -> None:
    for node in nodes:
        form = f"  [form {node['form']}]" if node["form"] else ""
        usable = "" if node["authorised"] else "  (above an authorised item)"
        typer.echo(f"{'  ' * depth}{node['name']} ({node['id']}){form}{usable}")
        _print_tree(node["children"], depth + 1)  # type: ignore[arg-type]


@scripts.command("tree")
def tree(
    user: str | None = typer.Option(
        None, "--user", metavar="U", help="Whose view of the tree (default: who acts)."
    ),
    as_json: bool = JSON_OPTION,
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """The script tree as USER may see it: an administrator every item, anyone else the items
    authorised to them (and the items above them). Looking at another user's tree needs
    users:view."""
    actor = actor_of(by)
    with tenant_uow(tenant) as uow:
        authorize(uow, actor, "tickets", "view")
        whose = user or actor
        if whose != actor:
            authorize(uow, actor, "users", "view")
        nodes = script_tree(uow, whose)
    if as_json:
        print_json(nodes)
    elif not nodes:
        typer.echo(f"no script item is authorised to {whose}")
    else:
        _print_tree(nodes)


@forms.command("list")
def list_forms(
    as_json: bool = JSON_OPTION,
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Every form: its ticket type, whether the omnichannel desk shows it, the groups that may
    use it there, its process and its fields."""
    with tenant_uow(tenant) as uow:
        authorize(uow, actor_of(by), "tickets", "view")
        found = form_list(uow)
    if as_json:
        print_json(found)
        return
    for f in found:
        omni = "omnichannel" if f["omnichannel"] else "desk only"
        typer.echo(f"{f['id']}: {f['name']} -> {f['ticket_type']} ({omni})")
