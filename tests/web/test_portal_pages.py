"""The customer portal's pages behind FastAPI's TestClient, on a hub running in the test
process with the demo configuration: signing in through the invitation's link, the five
filters, a customer reaching only their own tickets, the staff pages and API closed to a
customer's session, CSRF, field rules, approving and rejecting, the language."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from consumers import ALL
from hub.education.tables import EnrollmentRow
from hub.portal import accounts
from hub.portal.settings import PortalSettings, save_portal_settings
from hub.runtime.uow import Cause
from hub.store.models import InboxEntry, OutboxMessage
from hub.workflow import service
from hub.workflow.permissions import Holder
from hub.workflow.repository import TicketRepository
from tests.support import ledger
from tests.support.education import debt, enrollment
from tests.support.harness import outgoing, wait_until
from tests.web.conftest import ORIGIN, Site, _site

PASSWORD = "uma senha longa o bastante"
NAMES = {"MAT101": "Cálculo I", "FIS201": "Física II"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_ALERT = re.compile(r'role="alert">([^<]*)<')
_COUNT = re.compile(r'data-filter="(\w+)"[^>]*>[^<]*<span class="count">(\d+)</span>')


@pytest.fixture
def site(sqlite_url: str, tmp_path: Path) -> Iterator[Site]:
    """A hub with its own consumers and the demo configuration."""
    for made in _site(sqlite_url, tmp_path, [*ALL, ledger.consumer]):
        with made.hub.uow(Cause.action(tenant="default")) as uow:
            _, config = service.current_config(uow)
            data = config.model_dump()
            for type_id in ("edu.second-call-exam", "edu.transcript", "cc.invoice-copy"):
                data["ticket_types"][type_id]["portal"] = True
            service.apply_config(uow, type(config).model_validate(data), source="test")
        yield made


def student(site: Site, ra: str) -> None:
    """The ERP's enrollment (with the disciplines' names) and a clean debt record for ``ra``."""
    e = enrollment(ra)
    e["data"]["discipline_names"] = NAMES
    d = debt(ra)
    site.hub.transport.publish([outgoing(e, e["type"]), outgoing(d, d["type"])])

    def stored() -> bool:
        with site.hub.uow.sessions() as s:
            return s.get(EnrollmentRow, ("default", "1", ra, "2026-2")) is not None

    wait_until(stored, timeout=20, what=f"enrollment of {ra}")


@dataclass
class Portal:
    """A browser signed in to the portal as one customer."""

    site: Site
    customer_id: str
    csrf: str = ""

    @property
    def client(self) -> Any:
        return self.site.client

    def get(self, path: str, **kwargs: Any) -> Any:
        got = self.client.get(path, **kwargs)
        found = _CSRF.search(got.text)
        if found:
            self.csrf = found.group(1)
        return got

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        headers = {"origin": ORIGIN, **kwargs.pop("headers", {})}
        return self.client.post(
            path,
            data={**(data or {}), "csrf_token": self.csrf},
            headers=headers,
            follow_redirects=False,
            **kwargs,
        )

    def counts(self) -> dict[str, int]:
        page = self.get("/portal/tickets")
        return {k: int(v) for k, v in _COUNT.findall(page.text)}

    def listed(self, name: str) -> list[str]:
        return re.findall(
            r'href="/portal/tickets/(T-[0-9a-f]+)"', self.get(f"/portal/tickets?filter={name}").text
        )


def invite(site: Site, customer_id: str, email: str, tenant: str = "default") -> str:
    with site.hub.uow(Cause.action(tenant=tenant)) as uow:
        sent = accounts.invite(uow, customer_id, email, by="admin", public_url="http://testserver")
    return sent.link.removeprefix("http://testserver")


def sign_up(site: Site, customer_id: str, email: str | None = None) -> Portal:
    """Invite ``customer_id`` and follow the link as they would: choose a password."""
    site.client.cookies.clear()
    link = invite(site, customer_id, email or f"{customer_id.lower()}@example.org")
    page = site.client.get(link)
    assert page.status_code == 200
    assert 'name="password"' in page.text and 'name="confirmation"' in page.text
    done = site.client.post(
        link,
        data={"password": PASSWORD, "confirmation": PASSWORD},
        headers={"origin": ORIGIN},
        follow_redirects=False,
    )
    assert done.status_code == 303, _ALERT.findall(done.text)
    assert done.headers["location"] == "/portal/tickets?welcome=1"
    portal = Portal(site, customer_id)
    portal.get("/portal/tickets")
    return portal


def direct_ticket(site: Site, customer_id: str, **kwargs: Any) -> str:
    """A ticket of the demo's contact-center type (no integration owns it) for the customer."""
    with site.hub.uow(Cause.action(tenant="default")) as uow:
        t = service.open_ticket(
            uow,
            "cc.invoice-copy",
            customer_id=customer_id,
            parameters={"invoice": f"NF-{uuid.uuid4().hex[:4]}"},
            subject="Segunda via",
            **kwargs,
        )
        return t.id


def hand_to(site: Site, ticket_id: str, holder: Holder) -> None:
    with site.hub.uow(Cause.action(tenant="default")) as uow:
        repo = TicketRepository(uow.session, uow.tenant)
        t = repo.get(ticket_id)
        t.transfer(holder, "test", "system:test", now=uow.now())
        repo.save(t, uow.now())


def open_in_portal(portal: Portal, type_id: str, **fields: str) -> Any:
    form = portal.get(f"/portal/new?type={type_id}")
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
    assert nonce, form.text[-2000:]
    data = {
        "type": type_id,
        "nonce": nonce.group(1),
        "subject": "Prova de segunda chamada",
        "description": "Estive doente no dia da prova.",
    }
    data.update({f"field.{k}": v for k, v in fields.items()})
    return portal.post("/portal/new", data)


# --- signing in --------------------------------------------------------------------------


def test_the_invitations_link_sets_the_password_once_then_the_customer_signs_in(
    site: Site,
) -> None:
    link = invite(site, "RA-1", "ra1@example.org")
    differs = site.client.post(
        link,
        data={"password": PASSWORD, "confirmation": PASSWORD + "x"},
        headers={"origin": ORIGIN},
    )
    assert differs.status_code == 400
    assert _ALERT.findall(differs.text) == ["As duas senhas não são iguais."]
    short = site.client.post(
        link, data={"password": "curta", "confirmation": "curta"}, headers={"origin": ORIGIN}
    )
    assert short.status_code == 400
    ok = site.client.post(
        link,
        data={"password": PASSWORD, "confirmation": PASSWORD},
        headers={"origin": ORIGIN},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert site.client.get(link).status_code == 410  # used once
    site.client.cookies.clear()
    wrong = site.client.post(
        "/portal/login",
        data={"email": "ra1@example.org", "password": "not it at all"},
        headers={"origin": ORIGIN},
    )
    assert wrong.status_code == 401
    right = site.client.post(
        "/portal/login",
        data={"email": "RA1@example.org ", "password": PASSWORD},
        headers={"origin": ORIGIN},
        follow_redirects=False,
    )
    assert right.status_code == 303 and right.headers["location"] == "/portal/tickets"
    cookie = right.headers["set-cookie"]
    assert "hub_portal=" in cookie and "HttpOnly" in cookie and "Path=/portal" in cookie
    assert "SameSite=strict" in cookie


def test_a_newer_invitation_voids_the_older_link(site: Site) -> None:
    first = invite(site, "RA-2", "ra2@example.org")
    second = invite(site, "RA-2", "ra2@example.org")
    assert site.client.get(first).status_code == 410
    assert site.client.get(second).status_code == 200


def test_a_disabled_account_is_signed_out_at_once(site: Site) -> None:
    portal = sign_up(site, "RA-3")
    assert portal.get("/portal/tickets").status_code == 200
    with site.hub.uow(Cause.action(tenant="default")) as uow:
        accounts.set_status(uow, "RA-3", enabled=False, by="admin")
    got = portal.client.get("/portal/tickets", follow_redirects=False)
    assert got.status_code == 303 and got.headers["location"].startswith("/portal/login")
    again = portal.client.post(
        "/portal/login",
        data={"email": "ra-3@example.org", "password": PASSWORD},
        headers={"origin": ORIGIN},
    )
    assert again.status_code == 401


def test_a_customers_session_reaches_no_staff_page_and_no_api(site: Site) -> None:
    portal = sign_up(site, "RA-4")
    for path in ("/", "/tickets", "/dead-letters", "/users"):
        got = portal.client.get(path, follow_redirects=False)
        assert got.status_code == 303 and got.headers["location"].startswith("/login"), path
    assert portal.client.get("/api/tickets").status_code == 401
    assert portal.client.get("/api/dead-letters").status_code == 401


def test_every_write_needs_the_sessions_csrf_token_and_the_portals_origin(site: Site) -> None:
    portal = sign_up(site, "RA-5")
    ticket = direct_ticket(site, "RA-5")
    no_token = portal.client.post(
        f"/portal/tickets/{ticket}/comment", data={"text": "oi"}, headers={"origin": ORIGIN}
    )
    assert no_token.status_code == 403
    elsewhere = portal.client.post(
        f"/portal/tickets/{ticket}/comment",
        data={"text": "oi", "csrf_token": portal.csrf},
        headers={"origin": "https://evil.example"},
    )
    assert elsewhere.status_code == 403
    assert portal.post(f"/portal/tickets/{ticket}/comment", {"text": "oi"}).status_code == 303


def test_pages_carry_the_security_headers(site: Site) -> None:
    page = site.client.get("/portal/login")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


# --- the five filters ----------------------------------------------------------------------


@pytest.fixture
def one_of_each(site: Site) -> tuple[Portal, dict[str, str]]:
    """A customer with one ticket in each state the filters tell apart."""
    portal = sign_up(site, "RA-F")
    made = {
        "first_stage_theirs": direct_ticket(site, "RA-F", holder=Holder("customer", "RA-F")),
        "with_the_desk": direct_ticket(site, "RA-F"),
        "back_to_them": direct_ticket(site, "RA-F"),
        "completed": direct_ticket(site, "RA-F"),
        "cancelled": direct_ticket(site, "RA-F"),
    }
    hand_to(site, made["back_to_them"], Holder("customer", "RA-F"))
    with site.hub.uow(Cause.action(tenant="default")) as uow:
        service.move_ticket(uow, made["completed"], "sent", reason=None, by="system:test")
        service.cancel_ticket(uow, made["cancelled"], reason="duplicada", by="system:test")
    direct_ticket(site, "RA-OTHER")  # another customer's: never shown
    return portal, made


EXPECTED = {
    "all": {"first_stage_theirs", "with_the_desk", "back_to_them", "completed", "cancelled"},
    "mine": {"first_stage_theirs", "back_to_them"},
    "awaiting": {"with_the_desk"},
    "completed": {"completed"},
    "cancelled": {"cancelled"},
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_filter_lists_exactly_its_tickets_and_counts_them(
    one_of_each: tuple[Portal, dict[str, str]], name: str
) -> None:
    portal, made = one_of_each
    expected = {made[k] for k in EXPECTED[name]}
    assert set(portal.listed(name)) == expected
    assert portal.counts()[name] == len(expected)


def test_awaiting_return_is_read_only_but_for_the_discussion_and_attachments(
    one_of_each: tuple[Portal, dict[str, str]],
) -> None:
    portal, made = one_of_each
    ticket = made["with_the_desk"]
    page = portal.get(f"/portal/tickets/{ticket}").text
    assert f"/portal/tickets/{ticket}/comment" in page
    assert f"/portal/tickets/{ticket}/attach" in page
    assert "/decide" not in page
    assert (
        portal.post(f"/portal/tickets/{ticket}/comment", {"text": "Alguma novidade?"}).status_code
        == 303
    )
    sent = portal.client.post(
        f"/portal/tickets/{ticket}/attach",
        data={"csrf_token": portal.csrf},
        files={"file": ("nota fiscal ç.pdf", b"%PDF-1.4 test", "application/pdf")},
        headers={"origin": ORIGIN},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    page = portal.get(f"/portal/tickets/{ticket}").text
    assert "Alguma novidade?" in page and "nota fiscal ç.pdf" in page
    link = re.search(rf'href="(/portal/tickets/{ticket}/attachments/\d+)"', page)
    assert link
    got = portal.get(link.group(1))
    assert got.status_code == 200 and got.content == b"%PDF-1.4 test"
    assert "filename*=UTF-8''nota%20fiscal%20%C3%A7.pdf" in got.headers["content-disposition"]


@pytest.mark.parametrize("state", ["completed", "cancelled"])
def test_a_closed_ticket_is_read_only(
    one_of_each: tuple[Portal, dict[str, str]], state: str
) -> None:
    portal, made = one_of_each
    ticket = made[state]
    page = portal.get(f"/portal/tickets/{ticket}").text
    assert "/comment" not in page and "/attach" not in page and "/decide" not in page
    refused = portal.post(f"/portal/tickets/{ticket}/comment", {"text": "e agora?"})
    assert refused.status_code == 409
    assert "não pode mais ser alterado" in refused.text


def test_a_customer_reaches_only_their_own_tickets(
    one_of_each: tuple[Portal, dict[str, str]],
) -> None:
    portal, made = one_of_each
    theirs = direct_ticket(portal.site, "RA-OTHER")
    for path in (f"/portal/tickets/{theirs}", "/portal/tickets/T-000000000000"):
        assert portal.get(path).status_code == 404
    assert portal.post(f"/portal/tickets/{theirs}/comment", {"text": "x"}).status_code == 404
    assert portal.get(f"/portal/tickets/{theirs}/attachments/1").status_code == 404
    assert theirs not in portal.listed("all")


def test_another_tenants_customer_with_the_same_id_sees_none_of_this_tenants(
    site: Site,
) -> None:
    from hub.tenancy.tenants import Tenants

    with site.hub.uow.sessions.begin() as s:
        Tenants(s).create("acme", name="Acme", plan="starter", now=site.hub.uow.clock.now())
    direct_ticket(site, "RA-T")
    site.client.cookies.clear()
    link = invite(site, "RA-T", "ra-t@acme.example", tenant="acme")
    site.client.post(
        link, data={"password": PASSWORD, "confirmation": PASSWORD}, headers={"origin": ORIGIN}
    )
    portal = Portal(site, "RA-T")
    assert portal.counts() == {"all": 0, "mine": 0, "awaiting": 0, "completed": 0, "cancelled": 0}


# --- opening, deciding, field rules --------------------------------------------------------


def test_a_direct_type_opens_with_origin_portal_for_the_default_attendant(site: Site) -> None:
    with site.hub.uow(Cause.action(tenant="default")) as uow:
        save_portal_settings(uow.session, "default", PortalSettings(default_attendant="ana"))
    portal = sign_up(site, "RA-D")
    sent = open_in_portal(portal, "cc.invoice-copy", invoice="NF-9", note="urgente")
    assert sent.status_code == 303, _ALERT.findall(sent.text)
    ticket_id = sent.headers["location"].split("/")[-1].split("?")[0]
    with site.hub.uow(Cause.action(tenant="default")) as uow:
        t = TicketRepository(uow.session, uow.tenant).get(ticket_id)
        created = uow.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.event_type == "crm.ticket.created", OutboxMessage.subject == ticket_id
            )
        ).all()
    assert t.origin_type == "portal" and t.customer_id == "RA-D"
    assert t.holder == Holder("attendant", "ana")
    assert t.subject == "Prova de segunda chamada"
    assert len(created) == 1
    # the same form sent twice opens one ticket
    again = portal.post(
        "/portal/new",
        {"type": "cc.invoice-copy", "nonce": "n-1", "subject": "x", "field.invoice": "NF-1"},
    )
    twice = portal.post(
        "/portal/new",
        {"type": "cc.invoice-copy", "nonce": "n-1", "subject": "x", "field.invoice": "NF-1"},
    )
    assert again.headers["location"] == twice.headers["location"]


def test_the_exam_offers_the_students_own_disciplines_by_name(site: Site) -> None:
    student(site, "RA-E")
    portal = sign_up(site, "RA-E")
    form = portal.get("/portal/new?type=edu.second-call-exam").text
    options = re.findall(r'<option value="(\w+)" >([^<]+)', form)
    assert options == [("MAT101", "MAT101 — Cálculo I"), ("FIS201", "FIS201 — Física II")]
    refused = open_in_portal(portal, "edu.second-call-exam", discipline="QUI999")
    assert refused.status_code == 409
    opened = open_in_portal(portal, "edu.second-call-exam", discipline="MAT101")
    assert opened.status_code == 303, _ALERT.findall(opened.text)


def test_a_student_who_is_not_enrolled_is_told_why(site: Site) -> None:
    portal = sign_up(site, "RA-NONE")
    refused = open_in_portal(portal, "edu.second-call-exam", discipline="MAT101")
    assert refused.status_code == 409
    assert _ALERT.findall(refused.text) == ["Você não está matriculado em um período letivo."]


def test_no_path_writes_an_invisible_or_read_only_field(site: Site) -> None:
    portal = sign_up(site, "RA-R")
    ticket = direct_ticket(site, "RA-R", holder=Holder("customer", "RA-R"))
    before = _parameters(site, ticket)
    portal.post(f"/portal/tickets/{ticket}/comment", {"text": "oi", "field.invoice": "NF-X"})
    portal.post(f"/portal/tickets/{ticket}/decide", {"stage": "sent", "field.invoice": "NF-X"})
    assert _parameters(site, ticket) == before
    for verb in ("fields", "move", "update"):
        assert portal.post(
            f"/portal/tickets/{ticket}/{verb}", {"field.invoice": "NF-X"}
        ).status_code in (404, 405)


def _parameters(site: Site, ticket_id: str) -> dict[str, Any]:
    with site.hub.uow(Cause.action(tenant="default")) as uow:
        return dict(TicketRepository(uow.session, uow.tenant).get(ticket_id).parameters)


def test_only_the_holding_customer_approves_and_only_by_an_approval_or_rejection(
    site: Site,
) -> None:
    student(site, "RA-A")
    portal = sign_up(site, "RA-A")
    opened = open_in_portal(portal, "edu.second-call-exam", discipline="MAT101")
    ticket = opened.headers["location"].split("/")[-1].split("?")[0]
    refused = portal.post(f"/portal/tickets/{ticket}/decide", {"stage": "fee-accepted"})
    assert refused.status_code == 409  # the secretariat holds it
    with site.hub.uow(Cause.action(tenant="default")) as uow:
        service.move_ticket(
            uow, ticket, "awaiting-fee", reason="taxa de R$ 45,00", by="system:test"
        )
    page = portal.get(f"/portal/tickets/{ticket}").text
    assert 'data-decision="approval"' in page and 'data-decision="rejection"' in page
    sideways = portal.post(f"/portal/tickets/{ticket}/decide", {"stage": "requested"})
    assert sideways.status_code == 409
    assert (
        portal.post(f"/portal/tickets/{ticket}/decide", {"stage": "fee-accepted"}).status_code
        == 303
    )

    def charged() -> int:  # the edu-requests consumer answers the stage change
        with site.hub.uow.sessions() as s:
            return len(
                s.scalars(
                    select(OutboxMessage).where(
                        OutboxMessage.event_type == "billing.charge.requested"
                    )
                ).all()
            )

    wait_until(lambda: charged() == 1, timeout=20, what="the charge requested of billing")


def mails_to(site: Site, email: str) -> list[dict[str, Any]]:
    """The e-mails about tickets queued for ``email`` (subject and text), oldest first."""
    with site.hub.uow.sessions() as s:
        rows = s.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.kind == "mail",
                OutboxMessage.routing_key == email,
                OutboxMessage.subject.not_like("portal-invite:%"),
            )
            .order_by(OutboxMessage.id)
        ).all()
        return [json.loads(r.body) for r in rows]


def test_the_customer_is_emailed_when_the_ticket_comes_back_and_when_it_ends(
    site: Site,
) -> None:
    student(site, "RA-M")
    portal = sign_up(site, "RA-M")
    opened = open_in_portal(portal, "edu.second-call-exam", discipline="MAT101")
    exam = opened.headers["location"].split("/")[-1].split("?")[0]
    invoice = direct_ticket(site, "RA-M")
    other = direct_ticket(site, "RA-M")
    with site.hub.uow(Cause.action(tenant="default")) as uow:
        service.move_ticket(uow, exam, "awaiting-fee", reason="taxa de R$ 45,00", by="support")
        service.move_ticket(uow, invoice, "sent", reason=None, by="support")
        service.cancel_ticket(uow, other, reason="pedido em duplicidade", by="system:test")
    subjects = {
        f"Seu chamado {exam} aguarda você",
        f"Seu chamado {invoice} foi concluído",
        f"Seu chamado {other} foi cancelado",
    }

    def told() -> set[str]:
        return {m["subject"] for m in mails_to(site, "ra-m@example.org")} & subjects

    wait_until(lambda: told() == subjects, timeout=20, what="the three e-mails")
    by_subject = {m["subject"]: m["text"] for m in mails_to(site, "ra-m@example.org")}
    assert "precisa da sua ação" in by_subject[f"Seu chamado {exam} aguarda você"]
    assert f"/portal/tickets/{exam}" in by_subject[f"Seu chamado {exam} aguarda você"]
    assert "Motivo: pedido em duplicidade" in by_subject[f"Seu chamado {other} foi cancelado"]


def test_a_tenant_that_switches_customer_mail_off_sends_none(site: Site) -> None:
    sign_up(site, "RA-Q")
    with site.hub.uow(Cause.action(tenant="default")) as uow:
        save_portal_settings(uow.session, uow.tenant, PortalSettings(None, customer_mail=False))
    ticket = direct_ticket(site, "RA-Q")
    quiet = direct_ticket(site, "RA-NOBODY")  # no portal account: no address to write to
    with site.hub.uow(Cause.action(tenant="default")) as uow:
        service.move_ticket(uow, ticket, "sent", reason=None, by="support")
        service.move_ticket(uow, quiet, "sent", reason=None, by="support")

    def handled() -> int:
        with site.hub.uow.sessions() as s:
            return len(
                s.scalars(
                    select(InboxEntry).where(
                        InboxEntry.consumer == "portal-mail",
                        InboxEntry.event_type == "crm.ticket.stage-changed",
                    )
                ).all()
            )

    wait_until(lambda: handled() == 2, timeout=20, what="portal-mail handling both moves")
    assert mails_to(site, "ra-q@example.org") == []
    with site.hub.uow(Cause.action(tenant="default")) as uow:
        save_portal_settings(uow.session, uow.tenant, PortalSettings(None, customer_mail=True))
    after = direct_ticket(site, "RA-Q")
    with site.hub.uow(Cause.action(tenant="default")) as uow:
        service.move_ticket(uow, after, "sent", reason=None, by="support")
    wait_until(
        lambda: mails_to(site, "ra-q@example.org") != [], timeout=20, what="the e-mail once on"
    )
    assert [m["subject"] for m in mails_to(site, "ra-q@example.org")] == [
        f"Seu chamado {after} foi concluído"
    ]


def test_an_attendants_internal_note_never_reaches_the_customer(site: Site) -> None:
    portal = sign_up(site, "RA-N")
    ticket = direct_ticket(site, "RA-N")
    staff = site.auth("operator")
    for text, internal in (("Nota interna: cliente inadimplente", True), ("Já enviamos", False)):
        sent = site.client.post(
            f"/api/tickets/{ticket}/comments",
            json={"text": text, "internal": internal},
            headers=staff,
        )
        assert sent.status_code == 201 and sent.json()["internal"] is internal
    shown = site.client.get(f"/api/tickets/{ticket}", headers=staff).json()
    assert [(c["text"], c["internal"]) for c in shown["comments"]] == [
        ("Nota interna: cliente inadimplente", True),
        ("Já enviamos", False),
    ]
    page = portal.get(f"/portal/tickets/{ticket}").text
    assert "Já enviamos" in page and "inadimplente" not in page


# --- language --------------------------------------------------------------------------------


def test_the_language_follows_accept_language_and_the_switch(site: Site) -> None:
    assert "<h1>Entrar</h1>" in site.client.get("/portal/login").text
    english = site.client.get("/portal/login", headers={"accept-language": "en-US,en;q=0.8"})
    assert '<html lang="en">' in english.text and "<h1>Sign in</h1>" in english.text
    portal = sign_up(site, "RA-L")
    switched = portal.post("/portal/language", {"to": "en", "next": "/portal/tickets"})
    assert switched.status_code == 303
    assert "<h1>My requests</h1>" in portal.get("/portal/tickets").text
    with site.hub.uow.sessions() as s:
        assert accounts.find(s, "default", "RA-L").language == "en"  # type: ignore[union-attr]


# --- the staff's side: API and console ---------------------------------------------------------


def test_the_api_invites_lists_and_disables_accounts_with_the_users_permissions(
    site: Site,
) -> None:
    body = {"customer_id": "RA-API", "email": "ra-api@example.org", "language": "en"}
    refused = site.client.post("/api/portal/invitations", json=body, headers=site.auth("reader"))
    assert refused.status_code == 403
    sent = site.client.post("/api/portal/invitations", json=body, headers=site.auth("operator"))
    assert sent.status_code == 201, sent.text
    assert sent.json()["account"]["status"] == "invited" and "link" not in sent.text
    assert site.client.get("/api/portal/accounts", headers=site.auth("reader")).status_code == 403
    listed = site.client.get("/api/portal/accounts", headers=site.auth("operator")).json()
    assert [a["customer_id"] for a in listed] == ["RA-API"]
    bad = site.client.post(
        "/api/portal/invitations",
        json={**body, "email": "not-an-address"},
        headers=site.auth("operator"),
    )
    assert bad.status_code == 422 and bad.json()["error"]
    off = site.client.post("/api/portal/accounts/RA-API/disable", headers=site.auth("operator"))
    assert off.status_code == 200 and off.json()["status"] == "disabled"
    none = site.client.post("/api/portal/accounts/RA-NOBODY/disable", headers=site.auth("operator"))
    assert none.status_code == 404


def test_the_api_sets_the_default_attendant_to_an_active_user_only(site: Site) -> None:
    headers = site.auth("operator")
    ok = site.client.post(
        "/api/settings/portal", json={"default_attendant": "ana"}, headers=headers
    )
    assert ok.status_code == 200 and ok.json() == {
        "default_attendant": "ana",
        "customer_mail": True,
    }
    unknown = site.client.post(
        "/api/settings/portal", json={"default_attendant": "nobody"}, headers=headers
    )
    assert unknown.status_code == 404 and "nobody" in unknown.json()["detail"]
    shown = site.client.get("/api/settings/portal", headers=headers).json()
    assert shown["default_attendant"] == "ana"


def test_the_console_page_invites_and_disables(site: Site) -> None:
    from tests.web.conftest import console_login

    console = console_login(site, "operator", next="/portal-accounts")
    sent = console.post(
        "/portal-accounts/invite",
        {"customer_id": "RA-C", "email": "ra-c@example.org"},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and "msg=" in sent.headers["location"]
    page = console.get("/portal-accounts").text
    assert 'id="account-RA-C"' in page and "invited" in page
    console.post("/portal-accounts/RA-C/disable")
    assert "disabled" in console.get("/portal-accounts").text
