"""The customer portal in headless Chromium against ``hub run``: a student invited by
e-mail (a real SMTP server on loopback) chooses a password through the link, opens a
second-call exam by the discipline's name, follows it from "Awaiting return" to "Under my
responsibility", accepts the fee (the charge goes to billing) and finds it under
"Completed"; on the embedded default and on RabbitMQ + PostgreSQL. Each filter, the phone
width and the language switch have their own test. axe-core checks every page for serious or
critical violations. Screenshots go to ``test-artifacts/portal-*.png``."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from hub.runtime.transport import Transport
from hub.runtime.transports import transport_for
from hub.store.models import OutboxMessage
from hub.workflow.loader import DEMO_CONFIG
from tests.support.education import Mailbox, debt, enrollment, free_port, smtp_server
from tests.support.harness import outgoing, wait_until
from tests.support.process import hub_env, run_cli, start_hub, stop
from tests.web.browser import chromium, console_url, require_chromium, screenshot

PASSWORD = "uma senha longa o bastante"
NAMES = {"MAT101": "Cálculo I", "FIS201": "Física II"}
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class PortalHub:
    url: str  # ends with "/"
    env: dict[str, str]
    transport: Transport
    mailbox: Mailbox
    database_url: str

    def cli(self, *args: str) -> str:
        out = run_cli({**self.env, "HUB_PUBLIC_URL": self.url.rstrip("/")}, *args)
        assert out.returncode == 0, out.stderr
        return out.stdout

    def student(self, ra: str) -> None:
        """The ERP's enrollment (with the disciplines' names) and a clean debt record."""
        e = enrollment(ra)
        e["data"]["discipline_names"] = NAMES
        d = debt(ra)
        self.transport.publish([outgoing(e, e["type"]), outgoing(d, d["type"])])

    def invitation(self, ra: str, email: str) -> str:
        """Invite ``ra`` with ``hub portal invite``; the link of the e-mail it receives."""
        self.cli("portal", "invite", ra, "--email", email)
        found: list[str] = []

        def arrived() -> bool:
            for message in self.mailbox.messages:
                if message["To"] == email:
                    body = message.get_body(("plain",))
                    text = body.get_content() if body is not None else ""
                    found[:] = re.findall(r"https?://\S+/portal/welcome/\S+", text)
            return bool(found)

        wait_until(arrived, timeout=30, what=f"the invitation to {email}")
        return found[0]

    def mail(self, email: str, subject: str) -> str:
        """The text of the e-mail to ``email`` with ``subject``, once it arrives."""
        found: list[str] = []

        def arrived() -> bool:
            for message in self.mailbox.messages:
                if message["To"] == email and message["Subject"] == subject:
                    body = message.get_body(("plain",))
                    found.append(body.get_content() if body is not None else "")
            return bool(found)

        wait_until(arrived, timeout=30, what=f"the e-mail {subject!r} to {email}")
        return found[0]

    def outbox(self, event_type: str) -> list[OutboxMessage]:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as c:
                return list(
                    c.execute(select(OutboxMessage).where(OutboxMessage.event_type == event_type))
                )
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[int, Mailbox]]:
    port = free_port()
    with smtp_server(port, Mailbox()) as box:
        yield port, box


def _running(tier: dict[str, str], tmp: Path, smtp: tuple[int, Mailbox]) -> Iterator[PortalHub]:
    port, box = smtp
    env = hub_env(
        tier,
        HUB_DATA_DIR=str(tmp / "data"),
        HUB_SMTP_URL=f"smtp://127.0.0.1:{port}?from=secretaria@example.edu",
        HUB_RETRY_BASE_DELAY="0.2",
    )
    for args in (
        ("db", "upgrade"),
        ("config", "apply", str(DEMO_CONFIG)),
        ("users", "set", "bruno", "--role", "user"),
        ("settings", "portal", "set", "--default-attendant", "bruno"),
    ):
        out = run_cli(env, *args)
        assert out.returncode == 0, out.stderr
    log = tmp / "hub.log"
    proc = start_hub(env, log)
    transport = transport_for(tier["broker_url"])
    try:
        yield PortalHub(console_url(log), env, transport, box, tier["database_url"])
    finally:
        transport.close()
        assert stop(proc) == 0, log.read_text()[-3000:]


@pytest.fixture(scope="module")
def embedded(
    tmp_path_factory: pytest.TempPathFactory, mailbox: tuple[int, Mailbox]
) -> Iterator[PortalHub]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("portal")
    tier = {
        "broker_url": f"sqla+sqlite:///{tmp / 'broker.sqlite'}?lease=3",
        "database_url": f"sqlite:///{tmp / 'hub.sqlite'}",
    }
    yield from _running(tier, tmp, mailbox)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def no_serious_violations(page: Any, name: str) -> None:
    """axe-core on the page as it is now: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(n["target"][0] for n in v["nodes"][:3])
        for v in found
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: " + "; ".join(bad)


def look(page: Any, name: str) -> None:
    no_serious_violations(page, name)
    screenshot(page, f"portal-{name}")


def choose_password(page: Any, link: str) -> None:
    page.goto(link)
    page.fill("#password", PASSWORD)
    page.fill("#confirmation", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/portal/tickets\?welcome=1$"))


def count(page: Any, name: str) -> int:
    return int(page.inner_text(f"a[data-filter={name}] .count"))


def new_student(hub: PortalHub, page: Any) -> str:
    ra = f"RA-{uuid.uuid4().hex[:8]}"
    hub.student(ra)
    choose_password(page, hub.invitation(ra, f"{ra.lower()}@example.org"))
    return ra


def open_exam(page: Any, url: str) -> str:
    page.goto(url + "portal/new")
    page.click("text=Academic secretariat")
    page.click("text=Second-call exam")
    page.fill("#subject", "Prova de segunda chamada de Cálculo")
    page.fill("#description", "Estive doente no dia da prova; anexo o atestado.")
    page.select_option("#field-discipline", label="MAT101 — Cálculo I")
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/portal/tickets/T-[0-9a-f]+\?done=opened$"))
    return str(page.url.split("/")[-1].split("?")[0])


def the_student_loop(hub: PortalHub, browser: Any, tag: str) -> None:
    """The issue's "done when", as a student and the secretariat do it."""
    page = browser.new_page(viewport=DESKTOP, locale="pt-BR")
    email = f"{new_student(hub, page).lower()}@example.org"
    look(page, f"{tag}-welcome")
    page.goto(hub.url + "portal/new")
    look(page, f"{tag}-new-group")
    ticket = open_exam(page, hub.url)
    look(page, f"{tag}-opened")

    page.goto(hub.url + "portal/tickets?filter=awaiting")
    assert count(page, "awaiting") == 1 and count(page, "mine") == 0
    assert page.locator(f"a[href='/portal/tickets/{ticket}']").count() == 1
    look(page, f"{tag}-awaiting")
    page.goto(hub.url + f"portal/tickets/{ticket}")
    assert page.locator("form[action$='/decide']").count() == 0
    page.fill("#text", "Posso fazer a prova na sexta?")
    page.click("form[action$='/comment'] button")
    page.wait_for_selector("text=Sua mensagem foi enviada.")

    hub.cli(
        "tickets", "move", ticket, "awaiting-fee", "--reason", "taxa de R$ 45,00", "--by", "support"
    )
    told = hub.mail(email, f"Seu chamado {ticket} aguarda você")  # it came back to the student
    assert "precisa da sua ação" in told and f"/portal/tickets/{ticket}" in told
    page.goto(hub.url + "portal/tickets?filter=mine")
    assert count(page, "mine") == 1 and count(page, "awaiting") == 0
    look(page, f"{tag}-mine")
    page.click(f"a[href='/portal/tickets/{ticket}']")
    look(page, f"{tag}-decide")
    assert hub.outbox("billing.charge.requested") == []
    page.click("button[data-decision=approval]")
    page.wait_for_selector("text=Obrigado: sua resposta foi registrada.")
    wait_until(
        lambda: len(hub.outbox("billing.charge.requested")) == 1,
        timeout=20,
        what="the charge requested of billing",
    )

    hub.cli(
        "tickets", "move", ticket, "scheduled", "--field", "exam_date=2027-03-10", "--by", "support"
    )
    hub.cli("tickets", "move", ticket, "done", "--by", "support")
    hub.mail(email, f"Seu chamado {ticket} foi concluído")
    page.goto(hub.url + "portal/tickets?filter=completed")
    assert count(page, "completed") == 1
    page.click(f"a[href='/portal/tickets/{ticket}']")
    assert page.locator("form[action$='/comment']").count() == 0
    look(page, f"{tag}-completed")
    page.close()


@pytest.mark.timeout(240)
def test_a_student_is_invited_opens_an_exam_and_accepts_its_fee_embedded(
    embedded: PortalHub, browser: Any
) -> None:
    the_student_loop(embedded, browser, "embedded")


@pytest.mark.timeout(240)
def test_a_student_is_invited_opens_an_exam_and_accepts_its_fee_on_rabbitmq_and_postgresql(
    amqp_url: str,
    postgres_url: str,
    tmp_path: Path,
    browser: Any,
    mailbox: tuple[int, Mailbox],
) -> None:
    tier = {"broker_url": amqp_url, "database_url": postgres_url}
    for hub in _running(tier, tmp_path, mailbox):
        the_student_loop(hub, browser, "rabbitmq")


# --- each filter, a phone, the language ----------------------------------------------------


@pytest.fixture(scope="module")
def student_with_tickets(embedded: PortalHub, browser: Any) -> Iterator[tuple[Any, dict[str, str]]]:
    """A student with an exam awaiting return, one under their responsibility, one
    completed and one cancelled."""
    page = browser.new_page(viewport=DESKTOP, locale="pt-BR")
    new_student(embedded, page)
    made = {
        name: open_exam(page, embedded.url)
        for name in ("awaiting", "mine", "completed", "cancelled")
    }
    embedded.cli(
        "tickets", "move", made["mine"], "awaiting-fee", "--reason", "taxa", "--by", "support"
    )
    for stage, field in (
        ("awaiting-fee", None),
        ("fee-accepted", None),
        ("scheduled", "exam_date=2027-03-10"),
        ("done", None),
    ):
        args = ["tickets", "move", made["completed"], stage, "--by", "support"]
        if stage == "awaiting-fee":
            args += ["--reason", "taxa"]
        if field:
            args += ["--field", field]
        embedded.cli(*args)
    embedded.cli(
        "tickets", "move", made["cancelled"], "awaiting-fee", "--reason", "taxa", "--by", "support"
    )
    embedded.cli(
        "tickets",
        "cancel",
        made["cancelled"],
        "--reason",
        "pedido em duplicidade",
        "--by",
        "support",
    )
    yield page, made
    page.close()


@pytest.mark.parametrize(
    "name,expected",
    [
        ("all", {"awaiting", "mine", "completed", "cancelled"}),
        ("mine", {"mine"}),
        ("awaiting", {"awaiting"}),
        ("completed", {"completed"}),
        ("cancelled", {"cancelled"}),
    ],
)
def test_each_filter_shows_its_tickets_with_its_count(
    embedded: PortalHub,
    student_with_tickets: tuple[Any, dict[str, str]],
    name: str,
    expected: set[str],
) -> None:
    page, made = student_with_tickets
    page.goto(embedded.url + f"portal/tickets?filter={name}")
    shown = {
        href.split("/")[-1]
        for href in page.eval_on_selector_all(
            "ul.tickets a", "links => links.map(a => a.getAttribute('href'))"
        )
    }
    assert shown == {made[k] for k in expected}
    assert count(page, name) == len(expected)
    assert page.get_attribute(f"a[data-filter={name}]", "aria-current") == "page"
    look(page, f"filter-{name}")


def test_a_phone_shows_every_page_without_sideways_scrolling(
    embedded: PortalHub, browser: Any, student_with_tickets: tuple[Any, dict[str, str]]
) -> None:
    _, made = student_with_tickets
    context = browser.new_context(viewport=PHONE, locale="pt-BR", is_mobile=True)
    page = context.new_page()
    try:
        page.goto(embedded.url + "portal/login")
        look(page, "phone-login")
        new_student(embedded, page)
        ticket = open_exam(page, embedded.url)
        for name, path in (
            ("phone-list", "portal/tickets"),
            ("phone-new", "portal/new?type=edu.second-call-exam"),
            ("phone-ticket", f"portal/tickets/{ticket}"),
        ):
            page.goto(embedded.url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{name}: {width} px wide"
            look(page, name)
    finally:
        context.close()


def test_the_portal_speaks_the_browsers_language_and_switches_on_the_page(
    embedded: PortalHub, browser: Any
) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    try:
        page.goto(embedded.url + "portal/login")
        assert page.inner_text("h1") == "Sign in"
        assert page.get_attribute("html", "lang") == "en"
        look(page, "login-en")
        page.click("button[name=to][value=pt_BR]")
        page.wait_for_selector("h1:has-text('Entrar')")
        assert page.get_attribute("html", "lang") == "pt-BR"
        look(page, "login-pt")
    finally:
        context.close()
