"""The agent workspace through Django's test client: every page, every form, errors."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kapula.core.models import ApiToken, Customer
from kapula.tickets import actions as A
from kapula.tickets import config
from kapula.tickets.models import (
    Attachment,
    CustomField,
    HistoryEntry,
    Message,
    MessageKind,
    Status,
    Ticket,
    TicketLink,
)
from tests.conftest import PASSWORD
from tests.desk.conftest import logged_in, make_ticket

pytestmark = pytest.mark.django_db


# --- login, logout, language -------------------------------------------------------------


def test_root_redirects_to_login_then_queue(world, client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("desk:login"))
    response = client.post(reverse("desk:login"), {"username": "agent", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:queue")
    assert client.get("/").status_code == 200


def test_login_page_and_bad_password(world, client):
    page = client.get(reverse("desk:login"))
    assert page.status_code == 200
    assert b'<html lang="' in page.content
    response = client.post(reverse("desk:login"), {"username": "agent", "password": "wrong"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_login_redirects_to_safe_next_only(world, client):
    response = client.post(reverse("desk:login") + "?next=/search/",
                           {"username": "agent", "password": PASSWORD, "next": "/search/"})
    assert response["Location"] == "/search/"
    client.logout()
    response = client.post(reverse("desk:login"), {"username": "agent", "password": PASSWORD,
                                                   "next": "https://evil.example/"})
    assert response["Location"] == reverse("desk:queue")


def test_login_rate_limit(world, client, settings):
    settings.KAPULA_LOGIN_RATE = "3/60"
    for _ in range(3):
        client.post(reverse("desk:login"), {"username": "agent", "password": "wrong"})
    response = client.post(reverse("desk:login"), {"username": "agent", "password": PASSWORD},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429
    assert b"Too many login attempts" in response.content
    assert "_auth_user_id" not in client.session
    # another user from the same address is not blocked
    other = client.post(reverse("desk:login"), {"username": "lead", "password": PASSWORD})
    assert other.status_code == 302


def test_login_applies_user_language(world, client):
    world.agent.language = "sv"
    world.agent.save()
    response = client.post(reverse("desk:login"), {"username": "agent", "password": PASSWORD})
    assert response.cookies["django_language"].value == "sv"
    page = client.get(reverse("desk:queue"))
    assert b'<html lang="sv"' in page.content


def test_language_switch_stores_user_language(world):
    client = logged_in(world.agent)
    response = client.post(reverse("desk:set_language"), {"language": "en", "next": "/search/"})
    assert response.status_code == 302
    assert response["Location"] == "/search/"
    world.agent.refresh_from_db()
    assert world.agent.language == "en"
    assert b'<html lang="en"' in client.get("/search/").content


def test_language_switch_anonymous(world, client):
    response = client.post(reverse("desk:set_language"), {"language": "sv", "next": "/login/"})
    assert response.status_code == 302
    assert b'<html lang="sv"' in client.get("/login/").content


def test_logout_is_post_only(world):
    client = logged_in(world.agent)
    assert client.get(reverse("desk:logout")).status_code == 405
    response = client.post(reverse("desk:logout"))
    assert response.status_code == 302
    assert client.get(reverse("desk:queue")).status_code == 302


def test_csrf_is_enforced(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.login(username="agent", password=PASSWORD)
    ticket = make_ticket(world)
    response = client.post(reverse("desk:reply", args=[ticket.pk]),
                           {"kind": "note", "body": "x", "version": ticket.version})
    assert response.status_code == 403


# --- queue -----------------------------------------------------------------------------------


def test_queue_views_and_counts(world):
    mine = make_ticket(world, "Minun", assignee=world.agent)
    free = make_ticket(world, "Vapaa", email="b@example.fi")
    hidden = make_ticket(world, "IT-juttu", team=world.it_desk, email="c@example.fi")
    client = logged_in(world.agent)
    page = client.get(reverse("desk:queue"))
    assert page.status_code == 200
    assert mine.number.encode() in page.content
    assert free.number.encode() not in page.content
    page = client.get(reverse("desk:queue") + "?view=unassigned")
    assert free.number.encode() in page.content
    assert mine.number.encode() not in page.content
    page = client.get(reverse("desk:queue") + f"?view=team&team={world.service_point.pk}")
    assert free.number.encode() in page.content and mine.number.encode() in page.content
    assert hidden.number.encode() not in page.content
    # a team the agent cannot see falls back to one it can
    page = client.get(reverse("desk:queue") + f"?view=team&team={world.it_desk.pk}")
    assert hidden.number.encode() not in page.content
    # "all" is for org admins only
    page = client.get(reverse("desk:queue") + "?view=all")
    assert hidden.number.encode() not in page.content
    admin = logged_in(world.org_admin)
    page = admin.get(reverse("desk:queue") + "?view=all")
    assert hidden.number.encode() in page.content


def test_queue_filters_sorting_and_bad_input(world):
    a = make_ticket(world, "Kysymys", ticket_type=world.question, email="a@example.fi")
    b = make_ticket(world, "Häiriö", ticket_type=world.incident, email="b@example.fi",
                    impact="high", urgency="high")
    client = logged_in(world.agent)
    url = reverse("desk:queue") + f"?view=team&team={world.service_point.pk}"
    page = client.get(url + f"&type={world.question.pk}")
    assert a.number.encode() in page.content and b.number.encode() not in page.content
    page = client.get(url + "&priority=1")
    assert b.number.encode() in page.content and a.number.encode() not in page.content
    page = client.get(url + "&sort=priority")
    assert page.content.index(b.number.encode()) < page.content.index(a.number.encode())
    page = client.get(url + "&assignee=none&status=new&channel=email&language=fi")
    assert page.status_code == 200
    for junk in ("&sort=nope", "&cursor=%%%", "&type=abc", "&created_from=2026-13-45",
                 "&assignee=xyz", "&view=bogus", "&team=abc"):
        assert client.get(url + junk).status_code == 200, junk


def test_queue_keyset_pagination(world):
    tickets = [make_ticket(world, f"Asia {i}", email=f"p{i}@example.fi") for i in range(53)]
    client = logged_in(world.agent)
    url = reverse("desk:queue") + f"?view=team&team={world.service_point.pk}"
    first = client.get(url)
    next_url = first.context["next_url"]
    assert next_url
    second = client.get(reverse("desk:queue") + next_url)
    seen = {t.pk for t in first.context["page"].items} | {t.pk for t in
                                                          second.context["page"].items}
    assert seen == {t.pk for t in tickets}
    assert second.context["next_url"] == ""


def test_queue_query_count_is_fixed(world, django_assert_max_num_queries):
    for i in range(30):
        make_ticket(world, f"Asia {i}", email=f"q{i}@example.fi", assignee=world.agent)
    client = logged_in(world.agent)
    url = reverse("desk:queue") + f"?view=team&team={world.service_point.pk}"
    client.get(url)
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert len(response.context["page"].items) == 30
    with django_assert_max_num_queries(12):
        client.get(reverse("desk:queue"))


# --- ticket page -------------------------------------------------------------------------


def test_ticket_page_shows_conversation_in_order(world):
    ticket = make_ticket(world)
    A.add_message(actor=world.agent, ticket=ticket, kind=MessageKind.REPLY, body="Vastaus 1")
    A.add_message(actor=world.agent, ticket=ticket, kind=MessageKind.NOTE, body="Muistio 2")
    client = logged_in(world.agent)
    page = client.get(reverse("desk:ticket", args=[ticket.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert body.index("Katuvalo on rikki") < body.index("Vastaus 1") < body.index("Muistio 2")
    assert "msg-note" in body and "msg-reply" in body and "msg-inbound" in body
    assert "Aino Asiakas" in body and "asiakas@example.fi" in body


def test_ticket_page_hidden_is_404(world):
    ticket = make_ticket(world, team=world.it_desk)
    assert logged_in(world.agent).get(reverse("desk:ticket", args=[ticket.pk])).status_code == 404
    assert logged_in(world.other_agent).get(
        reverse("desk:ticket", args=[ticket.pk])).status_code == 404
    assert logged_in(world.lead).get(reverse("desk:ticket", args=[ticket.pk])).status_code == 200
    before = Message.objects.count()
    response = logged_in(world.agent).post(reverse("desk:reply", args=[ticket.pk]),
                                           {"kind": "reply", "body": "x", "version": 1})
    assert response.status_code == 404
    assert Message.objects.count() == before


def test_ticket_page_query_count_is_fixed(world, django_assert_max_num_queries):
    ticket = make_ticket(world)
    for i in range(20):
        A.add_message(actor=world.agent, ticket=ticket,
                      kind=MessageKind.NOTE if i % 2 else MessageKind.REPLY, body=f"Viesti {i}",
                      attachments=[A.att.AttachmentInput(f"f{i}.txt", b"hello", "text/plain")])
    client = logged_in(world.agent)
    url = reverse("desk:ticket", args=[ticket.pk])
    client.get(url)
    # 18 for the ticket and its conversation, one for the service-level clocks and one for
    # the escalations and supplier engagements; the triage box is cached (none once warm)
    with django_assert_max_num_queries(20):
        response = client.get(url)
    assert len(response.context["conversation"]) == 21


def test_reply_and_note_plain_post(world):
    ticket = make_ticket(world)
    client = logged_in(world.agent)
    url = reverse("desk:reply", args=[ticket.pk])
    response = client.post(url, {"kind": "reply", "body": "Korjataan huomenna.",
                                 "version": ticket.version,
                                 "attachments": SimpleUploadedFile("ohje.txt", b"ohje",
                                                                   "text/plain")})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    reply = ticket.messages.get(kind=MessageKind.REPLY)
    assert reply.body_text == "Korjataan huomenna."
    assert reply.attachments.get().filename == "ohje.txt"
    response = client.post(url, {"kind": "note", "body": "Sisäinen", "version": ticket.version})
    assert response.status_code == 302
    assert ticket.messages.filter(kind=MessageKind.NOTE).count() == 1


def test_reply_with_htmx_gets_page_fragment(world):
    ticket = make_ticket(world)
    client = logged_in(world.agent)
    response = client.post(reverse("desk:reply", args=[ticket.pk]),
                           {"kind": "note", "body": "htmx-muistio", "version": ticket.version},
                           HTTP_HX_REQUEST="true", follow=True)
    assert response.status_code == 200
    assert b'id="ticket-main"' in response.content
    assert b"htmx-muistio" in response.content


def test_stale_reply_keeps_text(world):
    ticket = make_ticket(world)
    old_version = ticket.version
    A.add_message(actor=world.lead, ticket=ticket, kind=MessageKind.NOTE, body="välissä") \
        if False else A.add_message(actor=world.agent, ticket=ticket, kind=MessageKind.NOTE,
                                    body="välissä")
    client = logged_in(world.agent)
    response = client.post(reverse("desk:reply", args=[ticket.pk]),
                           {"kind": "reply", "body": "Tärkeä vastaus jota ei saa hukata",
                            "version": old_version}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409
    assert "Tärkeä vastaus jota ei saa hukata" in response.content.decode()
    assert b"changed by someone else" in response.content
    assert not ticket.messages.filter(kind=MessageKind.REPLY).exists()
    # the re-rendered form carries the current version: sending again works
    form = response.context["reply_form"]
    ticket.refresh_from_db()
    assert form["version"].value() == str(ticket.version)


def test_empty_and_forbidden_attachment_are_form_errors(world):
    ticket = make_ticket(world)
    client = logged_in(world.agent)
    url = reverse("desk:reply", args=[ticket.pk])
    response = client.post(url, {"kind": "reply", "body": "", "version": ticket.version})
    assert response.status_code == 422
    response = client.post(url, {"kind": "reply", "body": "katso liite",
                                 "version": ticket.version,
                                 "attachments": SimpleUploadedFile("virus.exe", b"MZ",
                                                                   "application/octet-stream")},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert b"cannot be attached" in response.content
    assert b"katso liite" in response.content
    assert ticket.messages.count() == 1


def test_update_properties(world):
    ticket = make_ticket(world)
    cf = CustomField.objects.create(organisation=world.org, key="pole", kind="integer",
                                    name_fi="Pylväs")
    config.invalidate(world.org.pk)  # as the admin does after a configuration change
    client = logged_in(world.agent)
    page = client.get(reverse("desk:ticket", args=[ticket.pk]))
    statuses = [c[0] for c in page.context["properties_form"].fields["status"].choices]
    assert statuses == [ticket.status, *A.allowed_transitions(ticket.status)]
    response = client.post(reverse("desk:update", args=[ticket.pk]), {
        "status": "open", "impact": "high", "urgency": "high", "team": world.service_point.pk,
        "assignee": world.agent.pk, "ticket_type": world.incident.pk,
        "category": world.category.pk, "tags": "valot, keskusta", "address": "Hämeenkatu 1",
        "cf_pole": "42", "version": ticket.version})
    assert response.status_code == 302, response.content
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee, ticket.ticket_type,
            ticket.category, ticket.address) == (
        "open", 1, world.agent, world.incident, world.category, "Hämeenkatu 1")
    assert sorted(t.name for t in ticket.tags.all()) == ["keskusta", "valot"]
    assert ticket.field_values.get(field=cf).value_integer == 42
    assert HistoryEntry.objects.filter(ticket=ticket, field="status").exists()


def test_update_errors_keep_input(world):
    ticket = make_ticket(world)
    client = logged_in(world.agent)
    data = {"status": "open", "impact": "low", "urgency": "low",
            "team": world.service_point.pk, "assignee": world.lead.pk,  # not in the team
            "tags": "yksi", "version": ticket.version}
    response = client.post(reverse("desk:update", args=[ticket.pk]), data,
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code in (400, 422)
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW and ticket.impact == "medium"
    # an unoffered status is refused by the form
    data = {**data, "assignee": "", "status": "closed", "version": ticket.version}
    A.change_status(actor=world.agent, ticket=ticket, status="open")
    ticket.refresh_from_db()
    response = client.post(reverse("desk:update", args=[ticket.pk]),
                           {**data, "version": ticket.version})
    assert response.status_code == 422
    # a stale version: 409, the typed values stay in the form
    response = client.post(reverse("desk:update", args=[ticket.pk]),
                           {**data, "status": "resolved", "tags": "säilyy",
                            "version": ticket.version - 1}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409
    assert b"s\xc3\xa4ilyy" in response.content
    assert b"changed by someone else" in response.content
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_link_and_merge(world):
    a = make_ticket(world, "A", email="a@example.fi")
    b = make_ticket(world, "B", email="b@example.fi")
    c = make_ticket(world, "C", email="c@example.fi")
    hidden = make_ticket(world, "H", team=world.it_desk, email="h@example.fi")
    client = logged_in(world.agent)
    response = client.post(reverse("desk:link", args=[a.pk]),
                           {"kind": "related", "number": b.number.lower()})
    assert response.status_code == 302
    assert TicketLink.objects.filter(source=a, target=b).exists()
    response = client.post(reverse("desk:link", args=[a.pk]),
                           {"kind": "related", "number": b.number})
    assert response.status_code == 422  # already linked
    response = client.post(reverse("desk:link", args=[a.pk]),
                           {"kind": "parent", "number": hidden.number})
    assert response.status_code == 422
    response = client.post(reverse("desk:link", args=[a.pk]),
                           {"kind": "child", "number": c.number})
    assert response.status_code == 302
    c.refresh_from_db()
    assert c.parent_id == a.pk
    page = client.get(reverse("desk:ticket", args=[a.pk]))
    assert b.number.encode() in page.content and c.number.encode() in page.content
    # merge needs confirmation
    response = client.post(reverse("desk:merge", args=[b.pk]), {"number": c.number})
    assert response.status_code == 422
    response = client.post(reverse("desk:merge", args=[b.pk]),
                           {"number": c.number, "confirm": "on"})
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:ticket", args=[c.pk])
    b.refresh_from_db()
    assert b.merged_into_id == c.pk and b.status == Status.CLOSED
    response = client.post(reverse("desk:merge", args=[b.pk]),
                           {"number": a.number, "confirm": "on"})
    assert response.status_code == 409 or response.status_code == 422


# --- attachments ----------------------------------------------------------------------------


def test_attachment_download_and_permissions(world):
    ticket = make_ticket(world, attachments=[A.att.AttachmentInput("kuva.png", b"\x89PNG...",
                                                                   "image/png")])
    attachment = Attachment.objects.get(ticket=ticket)
    url = reverse("desk:attachment", args=[attachment.pk])
    response = logged_in(world.agent).get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"\x89PNG..."
    assert logged_in(world.lead).get(url).status_code == 404
    assert logged_in(world.other_agent).get(url).status_code == 404
    assert logged_in(world.agent).get(reverse("desk:attachment", args=[99999])).status_code == 404


# --- new ticket ---------------------------------------------------------------------------


def test_new_walk_in_ticket_with_new_customer(world):
    client = logged_in(world.agent)
    assert client.get(reverse("desk:new_ticket")).status_code == 200
    response = client.post(reverse("desk:new_ticket"), {
        "channel": "walk_in", "customer_name": "Ville Vierailija",
        "customer_phone": "040 123 4567", "body": "Kysyi uimahallin aukioloista.",
        "impact": "medium", "urgency": "medium", "assign_to_me": "on", "resolved": "on",
        "team": world.service_point.pk,
    })
    assert response.status_code == 302
    ticket = Ticket.objects.get(customer__name="Ville Vierailija")
    assert response["Location"] == reverse("desk:ticket", args=[ticket.pk])
    assert ticket.channel == "walk_in"
    assert ticket.status == Status.RESOLVED and ticket.first_contact_resolution
    assert ticket.assignee == world.agent and ticket.created_by == world.agent
    assert ticket.customer.phones == ["040 123 4567"]


def test_new_ticket_for_existing_customer(world):
    existing = make_ticket(world).customer
    client = logged_in(world.agent)
    response = client.post(reverse("desk:new_ticket"), {
        "channel": "phone", "customer_id": existing.pk, "title": "Puhelu",
        "body": "Soitti katuvalosta uudelleen.", "impact": "low", "urgency": "low"})
    assert response.status_code == 302
    ticket = Ticket.objects.get(title="Puhelu")
    assert ticket.customer == existing and ticket.channel == "phone"
    assert ticket.status == Status.NEW and ticket.assignee is None
    assert Customer.objects.count() == 1


def test_new_ticket_errors(world):
    client = logged_in(world.agent)
    before = Ticket.objects.count()
    response = client.post(reverse("desk:new_ticket"), {
        "channel": "email", "body": "", "impact": "medium", "urgency": "medium"})
    assert response.status_code == 422
    response = client.post(reverse("desk:new_ticket"), {
        "channel": "walk_in", "body": "x", "customer_email": "not-an-email",
        "impact": "medium", "urgency": "medium"})
    assert response.status_code == 422
    response = client.post(reverse("desk:new_ticket"), {
        "channel": "walk_in", "body": "Hei", "impact": "medium", "urgency": "medium",
        "customer_id": 999999}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422 or response.status_code == 400
    assert Ticket.objects.count() == before


def test_customer_search(world):
    make_ticket(world, email="maija.meikalainen@example.fi")
    Customer.objects.update(name="Maija Meikäläinen")
    make_ticket(world, team=None, email="outo@example.fi", subject="x")
    client = logged_in(world.agent)
    url = reverse("desk:customer_search")
    fragment = client.get(url, {"customer_q": "maija"}, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert b"Maija Meik" in fragment.content and b"<html" not in fragment.content
    fragment = client.get(url, {"customer_q": "MAIJA.meikalainen@example.fi"},
                          HTTP_HX_REQUEST="true")
    assert b"Maija Meik" in fragment.content
    # without htmx: the new-ticket page with the results
    response = client.get(url, {"customer_q": "maija"}, follow=True)
    assert b"Maija Meik" in response.content and b"<html" in response.content
    # other organisations' customers are never found
    other = logged_in(world.other_agent)
    assert b"Maija" not in other.get(url, {"customer_q": "maija"},
                                      HTTP_HX_REQUEST="true").content


# --- search -------------------------------------------------------------------------------


def test_search_page(world):
    ticket = make_ticket(world, "Lumityöt", "Lumityöt tekemättä Hervannassa")
    client = logged_in(world.agent)
    assert client.get(reverse("desk:search")).status_code == 200
    response = client.get(reverse("desk:search"), {"q": ticket.number})
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:ticket", args=[ticket.pk])
    page = client.get(reverse("desk:search"), {"q": "lumityöt"}, HTTP_ACCEPT_LANGUAGE="en")
    assert ticket.number.encode() in page.content
    assert b"last 6 months" in page.content
    assert b"widen=1" in page.content
    widened = client.get(reverse("desk:search"), {"q": "lumityöt", "widen": "1"},
                         HTTP_ACCEPT_LANGUAGE="en")
    assert b"of any age" in widened.content
    page = client.get(reverse("desk:search"), {"q": "asiakas@example.fi"})
    assert ticket.number.encode() in page.content
    assert client.get(reverse("desk:search"), {"q": "x" * 500}).status_code == 200


def test_search_query_count(world, django_assert_max_num_queries):
    for i in range(10):
        make_ticket(world, "Lumityöt", f"Lumityöt {i}", email=f"s{i}@example.fi")
    client = logged_in(world.agent)
    client.get(reverse("desk:search"), {"q": "lumityöt"})
    with django_assert_max_num_queries(10):
        page = client.get(reverse("desk:search"), {"q": "lumityöt"})
    assert len(page.context["result"].tickets) == 10


# --- API tokens -------------------------------------------------------------------------------


def test_tokens_create_show_once_and_revoke(world):
    client = logged_in(world.agent)
    assert client.get(reverse("desk:tokens")).status_code == 200
    response = client.post(reverse("desk:tokens"), {"name": "Integraatio"})
    assert response.status_code == 200
    raw = response.context["raw"]
    assert raw.startswith("kpl_") and raw.encode() in response.content
    token = ApiToken.objects.get(user=world.agent)
    assert raw.encode() not in client.get(reverse("desk:tokens")).content
    # someone else cannot revoke it
    other = logged_in(world.lead)
    assert other.post(reverse("desk:revoke_token", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    response = client.post(reverse("desk:revoke_token", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.post(reverse("desk:tokens"), {"name": ""}).status_code == 422


# --- pages in every language, CSP, anonymous access ----------------------------------------


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_pages_render_in_each_language(world, lang):
    ticket = make_ticket(world)
    client = logged_in(world.agent)
    for url in (reverse("desk:queue"), reverse("desk:ticket", args=[ticket.pk]),
                reverse("desk:new_ticket"), reverse("desk:search") + "?q=katuvalo",
                reverse("desk:tokens")):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE=lang)
        assert page.status_code == 200, url
        assert f'<html lang="{lang}"'.encode() in page.content
        assert b"<title>" in page.content
        assert b'href="#main"' in page.content
        assert b"style=" not in page.content  # CSP: no inline styles
        assert b" onclick=" not in page.content
        csp = page["Content-Security-Policy"]
        assert "script-src 'self' 'nonce-" in csp


def test_anonymous_gets_login_everywhere(world, client):
    ticket = make_ticket(world)
    for url in (reverse("desk:queue"), reverse("desk:ticket", args=[ticket.pk]),
                reverse("desk:new_ticket"), reverse("desk:search"), reverse("desk:tokens"),
                reverse("desk:customer_search")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("desk:login"))
    response = client.post(reverse("desk:reply", args=[ticket.pk]), {"body": "x"})
    assert response.status_code == 302
    assert Message.objects.filter(ticket=ticket).count() == 1


def test_user_without_organisation_sees_empty_pages(world, db):
    from tests.conftest import make_user

    make_user("lonely", None)
    ticket = make_ticket(world)
    client = logged_in(type("U", (), {"username": "lonely"})())
    assert client.get(reverse("desk:queue")).status_code == 200
    assert client.get(reverse("desk:search"), {"q": "katuvalo"}).status_code == 200
    assert client.get(reverse("desk:ticket", args=[ticket.pk])).status_code == 404
    assert client.get(reverse("desk:new_ticket")).status_code == 404
    assert client.get(reverse("desk:tokens")).status_code == 200


def test_history_is_readable(world):
    ticket = make_ticket(world)
    A.change_status(actor=world.agent, ticket=ticket, status="open")
    page = logged_in(world.agent).get(reverse("desk:ticket", args=[ticket.pk]),
                                      HTTP_ACCEPT_LANGUAGE="en")
    history = page.content.decode().split('class="history"')[1]
    assert "<strong>status</strong>: New → Open" in history


def test_typed_custom_field_inputs(world):
    ticket = make_ticket(world)
    for key, kind in (("seen", "boolean"), ("day", "date"), ("cost", "decimal"),
                      ("size", "choice")):
        CustomField.objects.create(organisation=world.org, key=key, kind=kind, name_fi=key,
                                   choices=["S", "M"] if kind == "choice" else [])
    config.invalidate(world.org.pk)
    client = logged_in(world.agent)
    page = client.get(reverse("desk:ticket", args=[ticket.pk]))
    html = page.content.decode()
    assert 'type="date" name="cf_day"' in html
    assert 'name="cf_cost"' in html and 'type="number"' in html
    base = {"status": "new", "impact": "medium", "urgency": "medium",
            "team": world.service_point.pk, "ticket_type": ticket.ticket_type_id,
            "version": ticket.version}
    response = client.post(reverse("desk:update", args=[ticket.pk]), {
        **base, "cf_seen": "true", "cf_day": "2026-05-01", "cf_cost": "12.50", "cf_size": "M"})
    assert response.status_code == 302
    values = {v.field.key: v.value for v in ticket.field_values.select_related("field")}
    assert values["seen"] is True and str(values["day"]) == "2026-05-01"
    assert values["size"] == "M" and float(values["cost"]) == 12.5
    ticket.refresh_from_db()
    response = client.post(reverse("desk:update", args=[ticket.pk]), {
        **base, "version": ticket.version, "cf_size": "XXL", "cf_day": "not a date"})
    assert response.status_code == 422
    page = client.get(reverse("desk:ticket", args=[ticket.pk]))
    assert page.context["properties_form"].initial["cf_seen"] == "true"


def test_htmx_error_response_is_swappable(world):
    ticket = make_ticket(world)
    response = logged_in(world.agent).post(
        reverse("desk:reply", args=[ticket.pk]),
        {"kind": "reply", "body": "", "version": ticket.version}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422  # htmx-config swaps 4xx form errors
    assert b'id="ticket-main"' in response.content


def test_take_assigns_to_me(world):
    ticket = make_ticket(world)
    client = logged_in(world.agent)
    response = client.post(reverse("desk:take", args=[ticket.pk]),
                           {"version": ticket.version})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == world.agent
    # a stale click changes nothing and says so
    other = make_ticket(world, email="z@example.fi")
    response = client.post(reverse("desk:take", args=[other.pk]), {"version": 99},
                           follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert b"changed by someone else" in response.content
    other.refresh_from_db()
    assert other.assignee is None
    # somebody outside the ticket's team cannot take it
    hidden = make_ticket(world, team=world.it_desk, email="y@example.fi")
    assert client.post(reverse("desk:take", args=[hidden.pk])).status_code == 404


def test_filter_form_of_one_request_never_shown_to_another(world):
    """The empty filter form is cached; a submitted one (even an invalid sort) never is."""
    first = logged_in(world.agent)
    first.get(reverse("desk:queue") + "?sort=%3Cb%3Ezzz%3C%2Fb%3E")
    other = logged_in(world.agent)
    page = other.get(reverse("desk:queue") + "?view=mine").content.decode()
    assert "zzz" not in page


def test_moving_an_assigned_ticket_to_another_team(world):
    """The lead moves their own ticket to the service point: it goes, unassigned."""
    ticket = A.create_ticket(actor=world.lead, organisation=world.org, title="Tulostin",
                             body="Tulostin ei toimi", channel="phone", team=world.it_desk,
                             assignee=world.lead)
    client = logged_in(world.lead)
    response = client.post(reverse("desk:update", args=[ticket.pk]), {
        "status": "new", "impact": "medium", "urgency": "medium",
        "team": world.service_point.pk, "assignee": world.lead.pk,
        "ticket_type": ticket.ticket_type_id or "", "category": "", "tags": "",
        "address": "", "version": ticket.version})
    assert response.status_code in (200, 302)
    ticket.refresh_from_db()
    assert ticket.team == world.service_point and ticket.assignee is None


def test_links_to_invisible_tickets_are_not_shown(world):
    mine = make_ticket(world)
    secret = A.create_ticket(actor=world.org_admin, organisation=world.org,
                             title="Salainen IT-asia", body="x", channel="phone",
                             team=world.it_desk)
    A.link(actor=world.org_admin, ticket=mine, other=secret, kind="related")
    A.link(actor=world.org_admin, ticket=mine, other=secret, kind="parent")
    page = logged_in(world.agent).get(reverse("desk:ticket", args=[mine.pk]))
    assert page.status_code == 200 and "Salainen IT-asia" not in page.content.decode()
    page = logged_in(world.org_admin).get(reverse("desk:ticket", args=[mine.pk]))
    assert "Salainen IT-asia" in page.content.decode()
