"""The public knowledge base (/help/<org>/) and the suggestions on the public web forms:
pages, 404s, language versions and their notes, feedback and deflections, double answers,
rate limits, query counts and the sanitised article text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kapula.catalogue.models import Service
from kapula.kb import actions as K
from kapula.kb.models import Article, ArticleFeedback, Audience
from kapula.kb.public_views import make_token
from kapula.tickets.attachments import AttachmentInput

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
SV = {"HTTP_ACCEPT_LANGUAGE": "sv"}


@dataclass
class Kb:
    password: Article      # fi original + sv (current) + en (outdated)
    library: Article       # fi only
    internal: Article
    draft: Article         # public, never published
    archived: Article
    foreign: Article       # another organisation's public article


def _article(world: Any, title: str, body: str, *, org: Any = None, actor: Any = None,
             **kw: Any) -> Article:
    kw.setdefault("publish", True)
    kw.setdefault("audience", Audience.PUBLIC)
    return K.create_article(actor=actor or world.agent, organisation=org or world.org,
                            language="fi", title=title, body_html=body, **kw)


@pytest.fixture(autouse=True)
def _fresh_limits(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    cache.delete_many([f"kapula:kb:{kind}:ip:{ip}" for kind in ("suggest", "feedback")
                       for ip in ("127.0.0.1", "10.0.0.9")])


@pytest.fixture
def kb(world: Any) -> Kb:
    password = _article(world, "Salasanan vaihto",
                        "<p>Vaihda salasana asiointipalvelussa kohdassa Omat tiedot.</p>",
                        category=world.category)
    K.save_translation(actor=world.agent, article=password, language="sv",
                       title="Byte av lösenord",
                       body_html="<p>Byt lösenordet i e-tjänsten under Mina uppgifter.</p>",
                       publish=True)
    K.save_translation(actor=world.agent, article=password, language="en",
                       title="Changing your password",
                       body_html="<p>Change the password in the e-service.</p>", publish=True)
    fi = password.translations.get(language="fi")
    K.save_translation(actor=world.agent, article=password, language="fi", title=fi.title,
                       body_html="<p>Vaihda salasana asiointipalvelussa kohdassa Omat "
                                 "tiedot. Uusi salasana toimii heti.</p>")
    K.save_translation(actor=world.agent, article=password, language="sv",
                       title="Byte av lösenord",
                       body_html="<p>Byt lösenordet i e-tjänsten under Mina uppgifter. Det "
                                 "nya lösenordet fungerar genast.</p>")
    library = _article(world, "Kirjaston aukioloajat",
                       "<p>Pääkirjasto on auki arkisin kello 8–20.</p>")
    internal = _article(world, "Sisäinen salasanaohje", "<p>Salasana nollataan AD:ssa.</p>",
                        audience=Audience.INTERNAL)
    draft = _article(world, "Luonnos salasanasta", "<p>Salasana luonnos</p>", publish=False)
    archived = _article(world, "Vanha salasanaohje", "<p>Salasana vanha ohje</p>")
    K.update_article(actor=world.agent, article=archived, changes={"is_archived": True})
    foreign = _article(world, "Oulun salasanaohje", "<p>Salasana Oulussa</p>",
                       org=world.other_org, actor=world.other_agent)
    return Kb(password, library, internal, draft, archived, foreign)


def _page(client: Client, url: str, **headers: Any) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- the pages -------------------------------------------------------------------------------

def test_index_lists_only_published_public_articles_of_the_organisation(client, kb):
    html = _page(client, "/help/tre/")
    assert "Salasanan vaihto" in html and "Kirjaston aukioloajat" in html
    for hidden in ("Sisäinen salasanaohje", "Luonnos salasanasta", "Vanha salasanaohje",
                   "Oulun salasanaohje"):
        assert hidden not in html
    assert 'name="q"' in html and 'action="/i18n/setlang/"' in html  # search, language switch
    assert "/forms/tre/" in html and "/portal/tre/" in html
    assert client.get("/help/nosuch/").status_code == 404


def test_index_in_swedish_shows_the_translation_or_the_original_with_a_note(client, kb):
    html = _page(client, "/help/tre/", **SV)
    assert 'lang="sv">Byte av lösenord</a>' in html
    assert 'lang="fi">Kirjaston aukioloajat</a>' in html
    assert html.count("kb-missing") == 1  # only the library article lacks Swedish
    english = _page(client, "/help/tre/", **EN)
    assert "Not available in English – shown in Finnish." in english
    assert "Changing your password" in english and "kb-outdated" in english


def test_search(client, kb):
    html = _page(client, "/help/tre/?q=salasanaa", **EN)
    assert "Changing your password" in html and "Kirjaston" not in html
    assert "Oulun" not in html and "Sisäinen" not in html and "Vanha" not in html
    assert "1 result for" in html
    html = _page(client, "/help/tre/?q=" + "x" * 5000, **EN)
    assert "0 results for" in html


def test_article_page_in_each_language(client, kb):
    url = f"/help/tre/{kb.password.pk}/"
    fi = _page(client, url)
    assert "Uusi salasana toimii heti" in fi and 'lang="fi"' in fi
    assert 'href="?lang=sv"' in fi and 'href="?lang=en"' in fi and "kb-missing" not in fi
    sv = _page(client, url, **SV)
    assert "Det nya lösenordet fungerar genast" in sv and "kb-outdated" not in sv
    en = _page(client, url, **EN)
    assert "Change the password in the e-service." in en
    assert "has been updated after this translation was made" in en  # outdated
    assert 'href="?lang=fi"' in en
    # a chosen version of the text, the page itself in English
    chosen = _page(client, url + "?lang=sv", **EN)
    assert "Byt lösenordet" in chosen and "Was this helpful?" in chosen
    library = _page(client, f"/help/tre/{kb.library.pk}/", **SV)
    assert 'class="kb-body card" lang="fi"' in library and "kb-missing" in library
    assert "/forms/tre/" in library and "/portal/tre/" in library


@pytest.mark.parametrize("which", ["internal", "draft", "archived", "foreign", "unknown"])
def test_articles_the_public_may_not_read_are_not_found(client, kb, which):
    article_id = 999999 if which == "unknown" else getattr(kb, which).pk
    assert client.get(f"/help/tre/{article_id}/").status_code == 404
    assert client.post(f"/help/tre/{article_id}/feedback/", {
        "token": make_token(organisation_id=kb.password.organisation_id, article_id=article_id,
                            context="public_kb", language="fi"),
        "helpful": "yes"}).status_code == 404
    assert client.get(f"/help/oulu/{kb.password.pk}/").status_code == 404
    assert client.get(f"/help/nosuch/{kb.password.pk}/").status_code == 404


def test_unpublished_translation_is_not_shown(client, world, kb):
    K.save_translation(actor=world.agent, article=kb.library, language="en",
                       title="Library draft", body_html="<p>Draft</p>", publish=False)
    html = _page(client, f"/help/tre/{kb.library.pk}/?lang=en", **EN)
    assert "Library draft" not in html and "Kirjaston aukioloajat" in html
    assert "Also available in" not in html and "kb-missing" in html


def test_attachments_are_served_for_public_articles_only(client, world, kb):
    public = K.add_attachment(actor=world.agent, article=kb.library,
                              item=AttachmentInput("aukiolo.txt", b"ma-pe 8-20", "text/plain"))
    hidden = K.add_attachment(actor=world.agent, article=kb.internal,
                              item=AttachmentInput("sisainen.txt", b"salainen", "text/plain"))
    html = _page(client, f"/help/tre/{kb.library.pk}/")
    assert f"/help/tre/attachments/{public.pk}/" in html and "aukiolo.txt" in html
    response = client.get(f"/help/tre/attachments/{public.pk}/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"ma-pe 8-20"
    assert "attachment" in response["Content-Disposition"]
    assert client.get(f"/help/tre/attachments/{hidden.pk}/").status_code == 404
    assert client.get(f"/help/oulu/attachments/{public.pk}/").status_code == 404
    K.update_article(actor=world.agent, article=kb.library, changes={"is_archived": True})
    assert client.get(f"/help/tre/attachments/{public.pk}/").status_code == 404


def test_script_in_an_article_is_never_rendered(client, world):
    a = _article(world, "<script>alert('t')</script>Ohje",
                 '<p onclick="evil()">Ohje</p><script>alert("b")</script>'
                 '<a href="javascript:alert(1)">linkki</a><img src="x" onerror="alert(2)">')
    for url in (f"/help/tre/{a.pk}/", "/help/tre/"):
        html = _page(client, url)
        assert "<script>alert" not in html and "onclick" not in html
        assert "onerror" not in html and "javascript:" not in html
    assert "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;Ohje" in _page(
        client, f"/help/tre/{a.pk}/")


def test_pages_take_a_constant_number_of_queries(client, world, kb):
    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    small = (count("/help/tre/"), count("/help/tre/?q=salasana"),
             count(f"/help/tre/{kb.password.pk}/"))
    for n in range(20):
        a = _article(world, f"Salasanaohje {n}", f"<p>Salasana numero {n}</p>",
                     category=world.category)
        K.save_translation(actor=world.agent, article=a, language="sv", title=f"Lösenord {n}",
                           body_html="<p>Lösenord</p>", publish=True)
        K.add_attachment(actor=world.agent, article=kb.password,
                         item=AttachmentInput(f"liite{n}.txt", f"x{n}".encode(), "text/plain"))
    assert (count("/help/tre/"), count("/help/tre/?q=salasana"),
            count(f"/help/tre/{kb.password.pk}/")) == small
    assert small[0] <= 6 and small[2] <= 6


def test_index_is_paginated(client, world, kb):
    for n in range(21):
        _article(world, f"Ohje {n}", f"<p>Ohjeen {n} teksti</p>")
    first = _page(client, "/help/tre/", **EN)
    assert "Page 1 of 2" in first and "?page=2" in first
    second = _page(client, "/help/tre/?page=2", **EN)
    assert "Page 2 of 2" in second
    assert client.get("/help/tre/?page=zzz").status_code == 200


# --- feedback on an article page -------------------------------------------------------------

def _token(html: str) -> str:
    return html.split('name="token" value="', 1)[1].split('"', 1)[0]


def test_feedback_on_an_article_counts_once_per_page_view(client, kb):
    url = f"/help/tre/{kb.password.pk}/"
    token = _token(_page(client, url, **EN))
    response = client.post(url + "feedback/", {"token": token, "helpful": "yes"}, **EN)
    assert response.status_code == 302 and "feedback=thanks" in response["Location"]
    thanks = _page(client, response["Location"], **EN)
    assert "Thank you for your answer." in thanks
    again = client.post(url + "feedback/", {"token": token, "helpful": "yes"})  # double click
    assert again.status_code == 302
    kb.password.refresh_from_db()
    assert (kb.password.helpful_count, kb.password.deflection_count) == (1, 0)
    feedback = ArticleFeedback.objects.get()
    assert (feedback.context, feedback.language, feedback.helpful) == ("public_kb", "en", True)
    # another page view may answer again
    client.post(url + "feedback/", {"token": _token(_page(client, url)), "helpful": "no"})
    kb.password.refresh_from_db()
    assert kb.password.not_helpful_count == 1


def test_bad_feedback_is_refused_in_the_users_language(client, kb):
    url = f"/help/tre/{kb.password.pk}/"
    token = _token(_page(client, url))
    bad = client.post(url + "feedback/", {"token": token, "helpful": "maybe"}, **EN)
    assert bad.status_code == 422 and "could not be saved" in bad.content.decode()
    forged = client.post(url + "feedback/", {"token": token + "x", "helpful": "yes"})
    assert forged.status_code == 422
    other = client.post(f"/help/tre/{kb.library.pk}/feedback/", {"token": token,
                                                                 "helpful": "yes"})
    assert other.status_code == 422  # a token of another article
    web_form = make_token(organisation_id=kb.password.organisation_id,
                          article_id=kb.password.pk, context="web_form", language="fi")
    assert client.post(url + "feedback/", {"token": web_form,
                                           "helpful": "yes"}).status_code == 422
    assert client.get(url + "feedback/").status_code == 405
    assert not ArticleFeedback.objects.exists()


def test_article_feedback_needs_the_csrf_token(kb):
    client = Client(enforce_csrf_checks=True)
    url = f"/help/tre/{kb.password.pk}/"
    token = _token(_page(client, url))
    assert client.post(url + "feedback/", {"token": token,
                                           "helpful": "yes"}).status_code == 403
    assert not ArticleFeedback.objects.exists()


def test_article_feedback_is_rate_limited(client, kb, settings):
    settings.KAPULA_KB_FEEDBACK_RATE = "2/60"
    url = f"/help/tre/{kb.password.pk}/"
    codes = [client.post(url + "feedback/", {"token": _token(_page(client, url)),
                                             "helpful": "yes"}, **EN).status_code
             for _ in range(3)]
    assert codes == [302, 302, 429]
    kb.password.refresh_from_db()
    assert kb.password.helpful_count == 2


# --- suggestions on the web forms ------------------------------------------------------------

@pytest.fixture
def service(world: Any) -> Service:
    return Service.objects.create(organisation=world.org, code="asiointi",
                                  name_fi="Asiointipalvelu", name_en="E-services")


def _suggest(client: Client, q: str, **params: str) -> Any:
    return client.get("/help/tre/suggest/", {"q": q, **params})


def _tokens(html: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split('data-token="')[1:]][::2]


def test_web_form_shows_the_region_only_with_public_articles(client, world, service):
    html = _page(client, "/forms/tre/asiointi/")
    assert "data-kb-suggest" not in html
    _article(world, "Salasanan vaihto", "<p>Vaihda salasana.</p>")
    html = _page(client, "/forms/tre/asiointi/", **EN)
    assert 'aria-live="polite"' in html and 'data-url="/help/tre/suggest/"' in html
    assert 'data-service="asiointi"' in html and 'data-lang="en"' in html
    assert "kb/public-suggest.js" in html and "Answers that may help" in html
    assert " hidden" in html.split("data-kb-suggest")[0].rsplit("<section", 1)[1]
    embed = client.get("/forms/tre/asiointi/embed/?lang=sv")
    assert 'data-lang="sv"' in embed.content.decode()
    policy = embed["Content-Security-Policy"]
    assert "connect-src" not in policy and "default-src 'self'" in policy  # fetch to us


def test_suggest_fragment(client, world, kb, service):
    assert _suggest(client, "").content == b""
    assert _suggest(client, "salasana").content == b""  # too short: one word, 8 characters
    response = _suggest(client, "Unohdin salasanani enkä pääse", lang="sv", service="asiointi")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "Byte av lösenord" in html and 'lang="sv"' in html
    assert f'/help/tre/{kb.password.pk}/?lang=sv' in html and 'target="_blank"' in html
    for hidden in ("Sisäinen", "Luonnos", "Vanha", "Oulun"):
        assert hidden not in html
    english = _suggest(client, "Unohdin salasanani enkä pääse", lang="en").content.decode()
    assert "Did this solve it?" in english and "opens in a new window" in english
    assert len(_tokens(english)) == 1
    assert _suggest(client, "x" * 100_000).status_code == 200
    assert client.get("/help/nosuch/suggest/", {"q": "salasana unohtui taas"}).status_code \
        == 404


def test_suggest_takes_a_constant_number_of_queries(client, world, kb, service):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = _suggest(client, "salasana unohtui kirjasto", service="asiointi")
            assert response.status_code == 200 and b"kb-suggestion" in response.content
        return len(ctx.captured_queries)

    small = count()
    for n in range(20):
        _article(world, f"Salasana {n}", f"<p>Salasana ja kirjasto {n}</p>")
    assert count() == small <= 6


def test_suggest_is_rate_limited(client, kb, settings):
    settings.KAPULA_KB_SUGGEST_RATE = "3/60"
    codes = [_suggest(client, "salasana unohtui taas").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert _suggest(client, "salasana unohtui taas").content == b""
    other = client.get("/help/tre/suggest/", {"q": "salasana unohtui taas"},
                       REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200  # per address


def _suggestion_token(client: Client, lang: str = "fi") -> str:
    html = _suggest(client, "Unohdin salasanani enkä pääse", lang=lang,
                    service="asiointi").content.decode()
    return _tokens(html)[0]


def test_yes_on_a_suggestion_is_a_deflection_counted_once(client, kb, service):
    token = _suggestion_token(client, "en")
    response = client.post("/help/tre/feedback/", {"token": token, "helpful": "yes",
                                                   "lang": "en"})
    assert response.status_code == 200
    assert "you do not need to send the form" in response.content.decode()
    again = client.post("/help/tre/feedback/", {"token": token, "helpful": "yes"})
    assert again.status_code == 200  # a double click: the same answer, not counted again
    kb.password.refresh_from_db()
    assert (kb.password.helpful_count, kb.password.deflection_count) == (1, 1)
    feedback = ArticleFeedback.objects.get()
    assert (feedback.context, feedback.service_code, feedback.language) == (
        "web_form", "asiointi", "en")


def test_no_on_a_suggestion(client, kb, service):
    token = _suggestion_token(client)
    response = client.post("/help/tre/feedback/", {"token": token, "helpful": "no"})
    assert response.status_code == 200 and b"data-kb-dismissed" in response.content
    kb.password.refresh_from_db()
    assert (kb.password.not_helpful_count, kb.password.deflection_count) == (1, 0)


def test_suggestion_feedback_refuses_bad_tokens_and_hidden_articles(client, world, kb,
                                                                    service):
    def post(token: str, **extra: Any) -> int:
        return client.post("/help/tre/feedback/", {"token": token, "helpful": "yes"},
                           **extra).status_code

    assert post("forged") == 422
    assert post(_suggestion_token(client), HTTP_ORIGIN="https://evil.example") == 403
    foreign = make_token(organisation_id=world.other_org.pk, article_id=kb.foreign.pk,
                         context="web_form", language="fi")
    assert post(foreign) == 422  # a token of another organisation
    assert client.post("/help/oulu/feedback/", {"token": foreign,
                                                "helpful": "yes"}).status_code == 200
    for article in (kb.internal, kb.draft, kb.archived):
        assert post(make_token(organisation_id=world.org.pk, article_id=article.pk,
                               context="web_form", language="fi")) == 404
    token = _suggestion_token(client)
    K.update_article(actor=world.agent, article=kb.password, changes={"is_archived": True})
    assert post(token) == 404
    assert client.post("/help/tre/feedback/", {"token": token,
                                                "helpful": "perhaps"}).status_code == 422
    assert client.get("/help/tre/feedback/").status_code == 405
    assert ArticleFeedback.objects.filter(organisation=world.org).count() == 0


def test_suggestion_feedback_is_rate_limited(client, kb, service, settings):
    settings.KAPULA_KB_FEEDBACK_RATE = "2/60"
    codes = [client.post("/help/tre/feedback/", {"token": _suggestion_token(client),
                                                 "helpful": "yes"}).status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]
    kb.password.refresh_from_db()
    assert kb.password.deflection_count == 2


def test_suggestion_feedback_from_an_embedded_form_needs_no_csrf_cookie(kb, service):
    client = Client(enforce_csrf_checks=True)
    token = _suggestion_token(client)
    response = client.post("/help/tre/feedback/", {"token": token, "helpful": "yes"},
                           HTTP_ORIGIN="http://testserver")
    assert response.status_code == 200
    kb.password.refresh_from_db()
    assert kb.password.deflection_count == 1
