"""Tenants through the API: two tenants fed the same event are two tickets, each seen only by
its own tenant; plans decide whether synced users start active; roles decide the rest.

Every ``/api`` endpoint is called with another tenant's token (``test_no_endpoint_reaches_
another_tenant``): the list of endpoints is read from the app itself, so a new endpoint is in
the test from the day it exists."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from sqlalchemy import select

from hub.companies import service as companies
from hub.provisioning import provision
from hub.runtime.uow import Cause
from hub.store.models import DeadLetter, OutboxMessage
from hub.web.tokens import Tokens
from hub.workflow import service
from hub.workflow.permissions import Holder
from schemas.examples import example_event
from tests.support.harness import outgoing, wait_until
from tests.support.people import person
from tests.web.conftest import Site


def acme(site: Site, plan: str = "starter") -> dict[str, str]:
    """Provision tenant ``acme`` (demo configuration) with an admin token and a user token."""
    provision(site.hub.uow, "acme", name="Acme", plan=plan, demo=True)
    person(site.hub.uow, "watcher", "user", tenant="acme")
    tokens = Tokens(site.hub.uow)
    return {
        "admin": tokens.create("acme-admin", tenant="acme", user="support"),
        "ana": tokens.create("acme-ana", tenant="acme", user="ana"),
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def pending_agreement(tenant: str | None, key: str = "AG-KEY-1") -> dict[str, Any]:
    event = example_event("finance.agreement.pending")
    event["id"] = "evt-1"  # the same event id and idempotency key in both tenants
    event["idempotencykey"] = key
    if tenant is not None:
        event["tenantid"] = tenant
    return event


def publish(site: Site, event: dict[str, Any]) -> None:
    site.hub.transport.publish([outgoing(event, event["type"])])


def outbox(site: Site, event_type: str) -> list[dict[str, Any]]:
    with site.hub.uow.sessions() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.event_type == event_type))
        return [json.loads(r.body) for r in rows]


def test_the_same_agreement_in_two_tenants_is_two_tickets_each_seen_by_its_tenant(
    full_site: Site,
) -> None:
    site = full_site
    theirs = acme(site)
    # Given the same pending agreement, with the same id and idempotency key, in two tenants
    publish(site, pending_agreement(None))
    publish(site, pending_agreement("acme"))
    ours_admin, theirs_admin = site.auth("operator"), bearer(theirs["admin"])

    def both_opened() -> bool:
        a = site.client.get("/api/tickets", headers=ours_admin).json()
        b = site.client.get("/api/tickets", headers=theirs_admin).json()
        return len(a) == 1 and len(b) == 1

    wait_until(both_opened, timeout=20, what="a ticket in each tenant")
    [ours] = site.client.get("/api/tickets", headers=ours_admin).json()
    [their] = site.client.get("/api/tickets", headers=theirs_admin).json()
    # Then they are two tickets, and neither tenant reaches the other's
    assert ours["id"] != their["id"]
    assert site.client.get(f"/api/tickets/{their['id']}", headers=ours_admin).status_code == 404
    assert site.client.get(f"/api/tickets/{ours['id']}", headers=theirs_admin).status_code == 404
    # When acme approves its ticket
    got = site.client.post(
        f"/api/tickets/{their['id']}/move",
        json={"stage": "approved"},
        headers=bearer(theirs["ana"]),
    )
    assert got.status_code == 200, got.text
    # Then the decision carries acme's tenant, and the default tenant decided nothing
    [decision] = outbox(site, "finance.agreement.approved")
    assert decision["tenantid"] == "acme" and decision["data"]["ticket_id"] == their["id"]
    created = outbox(site, "crm.ticket.created")
    assert sorted(e["tenantid"] for e in created) == ["acme", "default"]
    assert len({e["id"] for e in created}) == 2  # their ids differ too


def test_an_event_for_an_unknown_tenant_is_dead_lettered_with_the_reason(
    full_site: Site,
) -> None:
    site = full_site
    event = pending_agreement("nowhere")
    publish(site, event)

    def dead() -> list[dict[str, Any]]:
        return site.client.get("/api/dead-letters", headers=site.auth("operator")).json()

    wait_until(lambda: bool(dead()), timeout=20, what="the dead letter")
    [letter] = dead()
    assert (
        letter["error_type"] == "UnknownTenant"
        and "unknown tenant 'nowhere'" in letter["error_message"]
    )
    assert letter["tenant"] == "default"  # the hub's own operators see what no tenant owns


def test_a_synced_user_waits_for_an_admin_on_a_paid_plan_and_not_on_freemium(
    full_site: Site,
) -> None:
    site = full_site
    theirs = acme(site, plan="starter")
    provision(site.hub.uow, "free", name="Free", plan="freemium")
    user = example_event("platform.user.upserted")
    user["data"] = {
        "user_id": "zoe",
        "name": "Zoe",
        "email": "zoe@example.org",
        "active": True,
        "version": 1,
    }
    for tenant in ("acme", "free"):
        publish(site, {**user, "id": f"u-{tenant}", "tenantid": tenant})
    admin = bearer(theirs["admin"])

    def synced() -> bool:
        got = site.client.get("/api/users/zoe", headers=admin)
        return got.status_code == 200

    wait_until(synced, timeout=20, what="zoe synced into acme")
    assert site.client.get("/api/users/zoe", headers=admin).json()["status"] == "pending"
    with site.hub.uow(Cause.action(tenant="free")) as uow:
        from hub.identity.service import view_user

        assert view_user(uow, "zoe").row.status == "active"
    # a pending user's token does not work
    zoe = Tokens(site.hub.uow).create("zoe", tenant="acme")
    assert site.client.get("/api/tickets", headers=bearer(zoe)).status_code == 401
    # only an Admin activates her; her activation is an event
    ana = bearer(theirs["ana"])
    refused = site.client.post("/api/users/zoe/activate", headers=ana)
    assert refused.status_code == 403 and "users:edit" in refused.json()["detail"]
    got = site.client.post("/api/users/zoe/activate", headers=admin)
    assert got.status_code == 200 and got.json()["status"] == "active"
    [activated] = outbox(site, "crm.user.activated")
    assert activated["tenantid"] == "acme" and activated["data"] == {
        "user_id": "zoe",
        "by": "support",
    }
    assert site.client.get("/api/tickets", headers=bearer(zoe)).status_code == 200


def test_a_coordinator_sees_a_subordinates_ticket_and_not_a_peers(sqlite_site: Site) -> None:
    site = sqlite_site
    # carla coordinates ana (the demo's "ana.manager: carla"); bruno reports to diana
    uow = site.hub.uow
    with uow(Cause.action(tenant="default")) as work:
        from hub.identity.service import set_user

        set_user(work, "carla", by="support", roles=["coordinator"])
        set_user(work, "ana", by="support", roles=["user"])
        set_user(work, "bruno", by="support", roles=["user"])
        set_user(work, "diana", by="support", roles=["coordinator"])
    tokens = Tokens(uow)
    carla = bearer(tokens.create("carla", tenant="default"))
    bruno = bearer(tokens.create("bruno", tenant="default"))
    anas = site.open_ticket()  # held by ana
    with uow(Cause.action(tenant="default")) as work:
        peer = service.open_ticket(
            work,
            "edu.transcript",
            parameters={"copies": 1},
            customer_id="RA-9",
            holder=Holder("attendant", "bruno"),
        ).id
    listed = {t["id"] for t in site.client.get("/api/tickets", headers=carla).json()}
    assert anas in listed and peer not in listed
    assert site.client.get(f"/api/tickets/{peer}", headers=carla).status_code == 404
    assert site.client.get(f"/api/tickets/{anas}", headers=carla).status_code == 200
    # bruno (a User) sees his own and not ana's
    mine = {t["id"] for t in site.client.get("/api/tickets", headers=bruno).json()}
    assert mine == {peer}


def test_a_user_cannot_replay_a_dead_letter_and_is_told_which_permission_is_missing(
    sqlite_site: Site,
) -> None:
    site = sqlite_site
    letter = site.dead_letter("U-1")
    person(site.hub.uow, "otto", "user")
    otto = bearer(Tokens(site.hub.uow).create("otto", tenant="default"))
    got = site.client.post(f"/api/dead-letters/{letter}/replay", headers=otto)
    assert got.status_code == 403
    assert got.json()["detail"] == (
        "otto may not change dead letters "
        "(needs the permission dead_letters:access and dead_letters:edit)"
    )


def test_no_endpoint_reaches_another_tenant(full_site: Site) -> None:
    """Every /api endpoint, called with acme's administrator's token and the default tenant's
    ids, answers as if those did not exist, and changes nothing of the default tenant."""
    site = full_site
    theirs = acme(site)
    ours = site.open_ticket()
    att = site.client.post(
        f"/api/tickets/{ours}/attachments",
        files={"file": ("a.txt", b"ours", "text/plain")},
        headers=site.auth("operator"),
    ).json()["id"]
    letter = site.dead_letter("ISO-1")
    ftp = {"host": "ours.example.org", "folder": "/in", "user": "u", "password": "pw"}
    assert (
        site.client.put(
            "/api/settings/ftp/1", json={**ftp, "protocol": "sftp"}, headers=site.auth("operator")
        ).status_code
        == 200
    )
    person(site.hub.uow, "only-ours", "reader")
    support = bearer(Tokens(site.hub.uow).create("ours-admin", tenant="default", user="support"))
    smtp = {"host": "ours-smtp.example", "port": 25, "sender": "ours@example.org"}
    assert site.client.put("/api/settings/smtp/1", json=smtp, headers=support).status_code == 200
    invited = {"customer_id": "C-OURS", "email": "carol-ours@example.org"}
    assert site.client.post("/api/portal/invitations", json=invited, headers=support).is_success
    attendant = {"default_attendant": "only-ours"}
    assert site.client.post("/api/settings/portal", json=attendant, headers=support).is_success
    with site.hub.uow(Cause.action(tenant="default")) as uow:
        companies.set_company(uow, "ours-co", by="support", name="Ours Co")
        companies.set_branch(uow, "ours-co", "b1", by="support", name="Ours Branch")
    with site.hub.uow.sessions() as s:
        chain = s.get(DeadLetter, letter).correlation_id  # type: ignore[union-attr]
    values = {
        "ticket_id": ours,
        "attachment_id": str(att),
        "dl_id": str(letter),
        "correlation_id": chain or "",
        "user_id": "only-ours",
        "role_id": "reader",
        "company": "1",
        "company_id": "ours-co",
        "branch_id": "b1",
        "customer_id": "C-OURS",
    }
    before = snapshot(site)
    headers = bearer(theirs["admin"])
    spec = site.client.get("/openapi.json", headers=headers).json()
    called = 0
    for template, operations in spec["paths"].items():
        if not template.startswith("/api"):
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
        for method in operations:
            headers["Idempotency-Key"] = str(uuid.uuid4())
            if template.endswith("/attachments") and method == "post":
                got = site.client.post(path, files={"file": ("x.txt", b"x")}, headers=headers)
            else:
                got = site.client.request(method, path, json=_body(template), headers=headers)
            called += 1
            where = (method, template, got.status_code, got.text[:300])
            if got.status_code >= 300:  # refused, as if it did not exist; it echoes only the ask
                # (or acme's own file server, just set to a host that does not exist: 502)
                own_server = template == "/api/settings/ftp/{company}/test"
                assert got.status_code in {403, 404, 409, 422} | ({502} if own_server else set()), (
                    where
                )
                continue
            assert method == "get" or template in _OWN_TENANT_WRITES, where
            secrets = (ours, f'"id":{letter},', "only-ours", "ISO-1", "ours.example.org")
            for secret in (*secrets, "ours-smtp", "ours-co", "carol-ours"):
                assert secret not in got.text, where
    assert called >= 20
    assert snapshot(site) == before


#: Writes that act on the caller's own tenant only (they cannot name the other's data).
_OWN_TENANT_WRITES = {
    "/api/dead-letters/replay",
    "/api/dead-letters/purge",
    "/api/roles",
    "/api/tenants",
    "/api/settings/ftp/{company}",
    "/api/companies",
    "/api/portal/invitations",
}


def _body(path: str) -> dict[str, Any]:
    if path.endswith("/move"):
        return {"stage": "approved"}
    if path.endswith("/classification"):
        return {"classification": "agreement-priority"}
    if path.endswith("/comments"):
        return {"text": "hello"}
    if path.endswith("/cancel") or path.endswith("/delete"):
        return {"reason": "no"}
    if path == "/api/roles":
        return {"id": "intruder", "name": "Intruder"}
    if path == "/api/tenants":
        return {"id": "evil", "name": "Evil", "plan": "freemium"}
    if path == "/api/settings/ftp/{company}":
        return {
            "host": "evil.example.org",
            "folder": "/",
            "user": "e",
            "password": "e",
            "protocol": "ftp",
        }
    if path in {"/api/companies", "/api/companies/{company_id}/branches"}:
        return {"id": "theirs", "name": "Theirs"}
    if path.endswith("/duplicate"):
        return {"id": "copy"}
    if path == "/api/portal/invitations":
        return {"customer_id": "C-THEIRS", "email": "theirs@example.org"}
    if path == "/api/settings/portal":
        return {"default_attendant": "only-ours"}
    return {}


def snapshot(site: Site) -> Any:
    """The default tenant's data as the operator sees it."""
    auth = site.auth("operator")
    tickets = site.client.get("/api/tickets", headers=auth).json()
    shown = [site.client.get(f"/api/tickets/{t['id']}", headers=auth).json() for t in tickets]
    letters = site.client.get("/api/dead-letters", headers=auth, params={"status": ""}).json()
    servers = site.client.get("/api/settings/ftp", headers=auth).json()
    users = site.client.get("/api/users", headers=auth).json()
    name = f"snapshot-{uuid.uuid4().hex[:8]}"
    support = bearer(Tokens(site.hub.uow).create(name, tenant="default", user="support"))
    smtp = site.client.get("/api/settings/smtp", headers=support).json()
    with site.hub.uow(Cause.action(tenant="default")) as uow:
        stored = [v.to_json() for v in companies.list_companies(uow)]
    portal = (
        site.client.get("/api/portal/accounts", headers=support).json(),
        site.client.get("/api/settings/portal", headers=support).json(),
    )
    assert [a["customer_id"] for a in portal[0]] == ["C-OURS"]
    return (shown, letters, users, servers, smtp, stored, portal)
