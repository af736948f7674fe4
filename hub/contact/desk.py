"""The script tree and the forms as a person of the tenant may see them: the read model the CLI,
the API and the console share."""

from __future__ import annotations

from typing import Any

from hub.identity.access import permissions_of
from hub.identity.users import load_directory
from hub.runtime.uow import UnitOfWork
from hub.workflow.config import WorkflowConfig
from hub.workflow.errors import PermissionDenied, WorkflowError
from hub.workflow.scripts import Scripts, Viewer, groups_of
from hub.workflow.service import current_config


class ScriptItemNotFound(WorkflowError):
    """No script item of that id in the tenant's configuration."""


def viewer_of(uow: UnitOfWork, config: WorkflowConfig, user: str, *, strict: bool = True) -> Viewer:
    """``user`` as the scripts see them: an administrator (the Admin role), and their service
    groups. ``strict``: an unknown or inactive user raises ``PermissionDenied``; otherwise
    they are a viewer without groups."""
    person = load_directory(uow.session, uow.tenant).get(user)
    if person is None or not person.active:
        if strict:
            raise PermissionDenied(f"unknown or inactive user {user!r}")
        return Viewer(user)
    admin = permissions_of(uow.session, uow.tenant, user).is_admin
    return Viewer(user, admin, groups_of(config.service_groups, user))


def script_tree(uow: UnitOfWork, user: str) -> list[dict[str, Any]]:
    """The tenant's script tree as ``user`` may see it (``Scripts.tree``)."""
    _, config = current_config(uow)
    return Scripts(config.scripts).tree(viewer_of(uow, config, user))


def script_item(uow: UnitOfWork, item_id: str, user: str) -> dict[str, Any]:
    """One item as ``user`` may use it, with its form; raises ``ScriptItemNotFound`` (also for
    an item the user does not see) ."""
    _, config = current_config(uow)
    scripts = Scripts(config.scripts)
    viewer = viewer_of(uow, config, user)
    if item_id not in config.scripts or item_id not in scripts.visible(viewer):
        raise ScriptItemNotFound(f"unknown script item {item_id!r}")
    item = config.scripts[item_id]
    form = config.forms.get(item.form or "")
    return {
        "id": item_id,
        "name": item.name,
        "message": item.message,
        "complement": item.complement,
        "authorised": scripts.authorised(item_id, viewer),
        "form": form.to_json(item.form or "") if form is not None else None,
        "path": [config.scripts[a].name for a in reversed(scripts.ancestors(item_id))],
        "children": [
            {"id": c, "name": config.scripts[c].name}
            for c in scripts.children(item_id)
            if c in scripts.visible(viewer)
        ],
    }


def form_list(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every form of the tenant's configuration (``Form.to_json``), by id."""
    _, config = current_config(uow)
    return [config.forms[f].to_json(f) for f in sorted(config.forms)]
