"""The omnichannel desk's contacts as a site receives them: ``hub run`` as a process on the
embedded default and on RabbitMQ + PostgreSQL, each contact delivered twice, the answers read
from a queue bound to them as a downstream system would."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from consumers import omni_contacts
from hub.contact.tables import OccurrenceRow
from hub.runtime.transports import transport_for
from hub.store.db import make_engine, upgrade
from hub.store.models import OutboxMessage
from hub.workflow.tables import StageHistoryRow, TicketRow
from tests.conftest import _tier
from tests.support.education import cloud_event
from tests.support.harness import outgoing, wait_until
from tests.support.process import drain, hub_env, start_hub, stop, wait_settled

ANSWERS = "audit.omni-answers"


@pytest.fixture(params=["embedded", "production"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    with _tier(request.param, tmp_path) as urls:
        yield urls


def contact(contact_id: str, form: str = "invoice-copy", agent: str = "ana", **data: Any) -> Any:
    body = {
        "contact_id": contact_id,
        "channel": "whatsapp",
        "customer": {"id": "C-1", "name": "Carol", "phone": "+55 11 99999-0000"},
        "form": form,
        "fields": {"invoice": "NF-1"},
        "agent": agent,
        "received_at": "2026-11-24T12:00:00Z",
        **data,
    }
    return cloud_event("omni.contact.received", contact_id, body)


def count(url: str, query: Any) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def sent(url: str, event_type: str) -> int:
    return count(
        url,
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.event_type == event_type, OutboxMessage.sent_at.is_not(None)),
    )


@pytest.mark.timeout(120)
def test_contacts_become_one_ticket_each_and_refusals_are_answered(
    site: dict[str, str], tmp_path: Path
) -> None:
    url, broker = site["database_url"], site["broker_url"]
    upgrade(url)
    transport = transport_for(broker)
    transport.setup(
        {
            omni_contacts.consumer.queue: omni_contacts.consumer.event_types,
            ANSWERS: ["crm.occurrence.recorded", "omni.contact.rejected"],
        }
    )
    hub = start_hub(hub_env(site, HUB_CONSUMERS="omni-contacts"), tmp_path / "hub.log", "--no-http")
    try:
        # Given a contact accepted, delivered twice, and one contact per refusal
        first = contact("WA-1")
        refused = [
            contact("WA-2", form="complaint"),  # unknown_form
            contact("WA-3", form="transcript", fields={"ra": "RA-1"}),  # form_not_enabled
            contact("WA-4", agent="bruno"),  # group_not_authorised: not in finance-approvals
            contact("WA-5", fields={"note": "no invoice"}),  # invalid_fields
        ]
        transport.publish([outgoing(e, e["type"]) for e in [first, first, *refused, *refused]])
        wait_until(
            lambda: (
                sent(url, "crm.occurrence.recorded") == 1
                and sent(url, "omni.contact.rejected") == 4
            ),
            timeout=60,
            what="one occurrence and four refusals published",
        )
        # When the same conversation sends its form again (a new event, the same contact id)
        again = contact("WA-1", fields={"invoice": "NF-1", "note": "asked again"})
        transport.publish([outgoing(again, again["type"])] * 2)
        wait_until(
            lambda: sent(url, "crm.occurrence.recorded") == 2, timeout=60, what="the second one"
        )
        wait_settled(broker, [omni_contacts.consumer.queue], timeout=60)
        answers = [
            json.loads(body)
            for _, body in drain(broker, ANSWERS, lambda got: len(got) >= 6, limit=30)
        ]
    finally:
        assert stop(hub) == 0

    # Then: each answer once, the refusals with their reasons
    assert Counter(a["type"] for a in answers) == {
        "crm.occurrence.recorded": 2,
        "omni.contact.rejected": 4,
    }
    reasons = {
        a["data"]["contact_id"]: a["data"]["reason"]
        for a in answers
        if a["type"] == "omni.contact.rejected"
    }
    assert reasons == {
        "WA-2": "unknown_form",
        "WA-3": "form_not_enabled",
        "WA-4": "group_not_authorised",
        "WA-5": "invalid_fields",
    }
    recorded = [a for a in answers if a["type"] == "crm.occurrence.recorded"]
    assert {a["causationid"] for a in recorded} == {first["id"], again["id"]}
    [ticket_id] = {a["data"]["ticket_id"] for a in recorded}  # one ticket per contact
    assert {(a["data"]["form"], a["data"]["channel"], a["data"]["by"]) for a in recorded} == {
        ("invoice-copy", "whatsapp", "ana")
    }
    assert count(url, select(func.count()).select_from(TicketRow)) == 1
    assert count(url, select(func.count()).select_from(OccurrenceRow)) == 2
    history = select(func.count()).where(
        StageHistoryRow.ticket_id == ticket_id, StageHistoryRow.kind.in_(["open", "occurrence"])
    )
    assert count(url, history) == 2
