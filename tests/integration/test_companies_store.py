"""Companies and branches on a real store (SQLite and PostgreSQL): the ERP's versions in order,
local edits, duplicates, and deletes refused while data is linked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from hub.companies import links, service
from hub.companies.service import CompanyExists, CompanyInUse, CompanyNotFound, Record
from hub.errors import ConfigurationError
from hub.identity.users import Users
from hub.mail import service as mail
from hub.mail.servers import SmtpSetting
from hub.provisioning import provision
from hub.runtime.uow import Cause, UnitOfWorkFactory
from hub.secrets import SecretBox
from hub.store.db import make_engine, upgrade
from hub.workflow import service as workflow
from hub.workflow.config import Company
from hub.workflow.loader import load_demo
from hub.workflow.tables import TicketRow


@pytest.fixture
def factory(database_url: str) -> Iterator[UnitOfWorkFactory]:
    upgrade(database_url)
    engine = make_engine(database_url)
    f = UnitOfWorkFactory(engine)
    with f(Cause.action(tenant="default")) as uow:
        workflow.apply_config(uow, load_demo(), source="demo")
    yield f
    engine.dispose()


def company(f: UnitOfWorkFactory, cid: str, tenant: str = "default") -> dict[str, object]:
    with f(Cause.action(tenant=tenant)) as uow:
        return service.view(uow, cid).to_json()


def open_ticket(f: UnitOfWorkFactory, company_id: str = "1", branch: str = "1") -> str:
    with f(Cause.action(tenant="default")) as uow:
        return workflow.open_ticket_from_agreement_template(
            uow,
            "default",
            parameters={
                "agreement_id": "A-1",
                "customer": {"id": "C-1", "name": "Carol"},
                "company": company_id,
                "branch": branch,
                "amount": "10.00",
            },
            customer_id="C-1",
            company=company_id,
            branch=branch,
            origin_id="A-1",
        ).id


def test_the_erps_versions_apply_in_order_and_a_newer_one_overwrites_a_local_edit(
    factory: UnitOfWorkFactory,
) -> None:
    with factory(Cause.action(tenant="default")) as uow:
        assert service.upsert(uow, Record("7", "Seven Ltda", "11.111", 2)) == "created"
        assert service.upsert(uow, Record("7", "Older", None, 1)) == "stale"
        assert service.upsert(uow, Record("7", "Same", None, 2)) == "stale"
    assert (company(factory, "7")["name"], company(factory, "7")["version"]) == ("Seven Ltda", 2)
    # a local edit records who and when, and leaves the ERP's version as it is
    with factory(Cause.action(tenant="default")) as uow:
        service.set_company(uow, "7", by="ana", name="Seven (edited)")
    edited = company(factory, "7")
    assert (edited["name"], edited["source"], edited["updated_by"], edited["version"]) == (
        "Seven (edited)",
        "local",
        "ana",
        2,
    )
    with factory(Cause.action(tenant="default")) as uow:
        assert service.upsert(uow, Record("7", "Not newer", None, 2)) == "stale"
        assert service.upsert(uow, Record("7", "Seven S.A.", "22.222", 3)) == "updated"
    again = company(factory, "7")
    assert (again["name"], again["tax_id"], again["source"], again["updated_by"]) == (
        "Seven S.A.",
        "22.222",
        "erp",
        "system:erp",
    )


def test_a_branch_before_its_company_creates_the_company_for_its_event_to_name(
    factory: UnitOfWorkFactory,
) -> None:
    with factory(Cause.action(tenant="default")) as uow:
        assert service.upsert(uow, Record("8", "North", None, 5, "80", True)) == "created"
    early = company(factory, "8")
    assert early["name"] == "8" and early["version"] is None
    assert [(b["id"], b["headquarters"]) for b in early["branches"]] == [("80", True)]  # type: ignore[attr-defined]
    with factory(Cause.action(tenant="default")) as uow:
        assert service.upsert(uow, Record("8", "Eight Ltda", None, 1)) == "updated"
        assert service.upsert(uow, Record("8", "North", None, 4, "80")) == "stale"
    assert company(factory, "8")["name"] == "Eight Ltda"


def test_a_company_with_linked_data_is_not_deleted_and_the_refusal_counts_it(
    factory: UnitOfWorkFactory,
) -> None:
    open_ticket(factory)
    box = SecretBox.from_key(Fernet.generate_key())
    with factory(Cause.action(tenant="default")) as uow:
        smtp = SmtpSetting(company="1", branch="1", host="mail.example", port=25, sender="a@b.c")
        mail.set_server(uow, smtp, password=None, box=box, by="ana")
    with pytest.raises(CompanyInUse) as refused, factory(Cause.action(tenant="default")) as uow:
        service.delete_company(uow, "1", by="support")
    assert refused.value.links["tickets"] == 1
    assert refused.value.links["users' scope"] >= 1  # the demo's attendants
    assert refused.value.links["delivery locations"] == 1
    assert refused.value.links["SMTP settings"] == 1
    assert "company '1' cannot be deleted: linked to 1 tickets" in str(refused.value)
    # the branch too, for its ticket
    in_use = "branch 1/1 cannot be deleted: linked to 1 tickets, .*1 SMTP settings"
    with (
        pytest.raises(CompanyInUse, match=in_use),
        factory(Cause.action(tenant="default")) as uow,
    ):
        service.delete_branch(uow, "1", "1", by="support")
    assert company(factory, "1")["branches"]


def test_a_company_without_links_is_deleted_with_its_branches(factory: UnitOfWorkFactory) -> None:
    with factory(Cause.action(tenant="default")) as uow:
        service.set_company(uow, "9", by="ana", name="Nine")
        service.set_branch(uow, "9", "1", by="ana", name="Nine main", headquarters=True)
        service.set_branch(uow, "9", "2", by="ana", name="Nine south")
        service.delete_branch(uow, "9", "2", by="ana")
        assert [b.id for b in service.Companies(uow).branches("9")] == ["1"]
        service.delete_company(uow, "9", by="ana")
    with pytest.raises(CompanyNotFound), factory(Cause.action(tenant="default")) as uow:
        service.view(uow, "9")


def test_duplicate_from_copies_a_company_with_its_branches_and_a_branch_into_another(
    factory: UnitOfWorkFactory,
) -> None:
    with factory(Cause.action(tenant="default")) as uow:
        service.set_company(uow, "1", by="ana", tax_id="12.345")
        copy = service.duplicate_company(uow, "1", "2", by="ana", name="Second University")
        assert (copy.row.name, copy.row.tax_id, copy.row.source) == (
            "Second University",
            "12.345",
            "local",
        )
        assert [b.name for b in copy.branches] == ["Main campus"]
        branch = service.duplicate_branch(uow, "1", "1", "5", by="ana", to_company="2")
        assert (branch["company"], branch["id"], branch["name"]) == ("2", "5", "Main campus")
        with pytest.raises(CompanyExists):
            service.duplicate_company(uow, "2", "1", by="ana")
        with pytest.raises(CompanyNotFound):
            service.duplicate_branch(uow, "1", "nope", "6", by="ana")


def test_the_configurations_companies_are_a_seed_and_one_in_use_cannot_be_dropped(
    factory: UnitOfWorkFactory,
) -> None:
    demo = load_demo()
    open_ticket(factory)
    renamed = demo.model_copy(update={"companies": {"2": Company(name="Renamed")}})
    with (
        pytest.raises(ConfigurationError) as refused,
        factory(Cause.action(tenant="default")) as uow,
    ):
        workflow.apply_config(uow, renamed, source="renamed")
    assert refused.value.problems == [
        "companies[1]: dropped while in use (1 tickets, 4 users' scope, 1 delivery locations)"
    ]
    # a company not in use may be dropped; the stored one stays, a seed adds what is missing
    with factory(Cause.action(tenant="default")) as uow:
        service.set_company(uow, "1", by="ana", name="Edited locally")
        workflow.apply_config(
            uow,
            demo.model_copy(update={"companies": {**demo.companies, "3": Company(name="Three")}}),
            source="with three",
        )
        workflow.apply_config(uow, demo, source="without three")
        assert sorted(c.id for c in service.Companies(uow).all()) == ["1", "3"]
        assert service.Companies(uow).get("1").name == "Edited locally"  # the seed changes nothing


def test_a_configuration_may_name_a_stored_company_it_does_not_list(
    factory: UnitOfWorkFactory,
) -> None:
    from hub.workflow.checks import check

    demo = load_demo()
    bare = demo.model_copy(update={"companies": {"x": Company(name="Another")}})
    assert "delivery_locations[main-office].company: unknown company '1'" in check(bare)
    assert not [p for p in check(bare, companies={"1": {"1"}}) if "company" in p]
    assert "delivery_locations[main-office].branch: unknown branch '1' of company '1'" in check(
        bare, companies={"1": set()}
    )


def test_another_tenants_companies_are_its_own(factory: UnitOfWorkFactory) -> None:
    provision(factory, "acme", name="Acme", plan="starter")
    with factory(Cause.action(tenant="acme")) as uow:
        with pytest.raises(CompanyNotFound):
            service.view(uow, "1")
        service.set_company(uow, "1", by="support", name="Acme's own")
    assert company(factory, "1")["name"] == "Demo University"
    with factory.sessions() as s:
        assert links.links_of(s, "acme", "1") == {}
        assert s.query(TicketRow).count() == 0


def test_the_upgrade_seeds_each_tenants_companies_and_grants_them_to_the_admin_role(
    database_url: str,
) -> None:
    # Given a store of the revision before companies, with the demo configuration applied
    upgrade(database_url, "0009")
    engine = make_engine(database_url)
    try:
        versions = sa.table(
            "workflow_config_versions",
            *(sa.column(c) for c in ("tenant_id", "version", "digest", "source")),
            sa.column("body", sa.JSON()),
            sa.column("applied_at", sa.DateTime(timezone=True)),
        )
        with engine.begin() as conn:
            conn.execute(
                versions.insert().values(
                    tenant_id="default",
                    version=1,
                    digest="d",
                    source="demo",
                    body=load_demo().to_json(),
                    applied_at=datetime.now(UTC),
                )
            )
        # When it is upgraded
        upgrade(database_url)
        f = UnitOfWorkFactory(engine)
        with f(Cause.action(tenant="default")) as uow:
            # Then the configuration's companies are stored, and the Admin role grants them
            seeded = [v.to_json() for v in service.list_companies(uow)]
            admin = Users(uow.session, "default").role("admin").permissions
    finally:
        engine.dispose()
    assert [(c["id"], c["name"], c["source"]) for c in seeded] == [("1", "Demo University", "seed")]
    assert [b["name"] for b in seeded[0]["branches"]] == ["Main campus"]
    assert "delete" in admin["companies"]
