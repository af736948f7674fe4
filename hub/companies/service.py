"""Application functions on a tenant's companies and branches, each inside a ``UnitOfWork``.

- The ERP's ``erp.company.upserted`` / ``erp.branch.upserted`` (and the initial load of the same
  records) apply in version order: a version newer than the one last applied overwrites the
  record, local edits included; an older or equal one changes nothing. A branch that arrives
  before its company creates the company under its id, for the company's event to name.
- Local edits (``set``, ``duplicate``, ``delete``) record who and when; they leave the ERP's
  version as it is, so the ERP's next newer version wins over them.
- A company or branch with linked data (``hub.companies.links``) is not deleted.

Callers check the caller's permissions first (module ``companies``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select

from hub.companies.links import describe, links_of
from hub.companies.tables import BranchRow, CompanyRow
from hub.errors import HubError
from hub.runtime.uow import UnitOfWork
from schemas.events import BranchUpserted, CompanyUpserted

log = logging.getLogger(__name__)

_UNSET: Any = object()
ERP = "system:erp"
CONFIGURATION = "system:configuration"


class CompanyError(HubError):
    """A change to a company or a branch is refused; the message says why."""


class CompanyNotFound(CompanyError):
    """The tenant has no such company or branch."""


class CompanyExists(CompanyError):
    """The tenant has a company or branch of this id already."""


class CompanyInUse(CompanyError):
    """Data is linked to the company or branch; ``links``: the counts by kind."""

    def __init__(self, message: str, links: Mapping[str, int]) -> None:
        super().__init__(message)
        self.links = dict(links)


#: Bounds of a company's or branch's fields (the ERP's events have the same).
ID_MAX, NAME_MAX, TAX_ID_MAX = 50, 200, 40


_LABELS = {
    "company": "company id",
    "branch": "branch id",
    "new": "new id",
    "name": "name",
    "tax_id": "tax id",
}


def check_fields(**fields: str | None) -> None:
    """Refuse (``CompanyError``) an id or a name that is empty or too long, or a tax id that is
    too long; ``fields``: ``company``, ``branch``, ``new``, ``name`` or ``tax_id``."""
    for key, value in fields.items():
        if value is None:
            continue
        limit = {"name": NAME_MAX, "tax_id": TAX_ID_MAX}.get(key, ID_MAX)
        label = _LABELS[key]
        if key != "tax_id" and not value.strip():
            raise CompanyError(f"a {label} cannot be empty")
        if len(value) > limit:
            raise CompanyError(f"a {label} is at most {limit} characters, not {len(value)}")
        if key in {"company", "branch", "new"} and ("/" in value or value != value.strip()):
            raise CompanyError(f"a {label} has no '/' and no surrounding spaces: {value!r}")


@dataclass(frozen=True)
class Record:
    """A company or a branch to apply (from the ERP, the initial load, or a seed)."""

    company: str
    name: str
    tax_id: str | None = None
    version: int | None = None
    branch: str | None = None
    headquarters: bool = False

    @classmethod
    def of(cls, data: CompanyUpserted | BranchUpserted) -> Record:
        if isinstance(data, BranchUpserted):
            return cls(
                data.company, data.name, data.tax_id, data.version, data.branch, data.headquarters
            )
        return cls(data.company, data.name, data.tax_id, data.version)


def branch_json(row: BranchRow) -> dict[str, Any]:
    return {
        "company": row.company,
        "id": row.id,
        "name": row.name,
        "headquarters": row.headquarters,
        "tax_id": row.tax_id,
        "version": row.version,
        "source": row.source,
        "updated_by": row.updated_by,
        "updated_at": row.updated_at.isoformat(),
    }


@dataclass
class CompanyView:
    row: CompanyRow
    branches: list[BranchRow] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.row.id,
            "name": self.row.name,
            "tax_id": self.row.tax_id,
            "version": self.row.version,
            "source": self.row.source,
            "updated_by": self.row.updated_by,
            "updated_at": self.row.updated_at.isoformat(),
            "branches": [branch_json(b) for b in self.branches],
        }


class Companies:
    """A tenant's companies and branches, inside the caller's transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.session = uow.session
        self.tenant = uow.tenant

    def find(self, company: str) -> CompanyRow | None:
        return self.session.get(CompanyRow, (self.tenant, company))

    def get(self, company: str) -> CompanyRow:
        row = self.find(company)
        if row is None:
            raise CompanyNotFound(f"tenant {self.tenant!r} has no company {company!r}")
        return row

    def find_branch(self, company: str, branch: str) -> BranchRow | None:
        return self.session.get(BranchRow, (self.tenant, company, branch))

    def get_branch(self, company: str, branch: str) -> BranchRow:
        self.get(company)
        row = self.find_branch(company, branch)
        if row is None:
            raise CompanyNotFound(
                f"tenant {self.tenant!r} has no branch {branch!r} of company {company!r}"
            )
        return row

    def all(self) -> list[CompanyRow]:
        query = select(CompanyRow).where(CompanyRow.tenant_id == self.tenant)
        return list(self.session.scalars(query.order_by(CompanyRow.id)))

    def branches(self, company: str | None = None) -> list[BranchRow]:
        query = select(BranchRow).where(BranchRow.tenant_id == self.tenant)
        if company is not None:
            query = query.where(BranchRow.company == company)
        return list(self.session.scalars(query.order_by(BranchRow.company, BranchRow.id)))

    def known(self) -> dict[str, set[str]]:
        """Each company's id with its branches' ids."""
        out: dict[str, set[str]] = {c.id: set() for c in self.all()}
        for b in self.branches():
            out.setdefault(b.company, set()).add(b.id)
        return out

    def add(self, row: CompanyRow | BranchRow) -> None:
        row.tenant_id = self.tenant
        self.session.add(row)
        self.session.flush()


def _company(uow: UnitOfWork, company: str, name: str, by: str, source: str) -> CompanyRow:
    now = uow.now()
    row = CompanyRow(
        id=company,
        name=name,
        source=source,
        created_at=now,
        updated_at=now,
        updated_by=by,
    )
    Companies(uow).add(row)
    return row


def _branch(
    uow: UnitOfWork, company: str, branch: str, name: str, by: str, source: str
) -> BranchRow:
    now = uow.now()
    row = BranchRow(
        company=company,
        id=branch,
        name=name,
        headquarters=False,
        source=source,
        created_at=now,
        updated_at=now,
        updated_by=by,
    )
    Companies(uow).add(row)
    return row


# --- from the ERP ---------------------------------------------------------------------


def upsert(uow: UnitOfWork, record: Record, *, by: str = ERP) -> str:
    """Apply the ERP's ``record`` unless a version at least as new was applied; returns
    ``created``, ``updated`` or ``stale``."""
    repo = Companies(uow)
    row: CompanyRow | BranchRow | None = repo.find(record.company)
    if record.branch is not None:
        if row is None:  # the branch came first: its company, for the company's event to fill
            _company(uow, record.company, record.company, by, "erp")
        row = repo.find_branch(record.company, record.branch)
    if row is not None and row.version is not None and (record.version or 0) <= row.version:
        return "stale"
    outcome = "updated"
    if row is None:
        outcome = "created"
        row = (
            _company(uow, record.company, record.name, by, "erp")
            if record.branch is None
            else _branch(uow, record.company, record.branch, record.name, by, "erp")
        )
    row.name, row.tax_id, row.version, row.source = (
        record.name,
        record.tax_id,
        record.version,
        "erp",
    )
    if isinstance(row, BranchRow):
        row.headquarters = record.headquarters
    row.updated_at, row.updated_by = uow.now(), by
    uow.session.flush()
    what = record.company if record.branch is None else f"{record.company}/{record.branch}"
    log.info("company %s of %s v%s: %s", what, uow.tenant, record.version, outcome)
    return outcome


def seed(uow: UnitOfWork, records: Iterable[Record]) -> list[str]:
    """Create each company and branch the tenant does not have (a configuration's
    ``companies`` section); the ones it has stay as they are. Returns what was created."""
    repo = Companies(uow)
    created = []
    for r in records:
        if repo.find(r.company) is None:
            _company(
                uow, r.company, r.name if r.branch is None else r.company, CONFIGURATION, "seed"
            )
            created.append(r.company)
        if r.branch is not None and repo.find_branch(r.company, r.branch) is None:
            _branch(uow, r.company, r.branch, r.name, CONFIGURATION, "seed")
            created.append(f"{r.company}/{r.branch}")
    if created:
        log.info("tenant %s: companies %s created from the configuration", uow.tenant, created)
    return created


# --- local edits ----------------------------------------------------------------------


def set_company(
    uow: UnitOfWork,
    company: str,
    *,
    by: str,
    name: str | None = None,
    tax_id: str | None = _UNSET,
) -> CompanyView:
    """Create the company (``name`` needed) or change what is given; ``tax_id`` ``None`` or
    ``''`` clears it."""
    check_fields(company=company, name=name, tax_id=None if tax_id is _UNSET else tax_id)
    row = Companies(uow).find(company)
    if row is None:
        if not name:
            raise CompanyError(f"a new company needs a name (company {company!r})")
        row = _company(uow, company, name, by, "local")
    elif name is not None:
        row.name = name
    if tax_id is not _UNSET:
        row.tax_id = tax_id or None
    row.source, row.updated_at, row.updated_by = "local", uow.now(), by
    uow.session.flush()
    return view(uow, company)


def set_branch(
    uow: UnitOfWork,
    company: str,
    branch: str,
    *,
    by: str,
    name: str | None = None,
    headquarters: bool | None = None,
    tax_id: str | None = _UNSET,
) -> dict[str, Any]:
    """Create the branch of an existing company (``name`` needed) or change what is given."""
    check_fields(branch=branch, name=name, tax_id=None if tax_id is _UNSET else tax_id)
    repo = Companies(uow)
    repo.get(company)
    row = repo.find_branch(company, branch)
    if row is None:
        if not name:
            raise CompanyError(f"a new branch needs a name (branch {company}/{branch})")
        row = _branch(uow, company, branch, name, by, "local")
    elif name is not None:
        row.name = name
    if headquarters is not None:
        row.headquarters = headquarters
    if tax_id is not _UNSET:
        row.tax_id = tax_id or None
    row.source, row.updated_at, row.updated_by = "local", uow.now(), by
    uow.session.flush()
    return branch_json(row)


def duplicate_company(
    uow: UnitOfWork, source: str, new: str, *, by: str, name: str | None = None
) -> CompanyView:
    """A new local company ``new`` with ``source``'s name (or ``name``), tax id and branches."""
    check_fields(new=new, name=name)
    repo = Companies(uow)
    original = repo.get(source)
    if repo.find(new) is not None:
        raise CompanyExists(f"tenant {uow.tenant!r} has a company {new!r} already")
    copy = _company(uow, new, name or original.name, by, "local")
    copy.tax_id = original.tax_id
    for b in repo.branches(source):
        _copy_branch(uow, b, new, b.id, by, b.name)
    uow.session.flush()
    return view(uow, new)


def duplicate_branch(
    uow: UnitOfWork,
    company: str,
    source: str,
    new: str,
    *,
    by: str,
    to_company: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """A new local branch ``new`` (of ``to_company``, default the same company) with
    ``source``'s name (or ``name``), headquarters flag and tax id."""
    check_fields(new=new, name=name)
    repo = Companies(uow)
    original = repo.get_branch(company, source)
    target = to_company or company
    repo.get(target)
    if repo.find_branch(target, new) is not None:
        raise CompanyExists(f"company {target!r} has a branch {new!r} already")
    return branch_json(_copy_branch(uow, original, target, new, by, name or original.name))


def _copy_branch(
    uow: UnitOfWork, original: BranchRow, company: str, branch: str, by: str, name: str
) -> BranchRow:
    row = _branch(uow, company, branch, name, by, "local")
    row.headquarters, row.tax_id = original.headquarters, original.tax_id
    return row


def delete_company(uow: UnitOfWork, company: str, *, by: str) -> None:
    """Delete the company and its branches; refused (``CompanyInUse``) while data is linked."""
    row = Companies(uow).get(company)
    linked = links_of(uow.session, uow.tenant, company)
    if linked:
        raise CompanyInUse(
            f"company {company!r} cannot be deleted: linked to {describe(linked)}", linked
        )
    uow.session.execute(
        delete(BranchRow).where(BranchRow.tenant_id == uow.tenant, BranchRow.company == company)
    )
    uow.session.delete(row)
    uow.session.flush()
    log.info("company %s of %s deleted by %s", company, uow.tenant, by)


def delete_branch(uow: UnitOfWork, company: str, branch: str, *, by: str) -> None:
    """Delete the branch; refused (``CompanyInUse``) while data is linked."""
    row = Companies(uow).get_branch(company, branch)
    linked = links_of(uow.session, uow.tenant, company, branch)
    if linked:
        raise CompanyInUse(
            f"branch {company}/{branch} cannot be deleted: linked to {describe(linked)}", linked
        )
    uow.session.delete(row)
    uow.session.flush()
    log.info("branch %s/%s of %s deleted by %s", company, branch, uow.tenant, by)


# --- reading --------------------------------------------------------------------------


def view(uow: UnitOfWork, company: str) -> CompanyView:
    repo = Companies(uow)
    return CompanyView(repo.get(company), repo.branches(company))


def list_companies(uow: UnitOfWork) -> list[CompanyView]:
    repo = Companies(uow)
    branches: dict[str, list[BranchRow]] = {}
    for b in repo.branches():
        branches.setdefault(b.company, []).append(b)
    return [CompanyView(c, branches.get(c.id, [])) for c in repo.all()]


def show_branch(uow: UnitOfWork, company: str, branch: str) -> dict[str, Any]:
    return branch_json(Companies(uow).get_branch(company, branch))
