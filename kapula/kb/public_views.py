"""The public knowledge base and the suggestions on the public web forms.

* ``/help/<org>/``: a search box and the organisation's published public articles (newest
  first, paginated), each in the page's language where it has that version.
* ``/help/<org>/<id>/``: one article, its attachments, its other language versions and a
  "was this helpful?" answer (context ``public_kb``; a normal CSRF-checked form).
* ``/help/<org>/suggest/``: an HTML fragment of at most three articles matching what a
  customer is typing into a web form (kb/public-suggest.js asks for it).
* ``/help/<org>/feedback/``: the "did this solve it?" answer to such a suggestion (context
  ``web_form``; a yes is a deflection).

Every answer carries a signed token made when the article or suggestion was shown: it names
the organisation, the article, the context, the language and the service, and has a random
part that is remembered (in the cache) once the answer is counted, so a double click or a
resent form counts once per showing. The suggestion's answer is posted from the web form,
which may sit in another site's frame where our CSRF cookie cannot be read: that endpoint is
CSRF-exempt, checks the Origin like the embedded form does, and accepts nothing but a valid
token. Both endpoints and the suggestions are rate-limited per client address. See
docs/subsystems/kb.md.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kapula.catalogue.models import Service
from kapula.core import ratelimit
from kapula.core.errors import NotFound, ValidationFailed
from kapula.core.models import Language, Organisation
from kapula.kb import actions, queries
from kapula.kb.access import public_articles
from kapula.kb.models import (
    Article,
    ArticleAttachment,
    ArticleTranslation,
    FeedbackContext,
    TranslationStatus,
)

LANGUAGES = tuple(Language.values)
FEEDBACK_SALT = "kapula.kb.feedback"
TOKEN_MAX_AGE = 24 * 3600
#: at most this much of the customer's text is used for a suggestion
MAX_QUERY_CHARS = 500
#: a suggestion is asked for once the text has this many words or characters
MIN_WORDS, MIN_CHARS = 3, 12
SUGGESTIONS = 3
PAGE_SIZE = 20
#: rate limits per client address: "events/seconds" (settings may override them)
DEFAULT_RATES = {"suggest": "60/60", "feedback": "30/3600"}


# --- helpers ---------------------------------------------------------------------------------

def _organisation(slug: str) -> Organisation:
    org = Organisation.objects.filter(slug=slug).only("pk", "slug", "name").first()
    if org is None:
        raise Http404
    return org


def _ui_language() -> str:
    lang = (get_language() or "fi")[:2]
    return lang if lang in LANGUAGES else "fi"


def _wanted(request: HttpRequest, source: Any = None) -> str:
    """The language whose version of the articles is wanted: ``?lang=`` (the links to the
    other language versions and the web form's language), else the page's language."""
    lang = (source if source is not None else request.GET).get("lang", "")
    return lang if lang in LANGUAGES else _ui_language()


def _client(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def over_limit(kind: str, request: HttpRequest) -> bool:
    """Count one ``kind`` event for the client; True when it is over the limit."""
    rate = getattr(settings, f"KAPULA_KB_{kind.upper()}_RATE", DEFAULT_RATES[kind])
    limit, seconds = ratelimit.parse_rate(rate, (60, 60))
    return ratelimit.count(f"kapula:kb:{kind}:ip:{_client(request)}", seconds) > limit


def _published() -> Exists:
    return Exists(ArticleTranslation.objects.filter(article=OuterRef("pk"),
                                                    status=TranslationStatus.PUBLISHED))


def shown_articles(organisation: Organisation) -> QuerySet[Article]:
    """The articles the public may read: public, not archived, with a published version."""
    return public_articles(organisation.pk).filter(_published())


def language_name(code: str) -> str:
    """The language's name for use inside a sentence of the page's language ("Swedish",
    "svenska", "ruotsi")."""
    name = str(Language(code).label) if code in LANGUAGES else code
    return name if _ui_language() == "en" else name[:1].lower() + name[1:]


def _shown(articles: list[Article], wanted: str) -> list[queries.Shown]:
    """Each article in ``wanted`` where it has a published version (one query)."""
    by_article: dict[int, list[ArticleTranslation]] = {}
    for t in ArticleTranslation.objects.filter(
            article_id__in=[a.pk for a in articles]).defer("body_html"):
        by_article.setdefault(t.article_id, []).append(t)
    out = []
    for article in articles:
        shown = queries.pick(article, by_article.get(article.pk, []), wanted,
                             published_only=True)
        if shown is not None:
            out.append(shown)
    return out


def make_token(*, organisation_id: int, article_id: int, context: str, language: str,
               service_code: str = "") -> str:
    """A signed "this article was shown" token for one feedback answer."""
    return signing.dumps({"o": organisation_id, "a": article_id, "c": context, "l": language,
                          "s": service_code, "n": secrets.token_urlsafe(12)},
                         salt=FEEDBACK_SALT)


def read_token(token: str, organisation_id: int, context: str) -> dict[str, Any] | None:
    try:
        data = signing.loads(token[:1000], salt=FEEDBACK_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("o") != organisation_id \
            or data.get("c") != context or not isinstance(data.get("a"), int) \
            or data.get("l") not in LANGUAGES or not isinstance(data.get("n"), str):
        return None
    return data


def _first_answer(token: dict[str, Any]) -> bool:
    """True the first time an answer with this token is seen."""
    return bool(cache.add(f"kapula:kb:answered:{token['n']}", 1, TOKEN_MAX_AGE))


def _forget_answer(token: dict[str, Any]) -> None:
    cache.delete(f"kapula:kb:answered:{token['n']}")


def _helpful(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def _same_origin(request: HttpRequest) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: browsers send an Origin with every POST
    return (origin == f"{request.scheme}://{request.get_host()}"
            or origin in settings.CSRF_TRUSTED_ORIGINS)


def _fragment(content: str = "", status: int = 200) -> HttpResponse:
    response = HttpResponse(content, status=status, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


# --- the knowledge base pages ----------------------------------------------------------------

@require_GET
def index_view(request: HttpRequest, org: str) -> HttpResponse:
    organisation = _organisation(org)
    wanted = _wanted(request)
    text = " ".join(request.GET.get("q", "")[:MAX_QUERY_CHARS].split())
    page = None
    if text:
        items = queries.public_search(organisation.pk, text, language=wanted, limit=PAGE_SIZE)
    else:
        paginator = Paginator(shown_articles(organisation).select_related("category")
                              .order_by("-updated_at", "-pk"), PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
        items = _shown(list(page.object_list), wanted)
    return render(request, "kbpublic/index.html", {
        "organisation": organisation, "items": items, "q": text, "page": page,
        "wanted": wanted, "title": _("Help and instructions"),
        "page_query": urlencode({"lang": wanted}) if "lang" in request.GET else "",
        "lang_query": "?" + urlencode({"lang": wanted}) if "lang" in request.GET else "",
    })


def _article(organisation: Organisation, article_id: int) -> Article:
    article = shown_articles(organisation).select_related("category").filter(
        pk=article_id).first()
    if article is None:
        raise Http404
    return article


def _render_article(request: HttpRequest, organisation: Organisation, article_id: int, *,
                    wanted: str, error: str = "", status: int = 200) -> HttpResponse:
    article = _article(organisation, article_id)
    translations = list(article.translations.all())
    shown = queries.pick(article, translations, wanted, published_only=True)
    if shown is None:
        raise Http404
    t = shown.translation
    readable = (queries.ORIGINAL, queries.CURRENT, queries.OUTDATED)
    versions = [{"code": code, "name": get_language_info(code)["name_local"]}
                for code in LANGUAGES if code != t.language and shown.states[code] in readable]
    answered = request.GET.get("feedback") == "thanks" and not error
    return render(request, "kbpublic/article.html", {
        "organisation": organisation, "article": article, "shown": shown, "t": t,
        "body": t.body_html,  # sanitised when saved (kapula.core.text.sanitise_html)
        "title": t.title, "versions": versions,
        "original_name": language_name(article.original_language),
        "attachments": list(article.attachments.all()),
        "token": make_token(organisation_id=organisation.pk, article_id=article.pk,
                            context=FeedbackContext.PUBLIC_KB, language=t.language),
        "answered": answered, "error": error,
        # the version chosen with ?lang= (else the page's language decides, also later)
        "lang_param": wanted if "lang" in request.GET or "lang" in request.POST else "",
        "forms_url": reverse("webform:catalogue", args=[organisation.slug]),
        "portal_url": reverse("portal:tickets", args=[organisation.slug]),
    }, status=status)


@require_GET
def article_view(request: HttpRequest, org: str, article_id: int) -> HttpResponse:
    organisation = _organisation(org)
    return _render_article(request, organisation, article_id, wanted=_wanted(request))


@require_POST
def article_feedback_view(request: HttpRequest, org: str, article_id: int) -> HttpResponse:
    """"Was this helpful?" on an article page (a normal form: CSRF-checked)."""
    organisation = _organisation(org)
    _article(organisation, article_id)  # 404 for anything the public may not read
    wanted = _wanted(request, request.POST)
    token = read_token(request.POST.get("token", ""), organisation.pk,
                       FeedbackContext.PUBLIC_KB)
    helpful = _helpful(request.POST.get("helpful", ""))
    if token is None or token["a"] != article_id or helpful is None:
        return _render_article(request, organisation, article_id, wanted=wanted, status=422,
                               error=_("Your answer could not be saved. Please try again."))
    if over_limit("feedback", request):
        return _render_article(request, organisation, article_id, wanted=wanted, status=429,
                               error=_("Too many answers have been sent from here. Please "
                                       "try again later."))
    if _first_answer(token):
        try:
            actions.record_feedback(article_id=article_id, organisation=organisation,
                                    language=token["l"], helpful=helpful,
                                    context=FeedbackContext.PUBLIC_KB)
        except (NotFound, ValidationFailed):
            _forget_answer(token)
            raise Http404 from None
    url = reverse("kbpublic:article", args=[organisation.slug, article_id])
    query = {"lang": wanted} if request.POST.get("lang") in LANGUAGES else {}
    return HttpResponseRedirect(url + "?" + urlencode({**query, "feedback": "thanks"})
                                + "#feedback")


@require_GET
def attachment_view(request: HttpRequest, org: str, attachment_id: int) -> FileResponse:
    organisation = _organisation(org)
    attachment = ArticleAttachment.objects.filter(
        pk=attachment_id, article__in=shown_articles(organisation)).first()
    if attachment is None:
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except OSError:
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=attachment.filename,
                            content_type="application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- suggestions on the web forms ------------------------------------------------------------

def long_enough(text: str) -> bool:
    return len(text.split()) >= MIN_WORDS or len(text) >= MIN_CHARS


@never_cache
@require_GET
def suggest_view(request: HttpRequest, org: str) -> HttpResponse:
    """At most three public articles for the text a customer is typing (an HTML fragment;
    empty when there is nothing to suggest)."""
    if over_limit("suggest", request):
        return _fragment(status=429)
    organisation = _organisation(org)
    text = " ".join(request.GET.get("q", "")[:MAX_QUERY_CHARS].split())
    if not long_enough(text):
        return _fragment()
    language = _wanted(request)
    code = request.GET.get("service", "")[:64]
    if code and not Service.objects.filter(organisation=organisation, code=code).exists():
        code = ""
    found = queries.suggest_public(organisation.pk, text, language=language,
                                   limit=SUGGESTIONS)
    if not found:
        return _fragment()
    items = [{"shown": s, "token": make_token(
        organisation_id=organisation.pk, article_id=s.article.pk,
        context=FeedbackContext.WEB_FORM, language=s.translation.language,
        service_code=code)} for s in found]
    with translation.override(language):
        content = render(request, "kbpublic/_suggestions.html", {
            "organisation": organisation, "items": items, "language": language,
            "ids": " ".join(str(s.article.pk) for s in found),
        }).content.decode()
    return _fragment(content)


@csrf_exempt  # see the module's docstring: a signed token, the Origin and a rate limit
@never_cache
@require_http_methods(["POST"])
def feedback_view(request: HttpRequest, org: str) -> HttpResponse:
    """"Did this solve it?" on a web form's suggestion. Yes counts a deflection."""
    if not _same_origin(request):
        return _fragment(status=403)
    organisation = _organisation(org)
    if over_limit("feedback", request):
        return _fragment(status=429)
    token = read_token(request.POST.get("token", ""), organisation.pk,
                       FeedbackContext.WEB_FORM)
    helpful = _helpful(request.POST.get("helpful", ""))
    if token is None or helpful is None:
        return _fragment(status=422)
    if not shown_articles(organisation).filter(pk=token["a"]).exists():
        return _fragment(status=404)  # archived, unpublished or no longer public meanwhile
    if _first_answer(token):
        try:
            actions.record_feedback(article_id=token["a"], organisation=organisation,
                                    language=token["l"], helpful=helpful,
                                    context=FeedbackContext.WEB_FORM,
                                    service_code=str(token.get("s") or ""))
        except (NotFound, ValidationFailed):
            _forget_answer(token)
            return _fragment(status=404)
    with translation.override(_wanted(request, request.POST)):
        content = render(request, "kbpublic/_answered.html", {"helpful": helpful}).content
    return _fragment(content.decode())
