"""Semantic checks of the configuration's ``forms:`` and ``scripts:`` (see ``hub.workflow.scripts``),
each problem with its path in the file, as ``hub.workflow.checks`` reports the rest."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.workflow.config import WorkflowConfig


def _unknown(path: str, kind: str, value: str | None, known: Mapping[str, Any]) -> Iterator[str]:
    if value is not None and value not in known:
        yield f"{path}: unknown {kind} {value!r}"


def check_forms(config: WorkflowConfig) -> Iterator[str]:
    """A form's ticket type, groups and process exist; an omnichannel form's process is enabled
    for the omnichannel desk; its fields are parameters of its ticket type, of the same type,
    and it asks for every parameter the type requires."""
    for fid, form in config.forms.items():
        path = f"forms[{fid}]"
        for i, group in enumerate(form.groups):
            yield from _unknown(
                f"{path}.groups[{i}]", "service group", group, config.service_groups
            )
        yield from _unknown(f"{path}.process", "ticket type", form.process, config.ticket_types)
        process = config.ticket_types.get(form.process or "")
        if form.omnichannel and process is not None and not process.omnichannel:
            yield (
                f"{path}.process: the form is shown in the omnichannel desk but its process "
                f"{form.process!r} is not (flag that ticket type `omnichannel`)"
            )
        tt = config.ticket_types.get(form.ticket_type)
        if tt is None:
            yield f"{path}.ticket_type: unknown ticket type {form.ticket_type!r}"
            continue
        for name, field in form.fields.items():
            fpath = f"{path}.fields[{name}]"
            param = tt.parameters.get(name)
            if param is None:
                need = "a required field" if field.required else "a field"
                yield f"{fpath}: {need} the ticket type {form.ticket_type!r} does not have"
            elif param.type != field.type:
                yield (
                    f"{fpath}.type: {field.type!r}, but the ticket type's parameter is "
                    f"{param.type!r}"
                )
        for name, param in tt.parameters.items():
            if param.required and not (name in form.fields and form.fields[name].required):
                yield (
                    f"{path}.fields: the ticket type {form.ticket_type!r} requires {name!r}; "
                    "the form must ask for it as required"
                )


def check_scripts(config: WorkflowConfig, people: Mapping[str, Any]) -> Iterator[str]:
    """One root item; every parent exists and no chain of parents loops; forms, users and
    groups named exist; a complement needs a form to record it with."""
    items = config.scripts
    if not items:
        return
    roots = [i for i, it in items.items() if it.parent is None]
    if not roots:
        yield "scripts: no root item (one item without a parent: Start)"
    elif len(roots) > 1:
        yield f"scripts: {len(roots)} root items ({', '.join(roots)}); a script tree has one, Start"
    for iid, item in items.items():
        path = f"scripts[{iid}]"
        if item.parent is not None:
            if item.parent == iid:
                yield f"{path}.parent: an item cannot be its own parent"
            elif item.parent not in items:
                yield f"{path}.parent: unknown script item {item.parent!r}"
            else:
                seen = {iid}
                parent: str | None = item.parent
                while parent is not None and parent in items:
                    if parent in seen:
                        yield f"{path}.parent: the chain of parents loops back to {parent!r} (a cycle)"
                        break
                    seen.add(parent)
                    parent = items[parent].parent
        yield from _unknown(f"{path}.form", "form", item.form, config.forms)
        if item.complement is not None and item.form is None:
            yield f"{path}.complement: an item without a form records no occurrence"
        for i, user in enumerate(item.authorised.users):
            yield from _unknown(f"{path}.authorised.users[{i}]", "attendant", user, people)
        for i, group in enumerate(item.authorised.groups):
            yield from _unknown(
                f"{path}.authorised.groups[{i}]", "service group", group, config.service_groups
            )
