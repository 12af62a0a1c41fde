"""The knowledge base in the agents' workspace (/kb/): list, editor, language versions,
history, attachments, permissions, the ticket page's suggestions and drafts from tickets."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kapula.kb import actions as K
from kapula.kb.models import Article, ArticleAttachment, ArticleFeedback, Audience
from kapula.tickets import actions as A
from kapula.tickets.models import Status
from tests.desk.conftest import make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.KAPULA_BASE_URL = "https://asiointi.example.fi"
    cache.clear()
    yield
    cache.clear()


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def article(world, title="Tulostin ei tulosta", body="<p>Käynnistä tulostin uudelleen.</p>",
            user=None, **kw) -> Article:
    kw.setdefault("publish", True)
    return K.create_article(actor=user or world.agent, organisation=world.org,
                            language=kw.pop("language", "fi"), title=title, body_html=body, **kw)


def test_create_edit_translate_and_the_list(world):
    client = client_for(world.agent)
    assert client.get("/kb/new/").status_code == 200
    response = client.post("/kb/new/", {
        "title": "Salasanan vaihto", "body": "<p>Vaihda <b>salasana</b> portaalissa.</p>",
        "language": "fi", "audience": "public", "review_due": "2030-01-31", "publish": "on",
        "category": world.category.pk})
    assert response.status_code == 302
    a = Article.objects.get()
    assert response["Location"] == f"/kb/{a.pk}/?lang=fi"
    assert (a.audience, a.category_id, a.review_due) == ("public", world.category.pk,
                                                          dt.date(2030, 1, 31))
    page = client.get(f"/kb/{a.pk}/").content.decode()
    assert "<b>salasana</b>" in page and "Add translation" in page
    # the list: the title (shown in fi: no English version, marked), the states
    listing = client.get("/kb/").content.decode()
    assert "Salasanan vaihto" in listing and "in Finnish" in listing
    assert "missing" in listing
    # a Swedish translation: the editor shows the original to translate from
    editor = client.get(f"/kb/{a.pk}/sv/edit/").content.decode()
    assert "Translate from the original" in editor and "portaalissa" in editor
    response = client.post(f"/kb/{a.pk}/sv/edit/", {
        "title": "Byte av lösenord", "body": "<p>Byt lösenord i portalen.</p>",
        "publish": "on", "version": "0"})
    assert response.status_code == 302
    # a new version of the original: the Swedish one becomes outdated
    fi = a.translations.get(language="fi")
    response = client.post(f"/kb/{a.pk}/fi/edit/", {
        "title": fi.title, "body": "<p>Vaihda salasana portaalissa tai puhelimella.</p>",
        "publish": "on", "version": str(fi.version), "note": "puhelin"})
    assert response.status_code == 302
    page = client.get(f"/kb/{a.pk}/?lang=sv").content.decode()
    assert "Byt lösenord" in page and "outdated" in page
    assert "outdated" in client.get("/kb/").content.decode()


def test_filters_and_search(world):
    article(world, title="Tulostin jumissa")
    article(world, title="Salasanan vaihto", body="<p>Vaihda salasana.</p>",
            audience=Audience.PUBLIC, review_due=timezone.localdate() - dt.timedelta(days=1))
    article(world, title="Luonnos VPN", body="<p>VPN-yhteys.</p>", publish=False)
    old = article(world, title="Vanha ohje", body="<p>Fax.</p>")
    K.update_article(actor=world.agent, article=old, changes={"is_archived": True})
    client = client_for(world.agent)

    def titles(query: str) -> set[str]:
        html = client.get("/kb/" + query).content.decode()
        return set(re.findall(r'class="title-link"[^>]*>([^<]+)<', html))

    assert titles("") == {"Tulostin jumissa", "Salasanan vaihto", "Luonnos VPN"}
    assert titles("?archived=on") >= {"Vanha ohje"}
    assert titles("?audience=public") == {"Salasanan vaihto"}
    assert titles("?status=draft") == {"Luonnos VPN"}
    assert titles("?due=on") == {"Salasanan vaihto"}
    assert titles("?q=salasanaa") == {"Salasanan vaihto"}
    assert titles("?q=salasana&audience=internal") == set()
    assert client.get("/kb/?category=abc&page=x").status_code == 200


def test_list_query_count_is_constant(world):
    def add(start: int, stop: int) -> None:
        for i in range(start, stop):
            a = article(world, title=f"Ohje {i}", body=f"<p>Ohjeen {i} teksti.</p>")
            K.save_translation(actor=world.agent, article=a, language="sv",
                               title=f"Guide {i}", body_html="<p>Text.</p>", publish=True)

    def count(client: Client, url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    client = client_for(world.lead)
    client.get("/kb/")
    add(0, 3)
    few = (count(client, "/kb/"), count(client, "/kb/?q=ohje&status=published"))
    add(3, 20)
    many = (count(client, "/kb/"), count(client, "/kb/?q=ohje&status=published"))
    assert few == many and many[0] <= 9 and many[1] <= 11, (few, many)


def test_bad_input_is_a_form_error(world):
    client = client_for(world.agent)
    response = client.post("/kb/new/", {"title": " ", "body": "", "language": "xx",
                                        "audience": "public"})
    assert response.status_code == 422
    response = client.post("/kb/new/", {"title": "Yksiköille", "body": "<p>Teksti</p>",
                                        "language": "fi", "audience": "units"})
    assert response.status_code == 422
    assert "Choose at least one unit" in response.content.decode()
    response = client.post("/kb/new/", {"title": "Pelkkä skripti",
                                        "body": "<script>alert(1)</script>",
                                        "language": "fi", "audience": "internal"})
    assert response.status_code == 422
    assert "Write the article" in response.content.decode()
    assert not Article.objects.exists()


def test_script_in_body_is_sanitised_and_never_rendered(world):
    client = client_for(world.agent)
    response = client.post("/kb/new/", {
        "title": "Ohje", "language": "fi", "audience": "internal",
        "body": '<p onclick="steal()">Ohje<script>alert("x")</script></p>'
                '<img src=x onerror="alert(2)"><a href="javascript:alert(3)">linkki</a>'})
    assert response.status_code == 302
    a = Article.objects.get()
    for url in (f"/kb/{a.pk}/", f"/kb/{a.pk}/fi/edit/", f"/kb/{a.pk}/fi/history/1/", "/kb/"):
        page = client.get(url).content.decode()
        assert "alert(" not in page and "onerror" not in page and "onclick" not in page, url
        assert "javascript:" not in page, url


def test_conflict_keeps_the_typed_text(world):
    a = article(world)
    fi = a.translations.get()
    client = client_for(world.agent)
    # somebody else saves first
    K.save_translation(actor=world.lead, article=a, language="fi", title=fi.title,
                       body_html="<p>Kollegan versio.</p>", expected_version=fi.version)
    response = client.post(f"/kb/{a.pk}/fi/edit/", {
        "title": "Oma otsikko", "body": "<p>Minun tekstini.</p>", "version": str(fi.version)})
    assert response.status_code == 409
    page = response.content.decode()
    assert "Somebody else changed this article" in page
    assert "Minun tekstini." in page and "Oma otsikko" in page  # nothing lost
    assert "Kollegan versio." in page  # the saved version beside it
    fi.refresh_from_db()
    assert fi.version == 2 and "Kollegan" in fi.body_html
    # saving again (the form now carries the newest version) succeeds
    assert 'name="version" value="2"' in page
    response = client.post(f"/kb/{a.pk}/fi/edit/", {
        "title": "Oma otsikko", "body": "<p>Minun tekstini.</p>", "version": "2"})
    assert response.status_code == 302
    # settings conflict as well
    response = client.post(f"/kb/{a.pk}/settings/", {
        "audience": "public", "version": "1"})
    assert response.status_code == 409
    a.refresh_from_db()
    assert a.audience == Audience.INTERNAL


def test_history_and_restore(world):
    a = article(world, body="<p>Ensimmäinen versio.</p>")
    K.save_translation(actor=world.agent, article=a, language="fi", title="Tulostin ei tulosta",
                       body_html="<p>Toinen versio.</p>", note="korjaus")
    client = client_for(world.agent)
    page = client.get(f"/kb/{a.pk}/fi/history/").content.decode()
    assert "Version 2" in page and "Version 1" in page and "korjaus" in page
    assert "Agent" in page
    old = client.get(f"/kb/{a.pk}/fi/history/1/").content.decode()
    assert "Ensimmäinen versio." in old and "Restore this version" in old
    response = client.post(f"/kb/{a.pk}/fi/history/1/restore/")
    assert response.status_code == 302
    t = a.translations.get()
    assert t.version == 3 and "Ensimmäinen" in t.body_html
    assert client.get(f"/kb/{a.pk}/fi/history/9/").status_code == 404
    assert client.get(f"/kb/{a.pk}/sv/history/").status_code == 404
    assert client.get(f"/kb/{a.pk}/xx/edit/").status_code == 404


def test_settings_and_review(world):
    a = article(world)
    client = client_for(world.agent)
    response = client.post(f"/kb/{a.pk}/settings/", {
        "audience": "units", "units": [world.unit.pk], "review_due": "2031-05-01",
        "version": str(a.version), "category": world.category.pk})
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.audience == Audience.UNITS and list(a.units.all()) == [world.unit]
    assert a.category_id == world.category.pk
    response = client.post(f"/kb/{a.pk}/reviewed/", {"next_review": "2001-01-01"})
    assert response.status_code == 422
    assert "must be in the future" in response.content.decode()
    nxt = timezone.localdate() + dt.timedelta(days=100)
    response = client.post(f"/kb/{a.pk}/reviewed/", {"next_review": nxt.isoformat()})
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.review_due == nxt
    response = client.post(f"/kb/{a.pk}/settings/", {"audience": "units",
                                                      "version": str(a.version)})
    assert response.status_code == 422


def test_permissions_other_org_and_unit_audience(world):
    a = article(world)
    unit_only = article(world, title="IT:n ohje", audience=Audience.UNITS,
                        units=[world.sub_unit], user=world.lead)
    att = K.add_attachment(actor=world.lead, article=unit_only, item=A.att.AttachmentInput(
        "ohje.txt", b"salainen", "text/plain"))
    other = client_for(world.other_agent)
    for url in (f"/kb/{a.pk}/", f"/kb/{a.pk}/fi/edit/", f"/kb/{a.pk}/fi/history/",
                f"/kb/{a.pk}/fi/history/1/", f"/kb/attachments/{att.pk}/"):
        assert other.get(url).status_code == 404, url
    assert other.post(f"/kb/{a.pk}/fi/edit/", {"title": "x", "body": "<p>y</p>",
                                               "version": "1"}).status_code == 404
    assert other.post(f"/kb/{a.pk}/fi/history/1/restore/").status_code == 404
    assert "Tulostin" not in other.get("/kb/").content.decode()
    # the unit audience: the agent (Palvelut, above IT) does not see it, the lead (IT) does
    agent = client_for(world.agent)
    assert agent.get(f"/kb/{unit_only.pk}/").status_code == 404
    assert agent.get(f"/kb/attachments/{att.pk}/").status_code == 404
    assert agent.post(f"/kb/attachments/{att.pk}/remove/").status_code == 404
    assert "IT:n ohje" not in agent.get("/kb/").content.decode()
    lead = client_for(world.lead)
    assert lead.get(f"/kb/{unit_only.pk}/").status_code == 200
    assert "IT:n ohje" in lead.get("/kb/").content.decode()
    anonymous = Client()
    response = anonymous.get(f"/kb/{a.pk}/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_attachments(world):
    a = article(world)
    client = client_for(world.agent)
    response = client.post(f"/kb/{a.pk}/attachments/", {
        "file": SimpleUploadedFile("ohje.txt", b"Ohjeen liite", "text/plain")})
    assert response.status_code == 302
    att = ArticleAttachment.objects.get()
    response = client.get(f"/kb/attachments/{att.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"Ohjeen liite"  # type: ignore[attr-defined]
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    # a page a browser would run: refused
    response = client.post(f"/kb/{a.pk}/attachments/", {
        "file": SimpleUploadedFile("sivu.html", b"<html><script>x()</script></html>",
                                   "text/html")})
    assert response.status_code == 422
    assert "cannot be attached" in response.content.decode()
    response = client.post(f"/kb/{a.pk}/attachments/", {})
    assert response.status_code == 422
    assert ArticleAttachment.objects.count() == 1
    assert "ohje.txt" in client.get(f"/kb/{a.pk}/").content.decode()
    response = client.post(f"/kb/attachments/{att.pk}/remove/")
    assert response.status_code == 302
    assert not ArticleAttachment.objects.exists()


# --- the ticket page ------------------------------------------------------------------------


def test_ticket_page_has_the_panel_and_no_make_article_until_resolved(world):
    ticket = make_ticket(world, "Tulostin ei toimi", "Tulostin ei tulosta mitään.",
                         language="fi")
    client = client_for(world.agent)
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f'hx-get="/kb/suggest/ticket/{ticket.pk}/"' in page
    assert "Make an article" not in page
    assert 'href="/kb/"' in page  # the navigation


def test_suggestions_for_a_ticket(world):
    ticket = make_ticket(world, "Tulostin ei toimi", "Tulostin ei tulosta mitään.",
                         language="fi")
    best = article(world, title="Tulostin ei tulosta",
                   body="<p>Tulostin ei tulosta mitään: käynnistä tulostin uudelleen.</p>",
                   audience=Audience.PUBLIC)
    K.save_translation(actor=world.agent, article=best, language="sv", title="Skrivare",
                       body_html="<p>Starta om skrivaren.</p>", publish=True)

    def add(start: int, stop: int) -> None:
        for i in range(start, stop):
            article(world, title=f"Ohje {i}", body=f"<p>Tulostimen ohje {i}.</p>",
                    audience=Audience.PUBLIC if i % 2 else Audience.INTERNAL)

    article(world, title="Tulostinluonnos", body="<p>Tulostin ei tulosta.</p>", publish=False)
    client = client_for(world.agent)
    url = f"/kb/suggest/ticket/{ticket.pk}/"
    client.get(url, HTTP_HX_REQUEST="true")
    counts = []
    for start, stop in ((0, 3), (3, 20)):
        add(start, stop)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, HTTP_HX_REQUEST="true")
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 11, counts
    page = response.content.decode()
    assert "Tulostin ei tulosta" in page and "Tulostinluonnos" not in page
    assert "Insert excerpt" in page and "käynnistä tulostin uudelleen." in page
    assert (f'data-kb-insert="https://asiointi.example.fi/help/tre/{best.pk}/?lang=fi"'
            in page)
    assert "<html" not in page  # the htmx part only
    # a search in the panel
    with CaptureQueriesContext(connection) as searched:
        response = client.get(url + "?q=skrivare", HTTP_HX_REQUEST="true")
    assert len(searched) <= 10  # the ticket's text is not read
    assert "Tulostin ei tulosta" in response.content.decode()
    # without htmx: a whole page (the no-JS link)
    assert "<html" in client.get(url).content.decode()


def test_suggestions_for_an_invisible_ticket_are_404(world):
    it_ticket = make_ticket(world, team=world.it_desk)
    assert client_for(world.agent).get(f"/kb/suggest/ticket/{it_ticket.pk}/").status_code == 404
    assert client_for(world.other_agent).get(
        f"/kb/suggest/ticket/{it_ticket.pk}/").status_code == 404
    assert client_for(world.lead).get(f"/kb/suggest/ticket/{it_ticket.pk}/").status_code == 200


def test_the_panel_shows_articles_in_the_tickets_language(world):
    ticket = make_ticket(world, "Printer is broken", "The printer does not print.",
                         language="en")
    article(world, title="Tulostin ei tulosta", body="<p>Printer: käynnistä uudelleen.</p>")
    page = client_for(world.agent).get(f"/kb/suggest/ticket/{ticket.pk}/",
                                       HTTP_HX_REQUEST="true").content.decode()
    assert "Tulostin ei tulosta" in page and "in Finnish" in page


def test_draft_from_ticket(world):
    ticket = make_ticket(world, "Tulostin jumissa", "Tulostin ei tulosta.", language="fi")
    client = client_for(world.agent)
    response = client.post(f"/kb/from-ticket/{ticket.pk}/", follow=True)
    assert response.status_code == 200
    assert "Only a resolved ticket" in response.content.decode()
    assert not Article.objects.exists()
    A.change_status(actor=world.agent, ticket=ticket, status=Status.RESOLVED)
    ticket.refresh_from_db()
    response = client.post(f"/kb/from-ticket/{ticket.pk}/", follow=True)
    assert "no reply to the customer" in response.content.decode()
    A.change_status(actor=world.agent, ticket=ticket, status=Status.OPEN)
    A.add_message(actor=world.agent, ticket=ticket, kind="reply",
                  body="Paperi oli jumissa, poistin sen.")
    A.change_status(actor=world.agent, ticket=ticket, status=Status.RESOLVED)
    assert "Make an article" in client.get(f"/tickets/{ticket.pk}/").content.decode()
    response = client.post(f"/kb/from-ticket/{ticket.pk}/")
    a = Article.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/kb/{a.pk}/fi/edit/"
    editor = client.get(response["Location"]).content.decode()
    assert "Paperi oli jumissa" in editor
    it_ticket = make_ticket(world, team=world.it_desk)
    assert client.post(f"/kb/from-ticket/{it_ticket.pk}/").status_code == 404
    assert client.get(f"/kb/from-ticket/{ticket.pk}/").status_code == 405


def test_ticket_page_query_count_is_unchanged_by_the_panel(world,
                                                          django_assert_max_num_queries):
    ticket = make_ticket(world)
    for i in range(5):
        article(world, title=f"Katuvalo {i}", body="<p>Katuvalo on rikki.</p>")
    client = client_for(world.agent)
    url = f"/tickets/{ticket.pk}/"
    client.get(url)
    with django_assert_max_num_queries(20):
        client.get(url)


# --- admin ----------------------------------------------------------------------------------


def test_admin_lists_only_own_articles_and_feedback(world):
    own = article(world, title="Oma ohje", audience=Audience.PUBLIC)
    theirs = K.create_article(actor=world.other_agent, organisation=world.other_org,
                              language="fi", title="Oulun ohje", body_html="<p>x</p>",
                              publish=True, audience=Audience.PUBLIC)
    K.record_feedback(article_id=own.pk, organisation=world.org, language="fi",
                      helpful=True, context="web_form", comment="Kiitos")
    K.record_feedback(article_id=theirs.pk, organisation=world.other_org, language="fi",
                      helpful=False, context="web_form", comment="Oulun palaute")
    client = client_for(world.org_admin)
    page = client.get(reverse("admin:kb_article_changelist")).content.decode()
    assert "Oma ohje" in page and "Oulun ohje" not in page
    assert client.get(reverse("admin:kb_article_change", args=[theirs.pk])).status_code in (
        302, 404)
    change = client.get(reverse("admin:kb_article_change", args=[own.pk]))
    assert change.status_code == 200 and "Oma ohje" in change.content.decode()
    feedback = client.get(reverse("admin:kb_articlefeedback_changelist")).content.decode()
    assert "Kiitos" in feedback and "Oulun palaute" not in feedback
    assert ArticleFeedback.objects.count() == 2
    assert client_for(world.agent).get(
        reverse("admin:kb_article_changelist")).status_code == 302


def test_admin_settings_change_goes_through_the_action(world):
    a = article(world, title="Oma ohje")
    client = client_for(world.org_admin)
    response = client.post(reverse("admin:kb_article_change", args=[a.pk]), {
        "category": world.category.pk, "audience": "public", "review_due": "2031-01-01",
        "units": [],
        "translations-TOTAL_FORMS": "1", "translations-INITIAL_FORMS": "1",
        "translations-MIN_NUM_FORMS": "0", "translations-MAX_NUM_FORMS": "1000"})
    assert response.status_code == 302, response.content.decode()[:2000]
    a.refresh_from_db()
    assert (a.audience, a.category_id, a.version) == ("public", world.category.pk, 2)
    from kapula.core.models import OutboxEvent
    assert OutboxEvent.objects.filter(topic="kb.article_updated", aggregate_id=a.pk).exists()
    # the search index follows: the article is now found publicly
    from kapula.kb import queries
    assert [s.article.pk for s in queries.public_search(world.org.pk, "tulostin",
                                                        language="fi")] == [a.pk]
