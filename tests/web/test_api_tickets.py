"""``/api/tickets``: the workflow's rules hold over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from hub.store.models import OutboxMessage
from hub.web.idempotency import claim, fingerprint_of
from hub.web.tokens import Tokens
from hub.workflow.permissions import Holder
from tests.support.people import person
from tests.web.conftest import Site


def outbound(site: Site, event_type: str) -> list[OutboxMessage]:
    with site.hub.uow.sessions() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.event_type == event_type)))


def test_list_with_filters_and_show(site: Site) -> None:
    # Given a finance approval ticket (held by ana) and an educational one (held by a group)
    finance = site.open_ticket()
    edu = site.open_ticket("edu.transcript", parameters={"copies": 2}, customer_id="RA-1")
    get = site.client.get
    headers = site.auth("reader")
    # When listing with filters
    everything = get("/api/tickets", headers=headers).json()
    by_type = get("/api/tickets", params={"type": "edu.transcript"}, headers=headers).json()
    by_holder = get("/api/tickets", params={"holder": "attendant:ana"}, headers=headers).json()
    by_stage = get("/api/tickets", params={"stage": "analysis"}, headers=headers).json()
    by_status = get("/api/tickets", params={"status": "completed"}, headers=headers).json()
    by_customer = get("/api/tickets", params={"customer": "RA-1"}, headers=headers).json()
    # Then
    assert {t["id"] for t in everything} == {finance, edu}
    assert [t["id"] for t in by_type] == [edu]
    assert [t["id"] for t in by_holder] == [finance]
    assert [t["id"] for t in by_stage] == [finance]
    assert by_status == []
    assert [t["id"] for t in by_customer] == [edu]
    shown = get(f"/api/tickets/{finance}", headers=headers).json()
    assert shown["stage"] == "analysis"
    assert {m["stage"] for m in shown["allowed_moves"]} == {"approved", "rejected"}
    assert [h["kind"] for h in shown["history"]] == ["open"]
    missing = get("/api/tickets/T-nope", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"] == "TicketNotFound"


def test_moves_follow_the_flow_reasons_field_rules_and_permissions(site: Site) -> None:
    ticket = site.open_ticket()
    post = site.client.post
    headers = site.auth("attendant")  # acts as ana, who holds the ticket
    # a read-only field at this stage cannot be written
    got = post(
        f"/api/tickets/{ticket}/move",
        json={"stage": "approved", "fields": {"amount": "1.00"}},
        headers=headers,
    )
    assert got.status_code == 422 and got.json()["error"] == "FieldRuleViolation"
    # rejecting needs a reason
    got = post(f"/api/tickets/{ticket}/move", json={"stage": "rejected"}, headers=headers)
    assert got.status_code == 422 and got.json()["error"] == "ReasonRequired"
    # no flow to a stage that is not next
    got = post(f"/api/tickets/{ticket}/move", json={"stage": "analysis"}, headers=headers)
    assert got.status_code == 422 and got.json()["error"] == "IllegalMove"
    # a stale version is a conflict
    got = post(
        f"/api/tickets/{ticket}/move",
        json={"stage": "approved", "expected_version": 99},
        headers=headers,
    )
    assert got.status_code == 409 and got.json()["error"] == "Conflict"
    # the operator token acts as admin; a token acting as someone else is refused by the flow
    person(site.hub.uow, "bruno", "attendant")
    bruno = Tokens(site.hub.uow).create("bruno", tenant="default")
    got = post(
        f"/api/tickets/{ticket}/move",
        json={"stage": "approved"},
        headers={"Authorization": f"Bearer {bruno}"},
    )
    assert got.status_code == 403 and got.json()["error"] == "PermissionDenied"
    # When ana approves with a writable field
    got = post(
        f"/api/tickets/{ticket}/move",
        json={"stage": "approved", "fields": {"approval_note": "ok"}},
        headers=headers,
    )
    # Then
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["stage"], body["status"]) == ("approved", "completed")
    assert body["parameters"]["approval_note"] == "ok"
    assert body["history"][-1]["by"] == "ana"
    assert len(outbound(site, "finance.agreement.approved")) == 1


def test_comment_cancel_and_attachments(site: Site) -> None:
    ticket = site.open_ticket()
    post, get = site.client.post, site.client.get
    headers = site.auth("attendant")
    got = post(
        f"/api/tickets/{ticket}/comments", json={"text": "calling the customer"}, headers=headers
    )
    assert got.status_code == 201 and got.json()["by"] == "ana"
    got = post(f"/api/tickets/{ticket}/comments", json={"text": "  "}, headers=headers)
    assert got.status_code == 422
    content = b"%PDF-1.4 proposal"
    got = post(
        f"/api/tickets/{ticket}/attachments",
        files={"file": ("proposal.pdf", content, "application/pdf")},
        headers=headers,
    )
    assert got.status_code == 201, got.text
    attachment = got.json()
    assert (attachment["filename"], attachment["size"]) == ("proposal.pdf", len(content))
    shown = get(f"/api/tickets/{ticket}", headers=site.auth("reader")).json()
    assert [c["text"] for c in shown["comments"]] == ["calling the customer"]
    assert [a["id"] for a in shown["attachments"]] == [attachment["id"]]
    download = get(
        f"/api/tickets/{ticket}/attachments/{attachment['id']}", headers=site.auth("reader")
    )
    assert download.content == content
    assert download.headers["content-type"] == "application/pdf"
    assert "proposal.pdf" in download.headers["content-disposition"]
    assert get(f"/api/tickets/{ticket}/attachments/999", headers=headers).status_code == 404
    # only an administrator cancels, and only a ticket the customer holds (ana holds this one)
    admin = site.auth("operator")  # the demo's administrator
    got = post(f"/api/tickets/{ticket}/cancel", json={"reason": "duplicate"}, headers=admin)
    assert got.status_code == 403 and "not under the customer's responsibility" in got.text
    held = customer_held(site)
    got = post(f"/api/tickets/{held}/cancel", json={"reason": "duplicate"}, headers=headers)
    assert got.status_code == 403 and "only administrators may cancel" in got.text
    # cancelling needs a reason, then closes the discussion and attachments
    got = post(f"/api/tickets/{held}/cancel", json={"reason": " "}, headers=admin)
    assert got.status_code == 422
    got = post(f"/api/tickets/{held}/cancel", json={"reason": "duplicate"}, headers=admin)
    assert got.status_code == 200 and got.json()["status"] == "cancelled"
    assert len(outbound(site, "crm.ticket.cancelled")) == 1
    got = post(f"/api/tickets/{held}/comments", json={"text": "late"}, headers=headers)
    assert got.status_code == 422 and got.json()["error"] == "IllegalMove"
    got = post(f"/api/tickets/{held}/attachments", files={"file": ("b.txt", b"b")}, headers=headers)
    assert got.status_code == 422


def test_an_administrator_deletes_a_cancelled_ticket_leaving_a_tombstone(site: Site) -> None:
    post, get = site.client.post, site.client.get
    admin, attendant = site.auth("operator"), site.auth("attendant")
    ticket = customer_held(site)
    refused = post(f"/api/tickets/{ticket}/delete", json={"reason": "x"}, headers=admin)
    assert refused.status_code == 422 and "only a cancelled ticket" in refused.text
    assert post(
        f"/api/tickets/{ticket}/comments", json={"text": "hi"}, headers=attendant
    ).is_success
    assert post(f"/api/tickets/{ticket}/cancel", json={"reason": "twice"}, headers=admin).is_success
    # the attendant's role lacks tickets:delete
    denied = post(f"/api/tickets/{ticket}/delete", json={"reason": "x"}, headers=attendant)
    assert denied.status_code == 403 and "tickets:delete" in denied.text
    blank = post(f"/api/tickets/{ticket}/delete", json={"reason": " "}, headers=admin)
    assert blank.status_code == 422 and "needs a reason" in blank.text
    got = post(f"/api/tickets/{ticket}/delete", json={"reason": "opened by mistake"}, headers=admin)
    assert got.status_code == 200, got.text
    stone = got.json()
    assert (stone["ticket_id"], stone["deleted_by"], stone["reason"]) == (
        ticket,
        "admin",
        "opened by mistake",
    )
    assert stone["cancel_reason"] == "twice" and stone["customer_id"] == "RA-9"
    assert get(f"/api/tickets/{ticket}", headers=admin).status_code == 404
    assert ticket not in {t["id"] for t in get("/api/tickets", headers=admin).json()}
    assert [s["ticket_id"] for s in get("/api/deleted-tickets", headers=admin).json()] == [ticket]
    assert get("/api/deleted-tickets", headers=attendant).status_code == 403
    # its events stay, and one more says it was deleted
    assert len(outbound(site, "crm.ticket.created")) >= 1
    assert len(outbound(site, "crm.ticket.cancelled")) == 1
    [deleted] = outbound(site, "crm.ticket.deleted")
    assert json.loads(deleted.body)["data"] == {
        "ticket_id": ticket,
        "ticket_type": "edu.transcript",
        "reason": "opened by mistake",
        "by": "admin",
    }
    again = post(f"/api/tickets/{ticket}/delete", json={"reason": "again"}, headers=admin)
    assert again.status_code == 404


def customer_held(site: Site) -> str:
    """A transcript request waiting for its student, RA-9."""
    return site.open_ticket(
        "edu.transcript",
        parameters={"copies": 1},
        customer_id="RA-9",
        holder=Holder("customer", "RA-9"),
    )


def test_a_retried_move_returns_the_first_response_and_acts_once(site: Site) -> None:
    ticket = site.open_ticket()
    key = str(uuid.uuid4())
    headers = {**site.auth("attendant"), "Idempotency-Key": key}
    first = site.client.post(
        f"/api/tickets/{ticket}/move", json={"stage": "approved"}, headers=headers
    )
    again = site.client.post(
        f"/api/tickets/{ticket}/move", json={"stage": "approved"}, headers=headers
    )
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(outbound(site, "crm.ticket.stage-changed")) == 1
    assert len(outbound(site, "finance.agreement.approved")) == 1
    # the same key for another request is refused
    other = site.client.post(
        f"/api/tickets/{ticket}/move", json={"stage": "rejected", "reason": "x"}, headers=headers
    )
    assert other.status_code == 422 and other.json()["error"] == "IdempotencyKeyReused"
    # without a key, a second move is a real (refused) second request
    plain = site.client.post(
        f"/api/tickets/{ticket}/move", json={"stage": "approved"}, headers=site.auth("attendant")
    )
    assert plain.status_code == 422


def test_retried_comments_cancels_and_uploads_act_once(site: Site) -> None:
    ticket = customer_held(site)
    attendant = site.auth("attendant")

    def twice(path: str, who: dict[str, str] = attendant, **kwargs: object) -> None:
        headers = {**who, "Idempotency-Key": str(uuid.uuid4())}
        a = site.client.post(path, headers=headers, **kwargs)  # type: ignore[arg-type]
        b = site.client.post(path, headers=headers, **kwargs)  # type: ignore[arg-type]
        assert a.status_code < 300 and (b.status_code, b.json()) == (a.status_code, a.json())

    twice(f"/api/tickets/{ticket}/comments", json={"text": "once"})
    twice(f"/api/tickets/{ticket}/attachments", files={"file": ("a.txt", b"abc")})
    twice(f"/api/tickets/{ticket}/cancel", site.auth("operator"), json={"reason": "duplicate"})
    shown = site.client.get(f"/api/tickets/{ticket}", headers=attendant).json()
    assert len(shown["comments"]) == 1
    assert len(shown["attachments"]) == 1
    assert [h["kind"] for h in shown["history"]] == ["open", "cancel"]
    assert len(outbound(site, "crm.ticket.cancelled")) == 1


def test_a_refused_first_request_is_replayed_as_refused(site: Site) -> None:
    """A 4xx answer is the request's answer: its retry gets the same one."""
    ticket = site.open_ticket()
    headers = {**site.auth("attendant"), "Idempotency-Key": "k-1"}
    first = site.client.post(
        f"/api/tickets/{ticket}/move", json={"stage": "rejected"}, headers=headers
    )
    again = site.client.post(
        f"/api/tickets/{ticket}/move", json={"stage": "rejected"}, headers=headers
    )
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    # keys belong to a token: another token's same key is its own request
    other = {**site.auth("operator"), "Idempotency-Key": "k-1"}
    got = site.client.post(
        f"/api/tickets/{ticket}/move", json={"stage": "rejected", "reason": "no"}, headers=other
    )
    assert got.status_code == 200 and got.json()["stage"] == "rejected"


def test_a_retry_while_the_first_request_runs_is_told_to_wait(site: Site) -> None:
    ticket = site.open_ticket()
    who = Tokens(site.hub.uow).verify(site.tokens["attendant"])
    assert who is not None
    path = f"/api/tickets/{ticket}/comments"
    body = b'{"text":"hi"}'
    headers = {"content-type": "application/json"}
    # Given the first request with this key is still being handled (its row is in progress)
    fingerprint = fingerprint_of("POST", path, body)
    assert claim(site.hub.uow, who.key, "busy", fingerprint) is None
    # When a retry arrives
    got = site.client.post(
        path, content=body, headers={**site.auth("attendant"), **headers, "Idempotency-Key": "busy"}
    )
    # Then it is refused without acting
    assert got.status_code == 409 and got.json()["error"] == "InProgress"
    shown = site.client.get(f"/api/tickets/{ticket}", headers=site.auth("reader")).json()
    assert shown["comments"] == []


def test_classification_changes_over_http_once_and_only_as_configured(site: Site) -> None:
    ticket = site.open_ticket()  # classified "agreement" by its template
    attendant = site.auth("attendant")
    path = f"/api/tickets/{ticket}/classification"
    shown = site.client.get(f"/api/tickets/{ticket}", headers=site.auth("reader")).json()
    # the active ones of the ticket type's service (a student request's is another service's)
    assert shown["classifications_allowed"] == ["agreement-priority"]
    refused = site.client.post(
        path, json={"classification": "agreement-priority"}, headers=site.auth("reader")
    )
    assert refused.status_code == 403
    inactive = site.client.post(
        path, json={"classification": "agreement-legacy"}, headers=attendant
    )
    assert inactive.status_code == 422 and "inactive" in inactive.json()["detail"]
    headers = {**attendant, "Idempotency-Key": str(uuid.uuid4())}
    first = site.client.post(path, json={"classification": "agreement-priority"}, headers=headers)
    again = site.client.post(path, json={"classification": "agreement-priority"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert first.json()["classification"] == "agreement-priority"
    assert [h["kind"] for h in first.json()["history"]] == ["open", "classify"]
    assert first.json()["version"] == 2
    stale = site.client.post(
        path, json={"classification": "agreement", "expected_version": 1}, headers=attendant
    )
    assert stale.status_code == 409
