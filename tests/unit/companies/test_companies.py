"""Companies without a store: the link registry, the records of a configuration's seed, the
initial load's lines and the bounds of a record's fields."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.companies import links
from hub.companies.bulk import KINDS, parse_data
from hub.companies.configuration import records_of
from hub.companies.service import CompanyError, Record, check_fields
from hub.records import read_record
from hub.workflow.config import Branch, Company, DeliveryLocation, WorkflowConfig


@pytest.fixture
def registry() -> Iterator[None]:
    saved = list(links.LINKS)
    yield
    links.LINKS[:] = saved


def test_a_module_registers_its_counter_in_one_line_and_it_joins_the_refusal(
    registry: None,
) -> None:
    links.LINKS[:] = []
    links.register("tickets", lambda s, t, c, b: 2)
    links.register("SMTP settings", lambda s, t, c, b: 0 if b else 1)
    links.register("tickets", lambda s, t, c, b: 3)  # registering a label again replaces it
    found = links.links_of(None, "default", "1")  # type: ignore[arg-type]
    assert found == {"tickets": 3, "SMTP settings": 1}
    assert links.describe(found) == "3 tickets, 1 SMTP settings"
    assert links.links_of(None, "default", "1", "1") == {"tickets": 3}  # type: ignore[arg-type]
    assert links.links_of(None, "default", "1", skip={"tickets"}) == {"SMTP settings": 1}  # type: ignore[arg-type]


def test_the_built_in_links_are_tickets_scope_enrollments_debts_and_delivery_locations() -> None:
    assert [k.label for k in links.LINKS][:5] == [
        "tickets",
        "users' scope",
        "enrollments",
        "debts",
        "delivery locations",
    ]


def test_delivery_locations_count_per_company_and_per_branch() -> None:
    config = WorkflowConfig(
        delivery_locations={
            "a": DeliveryLocation(name="A", company="1", branch="1"),
            "b": DeliveryLocation(name="B", company="1"),
            "c": DeliveryLocation(name="C", company="2", branch="1"),
        }
    )
    assert links.delivery_locations(config, "1", None) == 2
    assert links.delivery_locations(config, "1", "1") == 1
    assert links.delivery_locations(config, "3", None) == 0


def test_a_configurations_companies_are_records_companies_first() -> None:
    config = WorkflowConfig(
        companies={"1": Company(name="One", branches={"1": Branch(name="Main"), "2": Branch()})}
    )
    assert records_of(config) == [
        Record("1", "One"),
        Record("1", "Main", branch="1"),
        Record("1", "2", branch="2"),  # a branch without a name is named after its id
    ]


def test_a_line_is_a_cloudevent_or_a_record_of_its_kind() -> None:
    event_type, data = read_record(
        '{"kind": "branch", "company": "1", "branch": "2", "name": "South", "version": 4}', KINDS
    )
    assert parse_data(event_type, data) == Record("1", "South", None, 4, "2", False)
    with pytest.raises(ValueError, match="kind must be one of company, branch, not 'x'"):
        read_record('{"kind": "x"}', KINDS)
    with pytest.raises(ValueError, match="version: Input should be greater than or equal to 0"):
        parse_data("erp.company.upserted", {"company": "1", "name": "One", "version": -1})
    with pytest.raises(ValueError, match="company: String should have at most 50 characters"):
        parse_data("erp.company.upserted", {"company": "1" * 51, "name": "One", "version": 1})
    with pytest.raises(ValueError, match="is not a company or a branch"):
        parse_data("platform.user.upserted", {})


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"company": ""}, "a company id cannot be empty"),
        ({"company": "1/2"}, "a company id has no '/'"),
        ({"branch": " 1"}, "a branch id has no '/' and no surrounding spaces"),
        ({"new": "x" * 51}, "a new id is at most 50 characters, not 51"),
        ({"name": "  "}, "a name cannot be empty"),
        ({"name": "n" * 201}, "a name is at most 200 characters, not 201"),
        ({"tax_id": "9" * 41}, "a tax id is at most 40 characters, not 41"),
    ],
)
def test_each_field_is_bounded(fields: dict[str, str], why: str) -> None:
    with pytest.raises(CompanyError, match=why):
        check_fields(**fields)
    check_fields(company="1", branch="1", name="One", tax_id="")  # valid ones pass
