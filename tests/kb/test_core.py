"""The knowledge base's actions, access rules, language versions and search (on both
databases: FTS5 on SQLite, tsvector on PostgreSQL)."""

from __future__ import annotations

import pytest

from kapula.core.errors import Conflict, Forbidden, ValidationFailed
from kapula.core.models import OutboxEvent
from kapula.kb import actions as K
from kapula.kb import queries as Q
from kapula.kb.access import can_see, visible_articles
from kapula.kb.models import ArticleRevision, Audience
from kapula.tickets import actions as A
from kapula.tickets.models import Status

pytestmark = pytest.mark.django_db


def article(world, title="Tulostin ei tulosta", body="<p>Käynnistä tulostin uudelleen.</p>",
            **kw):
    kw.setdefault("publish", True)
    return K.create_article(actor=world.agent, organisation=world.org, language="fi",
                            title=title, body_html=body, **kw)


def test_script_is_removed_and_text_derived(world):
    a = article(world, body='<p onclick="x()">Ohje<script>alert(1)</script></p>'
                            '<a href="javascript:alert(1)">linkki</a>')
    t = a.translations.get()
    assert "script" not in t.body_html and "onclick" not in t.body_html
    assert "javascript" not in t.body_html
    assert t.body_text.startswith("Ohje")


def test_bad_input_is_refused_and_nothing_written(world):
    with pytest.raises(ValidationFailed) as e:
        article(world, title=" ")
    assert e.value.code == "title_required"
    with pytest.raises(ValidationFailed) as e:
        article(world, body="<script>only()</script>")
    assert e.value.code == "body_required"
    with pytest.raises(ValidationFailed) as e:
        article(world, audience=Audience.UNITS)
    assert e.value.code == "units_required"
    with pytest.raises(Forbidden):
        K.create_article(actor=world.other_agent, organisation=world.org, language="fi",
                         title="x", body_html="y")
    assert not visible_articles(world.org_admin).exists()


def test_translations_versions_and_outdated_state(world):
    a = article(world)
    K.save_translation(actor=world.agent, article=a, language="sv", title="Skrivaren",
                       body_html="<p>Starta om skrivaren.</p>", publish=True)
    shown = Q.pick(a, list(a.translations.all()), "sv")
    assert shown and shown.states == {"fi": "original", "sv": "current", "en": "missing"}
    fi = a.translations.get(language="fi")
    K.save_translation(actor=world.agent, article=a, language="fi", title=fi.title,
                       body_html="<p>Sammuta ja käynnistä tulostin.</p>", note="tarkennus",
                       expected_version=fi.version)
    shown = Q.pick(a, list(a.translations.all()), "en")
    assert shown and shown.missing and shown.translation.language == "fi"
    assert shown.states["sv"] == "outdated"
    with pytest.raises(Conflict):
        K.save_translation(actor=world.agent, article=a, language="fi", title="x",
                           body_html="<p>y</p>", expected_version=1)
    assert list(ArticleRevision.objects.filter(translation=fi).values_list(
        "version", flat=True)) == [2, 1]
    # revising the translation makes it current again
    K.save_translation(actor=world.agent, article=a, language="sv", title="Skrivaren",
                       body_html="<p>Stäng av och starta skrivaren.</p>")
    assert Q.pick(a, list(a.translations.all()), "sv").states["sv"] == "current"  # type: ignore[union-attr]


def test_unit_audience(world):
    a = article(world, audience=Audience.UNITS, units=[world.sub_unit])
    assert can_see(world.lead, a)            # team in IT
    assert can_see(world.unit_admin, a)      # administers IT
    assert can_see(world.org_admin, a)
    assert not can_see(world.agent, a)       # team in Palvelut, above IT
    assert not can_see(world.other_agent, a)
    assert list(visible_articles(world.agent)) == []
    assert list(visible_articles(world.lead)) == [a]


def test_search_finds_inflected_words_and_respects_audience(world):
    article(world)
    article(world, title="Salasanan vaihto", body="<p>Vaihda salasana portaalissa.</p>",
            audience=Audience.PUBLIC)
    article(world, title="Luonnos", body="<p>Salasanat ja tulostimet</p>", publish=False)
    found = Q.search_articles(world.agent, "tulostin", language="fi")  # drafts too
    assert "Tulostin ei tulosta" in {s.translation.title for s in found}
    assert len(Q.search_articles(world.agent, "salasanat", language="fi")) == 2
    public = Q.public_search(world.org.pk, "salasanaa", language="sv")
    assert [s.translation.title for s in public] == ["Salasanan vaihto"]
    assert public[0].missing
    assert Q.public_search(world.org.pk, "tulostin", language="fi") == []
    assert Q.public_search(world.other_org.pk, "salasana", language="fi") == []
    hits = Q.suggest_public(world.org.pk, "Unohdin salasanani enkä pääse sisään",
                            language="fi")
    assert [s.translation.title for s in hits] == ["Salasanan vaihto"]


def test_draft_from_resolved_ticket(world):
    ticket = A.create_ticket(actor=world.agent, organisation=world.org, title="Tulostin jumissa",
                             body="Tulostin ei tulosta mitään.", channel="phone", language="fi")
    with pytest.raises(ValidationFailed) as e:
        K.draft_from_ticket(actor=world.agent, ticket=ticket)
    assert e.value.code == "ticket_not_resolved"
    A.add_message(actor=world.agent, ticket=ticket, kind="reply",
                  body="Paperi oli jumissa, poistin sen.")
    A.change_status(actor=world.agent, ticket=ticket, status=Status.RESOLVED)
    a = K.draft_from_ticket(actor=world.agent, ticket=ticket)
    t = a.translations.get()
    assert not t.is_published and a.audience == Audience.INTERNAL
    assert "Paperi oli jumissa" in t.body_text and "ei tulosta" in t.body_text
    assert a.source_ticket_id == ticket.pk
    assert OutboxEvent.objects.filter(topic="kb.article_created", aggregate_id=a.pk).exists()
    with pytest.raises(Forbidden):
        K.draft_from_ticket(actor=world.other_agent, ticket=ticket)


def test_feedback_counts_deflections(world):
    a = article(world, audience=Audience.PUBLIC)
    K.record_feedback(article_id=a.pk, organisation=world.org, language="fi", helpful=True,
                      context="web_form", service_code="katuvalo")
    K.record_feedback(article_id=a.pk, organisation=world.org, language="fi", helpful=False,
                      context="web_form")
    a.refresh_from_db()
    assert (a.helpful_count, a.not_helpful_count, a.deflection_count) == (1, 1, 1)
    internal = article(world)
    with pytest.raises(Exception) as e:
        K.record_feedback(article_id=internal.pk, organisation=world.org, language="fi",
                          helpful=True, context="web_form")
    assert getattr(e.value, "code", "") == "article_not_found"


def test_generated_articles_are_searchable(world):
    from django.core.management import call_command

    call_command("generate_kb_data", "--articles", "30", "--organisation", "tre",
                 stdout=open("/dev/null", "w"))  # noqa: SIM115
    from kapula.kb.models import Article

    assert Article.objects.filter(organisation=world.org).count() == 30
    assert Q.search_articles(world.org_admin, "salasana", language="fi") or \
        Q.search_articles(world.org_admin, "tulostin", language="fi")


def test_demo_articles(world):
    from kapula.kb.demo import ARTICLES, ensure_demo_articles

    assert ensure_demo_articles(world.org, {}, world.org_admin) == len(ARTICLES)
    first = visible_articles(world.org_admin).order_by("pk").first()
    assert first is not None
    shown = Q.pick(first, list(first.translations.all()), "sv")
    assert shown and shown.outdated  # the Finnish text was updated after the translation
    assert ensure_demo_articles(world.org, {}, world.org_admin) == len(ARTICLES)


def test_suggestions_leave_out_common_words_when_rarer_ones_exist(world):
    from django.core.management import call_command
    from django.db import connection

    from kapula.kb import search

    if connection.vendor != "postgresql":
        pytest.skip("common stems are counted on PostgreSQL only")
    call_command("generate_kb_data", "--articles", "400", "--organisation", "tre",
                 stdout=open("/dev/null", "w"))  # noqa: SIM115
    special = article(world, title="Vesimittarin lukema", audience=Audience.PUBLIC,
                      body="<p>Ilmoita vesimittarin lukema kerran vuodessa.</p>")
    assert search.refresh_common_terms(world.org.pk) > 0
    # "käynnistä" is in most generated articles, "lukema" only in one: the common word alone
    # would match hundreds, and the one article must come first
    hits = Q.suggest_public(world.org.pk, "Käynnistä lukema", language="fi")
    assert hits and hits[0].article == special
    # only common words: they are used after all
    assert Q.suggest_public(world.org.pk, "Käynnistä uudelleen", language="fi")
