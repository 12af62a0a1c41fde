"""Every role against every page and endpoint.

For each (role, endpoint) the test knows whether access must be granted. When it is denied
(anonymous: login redirect or 401; no access: 404, which does not reveal that the ticket
exists), nothing in the database may have changed. A guard test fails when a new URL is
added without being listed here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import get_resolver

from kapula.catalogue.models import Service
from kapula.core.actions import CustomerIdentity, create_api_token
from kapula.core.models import ApiToken, Customer, IdempotencyRecord, OutboxEvent
from kapula.intake.actions import Intake, receive
from kapula.intake.mail.ingest import store_raw
from kapula.intake.mail.models import InboundEmail
from kapula.intake.webform.views import THANKS_SALT
from kapula.tickets import actions as A
from kapula.tickets.attachments import AttachmentInput
from kapula.tickets.models import Attachment, HistoryEntry, Message, Ticket, TicketLink
from tests.kb.desk_matrix import kb_ids, kb_version
from tests.notifications.matrix import lead_notification_id
from tests.portal.matrix import portal_link, portal_ticket
from tests.suppliers.matrix import engagement_id

ROLES = ["anonymous", "outsider", "agent", "lead", "unit_admin", "org_admin", "other_agent"]
#: who may see tickets of the IT service desk team
SEES_IT = {"lead", "unit_admin", "org_admin"}


@dataclass
class Ctx:
    world: Any
    ticket: Ticket
    other: Ticket
    attachment: Attachment
    customer: Customer
    lead_token: ApiToken
    inbound: InboundEmail


@dataclass(frozen=True)
class Endpoint:
    key: str
    method: str
    path: Callable[[Ctx], str]
    #: "public", "member" (any logged-in user), "ticket" (must see the IT ticket),
    #: "owner" (the lead's own token or notification)
    access: str
    data: Callable[[Ctx], Any] | None = None
    api: bool = False
    multipart: bool = False


def _t(ctx: Ctx) -> str:
    return str(ctx.ticket.pk)


def _o311(c: Ctx) -> dict[str, str]:
    """Open311 (key auth, no login): the service offered in the app, a client key, and one
    published request with a photo. Made once per test."""
    if "o311" not in c.__dict__:
        from kapula.catalogue.actions import Submission, submit
        from kapula.intake.open311.actions import create_client
        from kapula.intake.open311.views import make_token

        service = Service.objects.get(organisation=c.world.org, code="katuvalo")
        service.on_mobile = True
        service.save()
        _client, key = create_client(actor=None, organisation=c.world.org, name="matrix")
        ticket = submit(Submission(service=service, channel="mobile_app", language="fi",
                                   description="Valo ei pala", files={"kuva": [
                                       AttachmentInput("k.png", b"\x89PNG\r\n", "image/png")]})
                        ).ticket
        c.__dict__["o311"] = {"key": key, "number": ticket.number,
                              "token": make_token(ticket.pk),
                              "media": str(ticket.attachments.get().pk)}
    return c.__dict__["o311"]


O311 = "/open311/v2/"


def _kbp(c: Ctx) -> dict[str, Any]:
    """The public knowledge base: one published public article with an attachment, and a
    feedback token for it. Made once per test."""
    if "kbp" not in c.__dict__:
        from django.core.cache import cache

        from kapula.kb import actions as kb_actions
        from kapula.kb.public_views import make_token

        cache.delete_many(["kapula:kb:suggest:ip:127.0.0.1", "kapula:kb:feedback:ip:127.0.0.1"])
        article = kb_actions.create_article(
            actor=c.world.agent, organisation=c.world.org, language="fi", audience="public",
            title="Salasanan vaihto", body_html="<p>Vaihda salasana.</p>", publish=True)
        attachment = kb_actions.add_attachment(
            actor=c.world.agent, article=article,
            item=AttachmentInput("ohje.txt", b"ohje", "text/plain"))
        c.__dict__["kbp"] = {"article": article.pk, "attachment": attachment.pk,
                             "token": lambda context: make_token(
                                 organisation_id=c.world.org.pk, article_id=article.pk,
                                 context=context, language="fi")}
    return c.__dict__["kbp"]


ENDPOINTS = [
    # --- agent workspace ---
    Endpoint("desk:login", "GET", lambda c: "/login/", "public"),
    Endpoint("desk:set_language", "POST", lambda c: "/language/", "public",
             lambda c: {"language": "sv", "next": "/"}),
    Endpoint(":set_language", "POST", lambda c: "/i18n/setlang/", "public",
             lambda c: {"language": "en", "next": "/"}),
    Endpoint("desk:logout", "POST", lambda c: "/logout/", "member"),
    Endpoint("webform:catalogue", "GET", lambda c: "/forms/tre/", "public"),
    Endpoint("webform:form", "GET", lambda c: "/forms/tre/katuvalo/", "public"),
    Endpoint("webform:thanks", "GET", lambda c: "/forms/tre/katuvalo/thanks/"
             + signing.TimestampSigner(salt=THANKS_SALT).sign(str(c.ticket.pk)) + "/",
             "public"),
    Endpoint("webform:embed", "GET", lambda c: "/forms/tre/katuvalo/embed/?lang=sv", "public"),
    Endpoint("webform:embed_thanks", "GET", lambda c: "/forms/tre/katuvalo/embed/thanks/"
             + signing.TimestampSigner(salt=THANKS_SALT).sign(str(c.ticket.pk)) + "/",
             "public"),
    Endpoint("webform:embed_script", "GET", lambda c: "/forms/embed.js", "public"),
    # --- the public knowledge base (kapula/kb/public_views.py) ---
    Endpoint("kbpublic:index", "GET", lambda c: "/help/tre/?q=salasana", "public"),
    Endpoint("kbpublic:article", "GET", lambda c: f"/help/tre/{_kbp(c)['article']}/",
             "public"),
    Endpoint("kbpublic:attachment", "GET",
             lambda c: f"/help/tre/attachments/{_kbp(c)['attachment']}/", "public"),
    Endpoint("kbpublic:article_feedback", "POST",
             lambda c: f"/help/tre/{_kbp(c)['article']}/feedback/", "public",
             lambda c: {"token": _kbp(c)["token"]("public_kb"), "helpful": "yes"}),
    Endpoint("kbpublic:suggest", "GET",
             lambda c: "/help/tre/suggest/?q=unohdin+salasanan&service=katuvalo", "public"),
    Endpoint("kbpublic:feedback", "POST", lambda c: "/help/tre/feedback/", "public",
             lambda c: {"token": _kbp(c)["token"]("web_form"), "helpful": "yes"}),
    Endpoint("desk:queue", "GET", lambda c: "/?view=all", "member"),
    Endpoint("desk:search", "GET", lambda c: "/search/?q=tulostin&widen=1", "member"),
    Endpoint("desk:map", "GET", lambda c: "/map/?status=new", "member"),
    Endpoint("desk:map_geojson", "GET", lambda c: "/map/tickets.geojson", "member"),
    Endpoint("desk:new_ticket", "GET", lambda c: "/tickets/new/", "member"),
    Endpoint("desk:new_ticket:post", "POST", lambda c: "/tickets/new/", "member",
             lambda c: {"channel": "walk_in", "customer_name": "Kävijä", "title": "Käynti",
                        "body": "Asiakas kävi kysymässä pysäköinnistä.", "language": "fi",
                        "impact": "medium", "urgency": "medium"}),
    # a catalogue service's form in the desk: only the service's own organisation
    Endpoint("desk:new_ticket:service", "GET", lambda c: "/tickets/new/?service=katuvalo",
             "org"),
    Endpoint("desk:new_ticket:post-service", "POST", lambda c: "/tickets/new/", "org",
             lambda c: {"service": "katuvalo", "desk-channel": "phone", "desk-language": "fi",
                        "desk-customer_name": "Soittaja",
                        "description": "Katuvalo ei pala Hämeenkadulla."}),
    Endpoint("desk:customer_search", "GET", lambda c: "/customers/search/?customer_q=Ma",
             "member"),
    Endpoint("desk:tokens", "GET", lambda c: "/tokens/", "member"),
    Endpoint("desk:availability", "POST", lambda c: "/availability/", "member",
             lambda c: {"status": "away", "hours": "1", "next": "/"}),
    Endpoint("desk:team_availability", "GET", lambda c: "/availability/team/", "member"),
    Endpoint("notifications:list", "GET", lambda c: "/notifications/", "member"),
    Endpoint("notifications:badge", "GET", lambda c: "/notifications/badge/", "public"),
    Endpoint("notifications:read_all", "POST", lambda c: "/notifications/read-all/", "member"),
    Endpoint("notifications:read", "POST",
             lambda c: f"/notifications/{lead_notification_id(c)}/read/", "owner"),
    Endpoint("notifications:preferences", "GET", lambda c: "/notifications/preferences/",
             "member"),
    Endpoint("notifications:preferences:post", "POST", lambda c: "/notifications/preferences/",
             "member", data=lambda c: {"shown": ["assigned"], "frequency": "daily"}),
    Endpoint("desk:tokens:post", "POST", lambda c: "/tokens/", "member",
             lambda c: {"name": "integraatio"}),
    Endpoint("desk:revoke_token", "POST", lambda c: f"/tokens/{c.lead_token.pk}/revoke/",
             "owner"),
    Endpoint("desk:ticket", "GET", lambda c: f"/tickets/{_t(c)}/", "ticket"),
    Endpoint("desk:reply", "POST", lambda c: f"/tickets/{_t(c)}/reply/", "ticket",
             lambda c: {"kind": "note", "body": "Tarkistan asian.",
                        "version": c.ticket.version}),
    Endpoint("desk:update", "POST", lambda c: f"/tickets/{_t(c)}/update/", "ticket",
             lambda c: {"status": "open", "impact": "high", "urgency": "medium",
                        "team": c.ticket.team_id, "version": c.ticket.version}),
    Endpoint("desk:take", "POST", lambda c: f"/tickets/{_t(c)}/take/", "ticket",
             lambda c: {"version": c.ticket.version}),
    Endpoint("desk:link", "POST", lambda c: f"/tickets/{_t(c)}/link/", "ticket",
             lambda c: {"kind": "related", "number": c.other.number}),
    Endpoint("desk:merge", "POST", lambda c: f"/tickets/{_t(c)}/merge/", "ticket",
             lambda c: {"number": c.other.number, "confirm": "on"}),
    Endpoint("triage:apply", "POST", lambda c: f"/tickets/{_t(c)}/triage/apply/", "ticket",
             lambda c: {"target": "team", "value": c.ticket.team_id,
                        "version": c.ticket.version}),
    Endpoint("desk:attachment", "GET", lambda c: f"/attachments/{c.attachment.pk}/", "ticket"),
    Endpoint("desk:inbound_raw", "GET", lambda c: f"/mail/{c.inbound.pk}/original.eml",
             "ticket"),
    # --- escalation (kapula/suppliers) ---
    Endpoint("suppliers:escalate", "POST", lambda c: f"/tickets/{_t(c)}/escalate/", "ticket",
             lambda c: {"esc-target": f"team:{c.world.specialists.pk}", "esc-reason": "2. taso",
                        "esc-version": c.ticket.version}),
    Endpoint("suppliers:return", "POST", lambda c: f"/tickets/{_t(c)}/return/", "ticket",
             lambda c: {"ret-team": c.world.service_point.pk, "ret-reason": "Takaisin",
                        "ret-version": c.ticket.version}),
    Endpoint("suppliers:engagement", "POST",
             lambda c: f"/tickets/{_t(c)}/engagements/{engagement_id(c)}/", "ticket",
             lambda c: {f"eng{engagement_id(c)}-reference": "DK-1",
                        f"eng{engagement_id(c)}-state": "answered"}),
    Endpoint("suppliers:engagement_message", "POST",
             lambda c: f"/tickets/{_t(c)}/engagements/{engagement_id(c)}/message/", "ticket",
             lambda c: {f"msg{engagement_id(c)}-body": "Onko arviota?"}),
    # --- customer portal (kapula/portal): public to staff roles; pages that need a portal
    # session redirect to the portal login (their access is tested in tests/portal/) ---
    Endpoint("portal:login", "GET", lambda c: "/portal/tre/login/", "public"),
    Endpoint("portal:login:post", "POST", lambda c: "/portal/tre/login/", "public",
             lambda c: {"email": "matti@example.fi"}),
    Endpoint("portal:redeem", "GET", portal_link, "public"),
    Endpoint("portal:redeem:post", "POST", portal_link, "public"),
    Endpoint("portal:logout", "POST", lambda c: "/portal/tre/logout/", "public"),
    Endpoint("portal:tickets", "GET", lambda c: "/portal/tre/", "public"),
    Endpoint("portal:ticket", "GET", portal_ticket, "public"),
    Endpoint("portal:reply", "POST", lambda c: portal_ticket(c, "reply"), "public",
             lambda c: {"body": "Hei"}),
    Endpoint("portal:close", "POST", lambda c: portal_ticket(c, "close"), "public"),
    Endpoint("portal:reopen", "POST", lambda c: portal_ticket(c, "reopen"), "public",
             lambda c: {"reason": "Ei ratkennut"}),
    Endpoint("portal:rate", "POST", lambda c: portal_ticket(c, "rate"), "public",
             lambda c: {"score": "5"}),
    Endpoint("portal:attachment", "GET",
             lambda c: f"/portal/tre/attachments/{c.attachment.pk}/", "public"),
    # --- the knowledge base in the workspace (kapula/kb/views.py): "org" = staff of the
    # article's organisation (it is internal) ---
    Endpoint("kb:list", "GET", lambda c: "/kb/?q=tulostin&status=published", "member"),
    Endpoint("kb:new", "GET", lambda c: "/kb/new/", "member"),
    Endpoint("kb:new:post", "POST", lambda c: "/kb/new/", "member",
             lambda c: {"title": "Uusi ohje", "body": "<p>Ohjeen teksti.</p>",
                        "language": "fi", "audience": "internal"}),
    Endpoint("kb:article", "GET", lambda c: f"/kb/{kb_ids(c)['article']}/?lang=sv", "org"),
    Endpoint("kb:edit", "GET", lambda c: f"/kb/{kb_ids(c)['article']}/sv/edit/", "org"),
    Endpoint("kb:edit:post", "POST", lambda c: f"/kb/{kb_ids(c)['article']}/fi/edit/", "org",
             lambda c: {"title": "Tulostimen ohje", "body": "<p>Sammuta tulostin.</p>",
                        "version": "1", "publish": "on"}),
    Endpoint("kb:settings", "POST", lambda c: f"/kb/{kb_ids(c)['article']}/settings/", "org",
             lambda c: {"audience": "public", "version": kb_version(c)}),
    Endpoint("kb:reviewed", "POST", lambda c: f"/kb/{kb_ids(c)['article']}/reviewed/", "org",
             lambda c: {"next_review": "2099-01-01"}),
    Endpoint("kb:upload", "POST", lambda c: f"/kb/{kb_ids(c)['article']}/attachments/", "org",
             lambda c: {"file": SimpleUploadedFile("liite.txt", b"liite", "text/plain")}),
    Endpoint("kb:history", "GET", lambda c: f"/kb/{kb_ids(c)['article']}/fi/history/", "org"),
    Endpoint("kb:revision", "GET", lambda c: f"/kb/{kb_ids(c)['article']}/fi/history/1/",
             "org"),
    Endpoint("kb:restore", "POST",
             lambda c: f"/kb/{kb_ids(c)['article']}/fi/history/1/restore/", "org"),
    Endpoint("kb:attachment", "GET", lambda c: f"/kb/attachments/{kb_ids(c)['attachment']}/",
             "org"),
    Endpoint("kb:remove_attachment", "POST",
             lambda c: f"/kb/attachments/{kb_ids(c)['attachment']}/remove/", "org"),
    Endpoint("kb:suggest", "GET", lambda c: f"/kb/suggest/ticket/{_t(c)}/?q=tulostin",
             "ticket"),
    Endpoint("kb:from_ticket", "POST", lambda c: f"/kb/from-ticket/{_t(c)}/", "ticket"),
    # --- REST API ---
    Endpoint("api:openapi-json", "GET", lambda c: "/api/v1/openapi.json", "public", api=True),
    Endpoint("api:openapi-view", "GET", lambda c: "/api/v1/docs", "public", api=True),
    Endpoint("api:docs-asset", "GET", lambda c: "/api/v1/docs/assets/swagger-ui.css", "public",
             api=True),
    Endpoint("api:api-root", "GET", lambda c: "/api/v1/", "public", api=True),
    Endpoint("api:list_tickets", "GET", lambda c: "/api/v1/tickets?limit=5", "member",
             api=True),
    Endpoint("api:create_ticket", "POST", lambda c: "/api/v1/tickets", "member",
             lambda c: {"title": "Tulostin", "body": "Tulostin ei toimi.", "channel": "api"},
             api=True),
    Endpoint("api:list_customers", "GET", lambda c: "/api/v1/customers?q=Ma", "member",
             api=True),
    Endpoint("api:add_customer", "POST", lambda c: "/api/v1/customers", "member",
             lambda c: {"name": "Uusi Asiakas", "emails": ["uusi@example.fi"]}, api=True),
    Endpoint("api:list_teams", "GET", lambda c: "/api/v1/teams", "member", api=True),
    Endpoint("api:list_categories", "GET", lambda c: "/api/v1/categories", "member", api=True),
    Endpoint("api:list_types", "GET", lambda c: "/api/v1/types", "member", api=True),
    Endpoint("api:read_customer", "GET", lambda c: f"/api/v1/customers/{c.customer.pk}",
             "org", api=True),
    Endpoint("api:read_ticket", "GET", lambda c: f"/api/v1/tickets/{_t(c)}", "ticket",
             api=True),
    Endpoint("api:update_ticket", "PATCH", lambda c: f"/api/v1/tickets/{_t(c)}", "ticket",
             lambda c: {"title": "Uusi otsikko", "version": c.ticket.version}, api=True),
    Endpoint("api:change_status", "POST", lambda c: f"/api/v1/tickets/{_t(c)}/status",
             "ticket", lambda c: {"status": "open", "version": c.ticket.version}, api=True),
    Endpoint("api:link_tickets", "POST", lambda c: f"/api/v1/tickets/{_t(c)}/links", "ticket",
             lambda c: {"kind": "related", "ticket": c.other.number}, api=True),
    Endpoint("api:merge_tickets", "POST", lambda c: f"/api/v1/tickets/{_t(c)}/merge", "ticket",
             lambda c: {"into": c.other.number}, api=True),
    Endpoint("api:list_messages", "GET", lambda c: f"/api/v1/tickets/{_t(c)}/messages",
             "ticket", api=True),
    Endpoint("api:add_message", "POST", lambda c: f"/api/v1/tickets/{_t(c)}/messages",
             "ticket", lambda c: {"kind": "note", "body": "Muistiinpano"}, api=True),
    Endpoint("api:add_message_with_files", "POST",
             lambda c: f"/api/v1/tickets/{_t(c)}/messages/upload", "ticket",
             lambda c: {"kind": "note", "body": "Liite",
                        "files": SimpleUploadedFile("a.txt", b"hei", "text/plain")},
             api=True, multipart=True),
    Endpoint("api:attachment_download", "GET",
             lambda c: f"/api/v1/attachments/{c.attachment.pk}", "ticket", api=True),
    # --- Open311 (an api_key, not a login, opens requests) ---
    Endpoint("open311:discovery", "GET", lambda c: O311 + "discovery.xml", "public"),
    Endpoint("open311:services", "GET", lambda c: O311 + "services.json?jurisdiction_id=tre"
             if _o311(c) else "", "public"),
    Endpoint("open311:service", "GET", lambda c: O311 + "services/katuvalo.xml?"
             "jurisdiction_id=tre" if _o311(c) else "", "public"),
    Endpoint("open311:requests", "GET", lambda c: O311 + "requests.json?jurisdiction_id=tre"
             if _o311(c) else "", "public"),
    Endpoint("open311:requests:post", "POST", lambda c: O311 + "requests.json", "public",
             lambda c: {"api_key": _o311(c)["key"], "service_code": "katuvalo",
                        "address_string": "Tori", "description": "Penkki rikki"}),
    Endpoint("open311:request", "GET", lambda c: O311 + f"requests/{_o311(c)['number']}.json"
             "?jurisdiction_id=tre&extensions=true", "public"),
    Endpoint("open311:token", "GET", lambda c: O311 + f"tokens/{_o311(c)['token']}.json",
             "public"),
    Endpoint("open311:media", "GET", lambda c: O311 + f"media/{_o311(c)['media']}", "public"),
]


def allowed(role: str, endpoint: Endpoint) -> bool:
    if endpoint.access == "public":
        return True
    if role == "anonymous":
        return False
    if endpoint.access == "member":
        return True
    if endpoint.access == "org":
        return role != "other_agent"
    if endpoint.access == "owner":
        return role == "lead"
    return role in SEES_IT


@pytest.fixture
def ctx(world) -> Ctx:
    customer_identity = CustomerIdentity(name="Matti Asiakas", email="matti@example.fi")
    ticket = receive(Intake(organisation=world.org, channel="email", subject="Tulostin",
                            body="Tulostin ei tulosta.", team=world.it_desk,
                            customer=customer_identity)).ticket
    other = receive(Intake(organisation=world.org, channel="email", subject="Tulostin 2",
                           body="Sama tulostin.", team=world.it_desk,
                           customer=customer_identity)).ticket
    message = A.add_message(actor=world.lead, ticket=ticket, kind="note", body="Liite",
                            attachments=[AttachmentInput("loki.txt", b"virhe", "text/plain")])
    token, _raw = create_api_token(actor=None, user=world.lead, name="lead")
    ticket.refresh_from_db()
    Service.objects.create(organisation=world.org, code="katuvalo", name_fi="Katuvalo")
    name, digest = store_raw(b"Subject: Tulostin\n\nTulostin ei tulosta.\n")
    inbound = InboundEmail.objects.create(
        organisation=world.org, msgid="<perm@example.fi>", raw=name, sha256=digest, size=40,
        status="processed", outcome="created", ticket=ticket, message=ticket.messages.first())
    return Ctx(world, ticket, other, message.attachments.get(), ticket.customer, token,
               inbound)


def snapshot(c: Ctx) -> tuple[Any, ...]:
    rows = tuple(
        Ticket.objects.filter(pk__in=[c.ticket.pk, c.other.pk]).order_by("pk").values_list(
            "status", "version", "assignee_id", "team_id", "merged_into_id", "title",
            "priority"))
    counts = tuple(model.objects.count() for model in (
        Ticket, Message, HistoryEntry, OutboxEvent, TicketLink, Attachment, Customer,
        ApiToken, IdempotencyRecord))
    revoked = ApiToken.objects.filter(revoked_at__isnull=False).count()
    return rows, counts, revoked


def client_for(role: str, c: Ctx, endpoint: Endpoint) -> tuple[Client, dict[str, str]]:
    client = Client()
    if role == "anonymous":
        return client, {}
    user = getattr(c.world, role)
    if endpoint.api:
        _token, raw = create_api_token(actor=None, user=user, name=f"matrix-{role}")
        return client, {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    client.force_login(user)
    return client, {}


def call(client: Client, endpoint: Endpoint, c: Ctx, headers: dict[str, str]) -> Any:
    path = endpoint.path(c)
    data = endpoint.data(c) if endpoint.data else None
    if endpoint.method == "GET":
        return client.get(path, **headers)
    if endpoint.api and not endpoint.multipart:
        return client.generic(endpoint.method, path, json.dumps(data or {}),
                              content_type="application/json", **headers)
    return client.post(path, data or {}, **headers)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method}-{e.key}")
@pytest.mark.parametrize("role", ROLES)
def test_role_against_endpoint(role: str, endpoint: Endpoint, ctx: Ctx) -> None:
    client, headers = client_for(role, ctx, endpoint)
    before = snapshot(ctx)
    response = call(client, endpoint, ctx, headers)
    if allowed(role, endpoint):
        assert response.status_code < 400, (response.status_code, response.content[:300])
        return
    if role == "anonymous":
        if endpoint.api:
            assert response.status_code == 401
            assert response.json()["code"] == "unauthorized"
        else:
            assert response.status_code == 302 and "/login/" in response["Location"]
    else:
        assert response.status_code == 404, response.content[:300]
        if endpoint.api:
            assert response.json()["code"]
        assert ctx.ticket.number.encode() not in response.content
    assert snapshot(ctx) == before


def test_every_url_is_in_the_matrix() -> None:
    listed = {e.key.split(":post")[0] for e in ENDPOINTS}
    missing = []

    def walk(patterns: Any, namespace: str = "") -> None:
        for p in patterns:
            if hasattr(p, "url_patterns"):
                ns = p.namespace or namespace
                if ns == "admin":
                    continue  # the admin has its own tests (test_admin.py)
                walk(p.url_patterns, ns)
            elif p.name and f"{namespace}:{p.name}" not in listed:
                missing.append(f"{namespace}:{p.name}")

    walk(get_resolver().url_patterns)
    assert not missing, f"add these URLs to the permission matrix: {missing}"


@pytest.mark.parametrize("role", ["agent", "outsider"])
def test_quoting_an_invisible_ticket_number_writes_nothing_into_it(role: str, ctx: Ctx) -> None:
    """Creating a ticket whose title names a ticket the caller cannot see (API and desk)
    opens a new ticket; the invisible one is untouched."""
    user = getattr(ctx.world, role)
    before = snapshot(ctx)[0]
    _token, raw = create_api_token(actor=None, user=user, name="quote")
    api = Client()
    response = api.post("/api/v1/tickets", json.dumps({
        "title": f"Re: {ctx.ticket.number}", "body": "Lisätietoa",
        "customer": {"email": "matti@example.fi"}, "channel": "api"}),
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 201 and response.json()["number"] != ctx.ticket.number
    desk = Client()
    desk.force_login(user)
    response = desk.post("/tickets/new/", {
        "channel": "walk_in", "customer_email": "matti@example.fi",
        "title": f"Re: {ctx.ticket.number}", "body": "Asiakas kävi", "language": "fi",
        "impact": "medium", "urgency": "medium"})
    assert response.status_code == 302
    assert snapshot(ctx)[0] == before
    assert Message.objects.filter(ticket=ctx.ticket).count() == 2  # inbound + the lead's note


@pytest.mark.parametrize("how", ["desk-link", "desk-merge", "api-link", "api-merge"])
def test_link_or_merge_with_an_invisible_ticket_changes_nothing(how: str, ctx: Ctx) -> None:
    """The agent's own ticket is visible, the IT ticket is not: linking or merging the two
    must fail without a trace, and without telling that the IT ticket exists."""
    agent = ctx.world.agent
    own = receive(Intake(organisation=ctx.world.org, channel="phone", subject="Oma asia",
                         body="Asiakas soitti.", actor=agent)).ticket
    before = snapshot(ctx)
    own_before = Ticket.objects.filter(pk=own.pk).values_list("version", "merged_into_id",
                                                              "parent_id").get()
    if how.startswith("desk"):
        client = Client()
        client.force_login(agent)
        kind = how.split("-")[1]
        data = ({"kind": "related", "number": ctx.ticket.number} if kind == "link"
                else {"number": ctx.ticket.number, "confirm": "on"})
        response = client.post(f"/tickets/{own.pk}/{kind}/", data)
        assert response.status_code == 422
    else:
        _token, raw = create_api_token(actor=None, user=agent, name="links")
        client = Client()
        body = ({"kind": "related", "ticket": ctx.ticket.number} if how == "api-link"
                else {"into": ctx.ticket.number})
        endpoint = "links" if how == "api-link" else "merge"
        response = client.post(f"/api/v1/tickets/{own.pk}/{endpoint}",
                               json.dumps(body), content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == 404
    assert ctx.ticket.title.encode() not in response.content
    assert snapshot(ctx)[0] == before[0] and snapshot(ctx)[1][4] == before[1][4]  # links
    assert Ticket.objects.filter(pk=own.pk).values_list(
        "version", "merged_into_id", "parent_id").get() == own_before
