"""``hub refdata load``, ``hub companies`` and ``hub branches`` on the embedded store, as a
user runs them: the initial load, local edits recording who and when, "duplicate from", a
delete refused while data is linked (with counts), and ``hub config check|apply`` refusing a
configuration that drops a company in use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from hub.runtime.uow import Cause, UnitOfWorkFactory
from hub.workflow import service
from hub.workflow.loader import DEMO_CONFIG, read_raw
from tests.e2e.test_cli_tenants import cli, store  # noqa: F401  (the fixture)
from tests.support.people import person


def lines(*records: dict[str, Any]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def companies_file(tmp_path: Path) -> Path:
    path = tmp_path / "companies.jsonl"
    path.write_text(
        lines(
            {
                "kind": "branch",
                "company": "2",
                "branch": "1",
                "name": "Two main",
                "version": 1,
                "headquarters": True,
            },
            {
                "kind": "company",
                "company": "2",
                "name": "Two Ltda",
                "tax_id": "22.222",
                "version": 3,
            },
            {
                "specversion": "1.0",
                "id": "c-7",
                "source": "urn:erp",
                "type": "erp.company.upserted",
                "time": "2026-11-20T14:00:00Z",
                "subject": "7",
                "data": {"company": "7", "name": "Seven", "version": 1},
            },
        )
    )
    return path


def test_load_edit_duplicate_and_delete_companies_and_branches(
    store: UnitOfWorkFactory,  # noqa: F811
    tmp_path: Path,
) -> None:
    # Given the initial load
    code, out = cli("refdata", "load", str(companies_file(tmp_path)))
    assert code == 0, out
    assert "loaded 2 company(ies) and 1 branch(es): 3 applied, 0 not newer" in out
    code, out = cli("refdata", "load", str(companies_file(tmp_path)))
    assert "0 applied, 3 not newer than the stored version" in out
    listed = json.loads(cli("companies", "list", "--json")[1])
    assert [(c["id"], c["source"]) for c in listed] == [("1", "seed"), ("2", "erp"), ("7", "erp")]
    two = json.loads(cli("companies", "show", "2", "--json")[1])
    assert (two["name"], two["tax_id"], two["version"]) == ("Two Ltda", "22.222", 3)
    assert [(b["id"], b["headquarters"]) for b in two["branches"]] == [("1", True)]
    # When a user edits them locally
    assert cli("companies", "set", "2", "--name", "Two S.A.", "--by", "support")[0] == 0
    edited = json.loads(cli("companies", "show", "2", "--json")[1])
    assert (edited["name"], edited["source"], edited["updated_by"], edited["version"]) == (
        "Two S.A.",
        "local",
        "support",
        3,
    )
    code, out = cli("branches", "set", "2", "2", "--name", "Two south", "--tax-id", "22.223")
    assert (code, out.strip()) == (0, "branch 2/2 created")
    assert json.loads(cli("branches", "show", "2", "2", "--json")[1])["tax_id"] == "22.223"
    code, out = cli("companies", "duplicate", "2", "3", "--name", "Three")
    assert (code, out.strip()) == (0, "company 3 created from 2 with 2 branch(es)")
    code, out = cli("branches", "duplicate", "3", "2", "9", "--to-company", "7")
    assert (code, out.strip()) == (0, "branch 7/9 created from 3/2")
    assert [b["id"] for b in json.loads(cli("branches", "list", "7", "--json")[1])] == ["9"]
    # Then unlinked records are deleted, and bad input is one line
    assert cli("branches", "delete", "7", "9")[0] == 0
    assert cli("companies", "delete", "3") == (0, "company 3 deleted\n")
    code, out = cli("companies", "show", "3")
    assert (code, out.strip()) == (2, "error: tenant 'default' has no company '3'")
    code, out = cli("companies", "set", "x" * 51, "--name", "Long")
    assert (code, out.strip()) == (2, "error: a company id is at most 50 characters, not 51")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(lines({"kind": "company", "company": "8", "version": 1}))
    code, out = cli("refdata", "load", str(bad))
    assert (code, out.strip()) == (2, "error: line 1: name: Field required")


def test_a_company_with_linked_data_is_not_deleted_and_the_refusal_lists_the_links(
    store: UnitOfWorkFactory,  # noqa: F811
) -> None:
    with store(Cause.action(tenant="default")) as uow:
        service.open_ticket_from_agreement_template(
            uow,
            "default",
            parameters={
                "agreement_id": "A-1",
                "customer": {"id": "C-1", "name": "Carol"},
                "company": "1",
                "branch": "1",
                "amount": "10.00",
            },
            customer_id="C-1",
            company="1",
            branch="1",
            origin_id="A-1",
        )
    code, out = cli("companies", "delete", "1")
    assert (code, out.strip()) == (
        2,
        "error: company '1' cannot be deleted: linked to 1 tickets, 4 users' scope, "
        "1 delivery locations",
    )
    code, out = cli("branches", "delete", "1", "1")
    assert code == 2 and "linked to 1 tickets" in out
    # a user without the companies module is told which permission is missing
    person(store, "zoe", "user")
    code, out = cli("companies", "list", "--by", "zoe")
    assert (code, out.strip()) == (
        2,
        "error: zoe may not view companies and branches "
        "(needs the permission companies:access and companies:view)",
    )


def test_config_check_and_apply_refuse_dropping_a_company_in_use(
    store: UnitOfWorkFactory,  # noqa: F811
    tmp_path: Path,
) -> None:
    raw = read_raw(DEMO_CONFIG)
    raw["companies"] = {"2": {"name": "Renamed", "branches": {"1": {"name": "Main"}}}}
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(yaml.safe_dump(raw), encoding="utf-8")
    for verb in ("check", "apply"):
        code, out = cli("config", verb, str(renamed))
        assert (code, out.strip()) == (
            2,
            "error: companies[1]: dropped while in use (4 users' scope, 1 delivery locations)",
        )


def test_a_configuration_without_companies_names_the_stored_ones(
    store: UnitOfWorkFactory,  # noqa: F811
    tmp_path: Path,
) -> None:
    # Given a tenant whose companies came from the ERP
    assert cli("tenants", "create", "acme", "--name", "Acme", "--plan", "freemium")[0] == 0
    loaded = tmp_path / "acme.jsonl"
    loaded.write_text(
        lines(
            {"kind": "company", "company": "1", "name": "Acme One", "version": 1},
            {"kind": "branch", "company": "1", "branch": "1", "name": "HQ", "version": 1},
        )
    )
    assert cli("refdata", "load", str(loaded), "--tenant", "acme")[0] == 0
    # When a configuration with no `companies:` section names them, or names another
    raw = read_raw(DEMO_CONFIG)
    del raw["companies"]
    bare = tmp_path / "bare.yaml"
    bare.write_text(yaml.safe_dump(raw), encoding="utf-8")
    raw["delivery_locations"]["main-office"]["company"] = "9"
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(yaml.safe_dump(raw), encoding="utf-8")
    # Then the stored ones are known, the other one is not
    assert cli("config", "apply", str(bare), "--tenant", "acme")[0] == 0
    code, out = cli("config", "check", str(unknown), "--tenant", "acme")
    assert code == 2 and "delivery_locations[main-office].company: unknown company '9'" in out
