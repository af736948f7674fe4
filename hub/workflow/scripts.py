"""Contact-center forms and scripts (seed 003): the configuration's ``forms:`` and ``scripts:``.

A **form** ("ficha") names the ticket type an occurrence opens and the fields the operator fills.
``omnichannel`` shows it in CRM Lite and the omnichannel desk; ``groups`` (service groups)
restrict who may use it there (empty: every profile); ``process`` links a ticket type whose flow
must itself be enabled for the omnichannel desk (``TicketType.omnichannel``).

A **script** ("roteiro") is a tree of items under one root ("Start"). Each item may link a form,
carries the message shown to the operator and the kind of complement recorded with the
occurrence: ``pending`` (inbound: a status and a responsible user) or ``marketing`` (outbound:
the action's outcome). Items are authorised to users and groups; an authorisation covers the
item's subtree. Administrators see every item; every other profile (operator, master operator,
supervisor...) only the authorised ones, with the items above them to walk down to them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FieldType = Literal["text", "integer", "decimal", "boolean", "date", "choice", "json"]
ComplementKind = Literal["pending", "marketing"]
PENDING_STATUSES: tuple[str, ...] = ("pending", "resolved", "concluded")
MARKETING_OUTCOMES: tuple[str, ...] = ("success", "failure", "callback")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Translation(_Strict):
    """A text in another language (``pt-BR``), beside the English one."""

    name: str | None = None
    message: str | None = None


class FormField(_Strict):
    label: str = ""
    type: FieldType = "text"
    required: bool = False


class Form(_Strict):
    name: str
    ticket_type: str
    fields: dict[str, FormField] = Field(default_factory=dict)
    omnichannel: bool = Field(default=False, description="Shown in CRM Lite and omnichannel.")
    groups: list[str] = Field(
        default_factory=list, description="Service groups allowed to use it; empty: everyone."
    )
    process: str | None = Field(
        default=None,
        description="A ticket type whose flow is the form's process; it must be enabled for "
        "the omnichannel desk too.",
    )
    translations: dict[str, Translation] = Field(default_factory=dict)

    def to_json(self, form_id: str) -> dict[str, Any]:
        return {
            "id": form_id,
            "name": self.name,
            "ticket_type": self.ticket_type,
            "omnichannel": self.omnichannel,
            "groups": list(self.groups),
            "process": self.process,
            "fields": [
                {"name": n, "label": f.label or n, "type": f.type, "required": f.required}
                for n, f in self.fields.items()
            ],
            "translations": {
                k: t.model_dump(exclude_none=True) for k, t in self.translations.items()
            },
        }


class Authorisation(_Strict):
    users: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)


class ScriptItem(_Strict):
    name: str
    parent: str | None = Field(default=None, description="None: the root item (Start).")
    order: int = 0
    form: str | None = None
    message: str = Field(default="", description="Shown to the operator during the contact.")
    complement: ComplementKind | None = None
    authorised: Authorisation = Field(default_factory=Authorisation)
    translations: dict[str, Translation] = Field(default_factory=dict)


@dataclass(frozen=True)
class Viewer:
    """Who looks at the scripts: a user, whether an administrator, and their service groups."""

    user: str
    admin: bool = False
    groups: frozenset[str] = frozenset()


def groups_of(service_groups: Mapping[str, Any], user: str) -> frozenset[str]:
    """The service groups ``user`` is a member (or the manager) of."""
    return frozenset(
        gid
        for gid, g in service_groups.items()
        if user in g.members or (g.manager is not None and g.manager == user)
    )


def may_use_form(form: Form, viewer: Viewer) -> bool:
    """Whether ``viewer`` may select ``form`` (its groups, or every profile when it has none)."""
    return viewer.admin or not form.groups or bool(viewer.groups & set(form.groups))


class Scripts:
    """The script tree of a configuration, as one viewer may see it."""

    def __init__(self, items: Mapping[str, ScriptItem]) -> None:
        self.items = items

    def roots(self) -> list[str]:
        return self._sorted(i for i, it in self.items.items() if it.parent is None)

    def children(self, item_id: str) -> list[str]:
        return self._sorted(i for i, it in self.items.items() if it.parent == item_id)

    def ancestors(self, item_id: str) -> list[str]:
        """From the item's parent up to the root (stops at a loop)."""
        out: list[str] = []
        parent = self.items[item_id].parent
        while parent is not None and parent in self.items and parent not in out:
            out.append(parent)
            parent = self.items[parent].parent
        return out

    def authorised(self, item_id: str, viewer: Viewer) -> bool:
        """Whether ``viewer`` may use the item: an administrator, or authorised on the item or
        on an item above it (by user or by one of their groups)."""
        if viewer.admin:
            return True
        for iid in (item_id, *self.ancestors(item_id)):
            auth = self.items[iid].authorised
            if viewer.user in auth.users or viewer.groups & set(auth.groups):
                return True
        return False

    def visible(self, viewer: Viewer) -> set[str]:
        """The items ``viewer`` sees: the authorised ones and the items above them."""
        out: set[str] = set()
        for iid in self.items:
            if self.authorised(iid, viewer):
                out.add(iid)
                out.update(self.ancestors(iid))
        return out

    def tree(self, viewer: Viewer) -> list[dict[str, Any]]:
        """Nested ``{id, name, form, message, complement, authorised, children}`` objects."""
        shown = self.visible(viewer)

        def node(iid: str) -> dict[str, Any]:
            it = self.items[iid]
            return {
                "id": iid,
                "name": it.name,
                "form": it.form,
                "message": it.message,
                "complement": it.complement,
                "authorised": self.authorised(iid, viewer),
                "translations": {
                    k: t.model_dump(exclude_none=True) for k, t in it.translations.items()
                },
                "children": [node(c) for c in self.children(iid) if c in shown],
            }

        return [node(r) for r in self.roots() if r in shown]

    def _sorted(self, ids: Iterator[str] | Collection[str]) -> list[str]:
        return sorted(ids, key=lambda i: (self.items[i].order, i))
