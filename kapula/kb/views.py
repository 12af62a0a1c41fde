"""The knowledge base in the agents' workspace (/kb/): the article list, the editor, language
versions, history, attachments, and the suggestions on the ticket page.

Views parse input, call an action or a query and render; every write goes through
kapula/kb/actions.py, whose errors become form errors or messages in the user's language.
Articles the user may not see, and other organisations' articles, are 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kapula.core.access import scope_for
from kapula.core.errors import ActionError, Conflict, TooLarge
from kapula.core.models import Language, Unit, User
from kapula.kb import actions, queries
from kapula.kb import forms as f
from kapula.kb.access import visible_articles
from kapula.kb.models import (
    Article,
    ArticleAttachment,
    ArticleRevision,
    ArticleTranslation,
    Audience,
    TranslationStatus,
)
from kapula.tickets import config
from kapula.tickets.attachments import AttachmentInput
from kapula.tickets.models import Category, Ticket

PAGE_SIZE = 25
SEARCH_LIMIT = 200
#: how much of an article's text "Insert excerpt" puts into a reply
EXCERPT_CHARS = 1500

STATE_LABELS = {
    queries.ORIGINAL: gettext_lazy("original"),
    queries.CURRENT: gettext_lazy("up to date"),
    queries.OUTDATED: gettext_lazy("outdated"),
    queries.DRAFT: gettext_lazy("draft"),
    queries.MISSING: gettext_lazy("missing"),
}


# --- helpers --------------------------------------------------------------------------------


def _ui_language() -> str:
    lang = (get_language() or "fi")[:2]
    return lang if lang in Language.values else "fi"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _article(user: User, article_id: int) -> Article:
    article = (visible_articles(user).filter(pk=article_id)
               .select_related("category", "source_ticket").first())
    if article is None:
        raise Http404
    return article


def _language_or_404(lang: str) -> str:
    if lang not in Language.values:
        raise Http404
    return lang


def _apply_error(form: Form | None, request: HttpRequest, error: ActionError) -> None:
    """An action error on the form field it names, else on the form, else as a message."""
    if form is not None:
        name = {"body": "body", "review_due": "review_due"}.get(error.field or "",
                                                               error.field or "")
        if name == "review_due" and "next_review" in form.fields:
            name = "next_review"
        if name in form.fields:
            form.add_error(name, error.message)
        else:
            form.add_error(None, error.message)
    else:
        messages.error(request, error.message)


def _category_choices(user: User) -> list[tuple[int, str]]:
    org_id = user.organisation_id or 0
    cats = config.cached("desk_categories", org_id, lambda: list(
        Category.objects.filter(organisation_id=org_id, is_active=True)))
    return [(c.pk, c.name) for c in cats]


def _unit_choices(user: User) -> list[tuple[int, str]]:
    return [(u.pk, u.name) for u in Unit.objects.filter(
        organisation_id=user.organisation_id or 0)]


def state_rows(states: dict[str, str]) -> list[dict[str, Any]]:
    """Each language's state as a small badge: code, state and its text."""
    return [{"lang": lang, "state": states.get(lang, queries.MISSING),
             "label": STATE_LABELS[states.get(lang, queries.MISSING)]}
            for lang in Language.values]


def _translations(article_ids: list[int]) -> dict[int, list[ArticleTranslation]]:
    out: dict[int, list[ArticleTranslation]] = {}
    for t in ArticleTranslation.objects.filter(article_id__in=article_ids).defer(
            "body_html", "body_text"):
        out.setdefault(t.article_id, []).append(t)
    return out


# --- list -----------------------------------------------------------------------------------


@login_required
@require_GET
def list_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    ui = _ui_language()
    form = f.ListFilterForm(request.GET or None, category_choices=_category_choices(user))
    d: dict[str, Any] = form.cleaned_data if form.is_bound and form.is_valid() else {}
    qs = visible_articles(user)
    if not d.get("archived"):
        qs = qs.filter(is_archived=False)
    if d.get("category"):
        qs = qs.filter(category_id=d["category"])
    if d.get("audience"):
        qs = qs.filter(audience=d["audience"])
    if d.get("status") in (TranslationStatus.PUBLISHED, TranslationStatus.DRAFT):
        qs = qs.filter(pk__in=ArticleTranslation.objects.filter(
            status=d["status"]).values("article_id"))
    if d.get("due"):
        qs = qs.filter(review_due__lte=timezone.localdate())
    text = (d.get("q") or "").strip()
    articles: list[Article]
    if text:
        found = queries.search_articles(user, text, language=ui, limit=SEARCH_LIMIT,
                                        include_archived=bool(d.get("archived")))
        order = [s.article.pk for s in found]
        allowed = set(qs.filter(pk__in=order).values_list("pk", flat=True)) if order else set()
        page: Any = Paginator([pk for pk in order if pk in allowed], PAGE_SIZE).get_page(
            request.GET.get("page"))
        ids: list[int] = list(page.object_list)
        by_id = {a.pk: a for a in Article.objects.filter(pk__in=ids)
                 .select_related("category")} if ids else {}
        articles = [by_id[pk] for pk in ids if pk in by_id]
    else:
        page = Paginator(qs.select_related("category").order_by("-updated_at", "-id"),
                         PAGE_SIZE).get_page(request.GET.get("page"))
        articles = list(page.object_list)
    translations = _translations([a.pk for a in articles]) if articles else {}
    rows = []
    for a in articles:
        shown = queries.pick(a, translations.get(a.pk, []), ui)
        if shown is not None:
            rows.append({"article": a, "shown": shown, "states": state_rows(shown.states)})
    params = [(k, v) for k, values in request.GET.lists() if k != "page" for v in values]
    base = urlencode(params)
    return render(request, "kb/list.html", {
        "title": _("Knowledge base"), "form": form, "rows": rows, "page": page,
        "query": text, "page_query": base,
        "filtered": any(request.GET.get(k) for k in form.fields),
        "today": timezone.localdate(),
    })


# --- new article ----------------------------------------------------------------------------


def _settings_values(user: User, d: dict[str, Any]) -> dict[str, Any]:
    org_id = user.organisation_id or 0
    category = (Category.objects.filter(organisation_id=org_id, pk=d["category"]).first()
                if d.get("category") else None)
    units = list(Unit.objects.filter(organisation_id=org_id, pk__in=d.get("units") or []))
    return {"category": category, "units": units}


@login_required
@require_http_methods(["GET", "POST"])
def create_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.organisation is None:
        raise Http404
    kwargs = {"category_choices": _category_choices(user), "unit_choices": _unit_choices(user)}
    status = 200
    if request.method == "POST":
        form = f.ArticleForm(request.POST, **kwargs)
        status = 422
        if form.is_valid():
            d = form.cleaned_data
            try:
                article = actions.create_article(
                    actor=user, organisation=user.organisation, language=d["language"],
                    title=d["title"], body_html=d["body"], audience=d["audience"],
                    review_due=d["review_due"], publish=d["publish"], note=d["note"],
                    **_settings_values(user, d))
            except ActionError as exc:
                _apply_error(form, request, exc)
                status = exc.status
            else:
                messages.success(request, _("Article saved."))
                return HttpResponseRedirect(
                    reverse("kb:article", args=[article.pk]) + f"?lang={d['language']}")
    else:
        form = f.ArticleForm(initial={"language": _ui_language(),
                                      "audience": Audience.INTERNAL}, **kwargs)
    return render(request, "kb/new.html", {"title": _("New article"), "form": form},
                  status=status)


# --- article page ---------------------------------------------------------------------------


def _render_article(request: HttpRequest, article: Article, *, lang: str | None = None,
                    settings_form: f.ArticleSettingsForm | None = None,
                    reviewed_form: f.ReviewedForm | None = None,
                    attachment_form: f.AttachmentForm | None = None,
                    status: int = 200) -> HttpResponse:
    user = _user(request)
    translations = list(article.translations.all())
    wanted = lang if lang in Language.values else _ui_language()
    shown = queries.pick(article, translations, wanted)
    if shown is None:  # an article always has its original; be safe anyway
        raise Http404
    by_lang = {t.language: t for t in translations}
    versions = [{"lang": row["lang"], "state": row["state"], "label": row["label"],
                 "name": Language(row["lang"]).label, "translation": by_lang.get(row["lang"])}
                for row in state_rows(shown.states)]
    units = list(article.units.all())
    if settings_form is None:
        settings_form = f.ArticleSettingsForm(
            initial={"category": article.category_id, "audience": article.audience,
                     "units": [u.pk for u in units], "review_due": article.review_due,
                     "is_archived": article.is_archived, "version": article.version},
            category_choices=_category_choices(user), unit_choices=_unit_choices(user))
    if reviewed_form is None:
        reviewed_form = f.ReviewedForm(initial={
            "next_review": timezone.localdate() + dt.timedelta(days=365)})
    return render(request, "kb/article.html", {
        "title": shown.translation.title, "article": article, "shown": shown,
        "versions": versions, "units": units,
        "attachments": list(article.attachments.all()),
        "settings_form": settings_form, "reviewed_form": reviewed_form,
        "attachment_form": attachment_form or f.AttachmentForm(),
        "due": article.review_due is not None and article.review_due <= timezone.localdate(),
    }, status=status)


@login_required
@require_GET
def article_view(request: HttpRequest, article_id: int) -> HttpResponse:
    article = _article(_user(request), article_id)
    return _render_article(request, article, lang=request.GET.get("lang"))


@login_required
@require_POST
def settings_view(request: HttpRequest, article_id: int) -> HttpResponse:
    user = _user(request)
    article = _article(user, article_id)
    form = f.ArticleSettingsForm(request.POST, category_choices=_category_choices(user),
                                 unit_choices=_unit_choices(user))
    if not form.is_valid():
        return _render_article(request, article, settings_form=form, status=422)
    d = form.cleaned_data
    changes = {"audience": d["audience"], "review_due": d["review_due"],
               "is_archived": d["is_archived"], **_settings_values(user, d)}
    try:
        actions.update_article(actor=user, article=article, changes=changes,
                               expected_version=d["version"])
    except Conflict as exc:
        article = _article(user, article_id)
        data = request.POST.copy()
        data["version"] = str(article.version)
        form = f.ArticleSettingsForm(data, category_choices=_category_choices(user),
                                     unit_choices=_unit_choices(user))
        form.is_valid()
        form.add_error(None, _("%(error)s Your choices were kept: check them and save "
                               "again.") % {"error": exc.message})
        return _render_article(request, article, settings_form=form, status=409)
    except ActionError as exc:
        _apply_error(form, request, exc)
        return _render_article(request, article, settings_form=form, status=exc.status)
    messages.success(request, _("Settings saved."))
    return HttpResponseRedirect(reverse("kb:article", args=[article.pk]))


@login_required
@require_POST
def reviewed_view(request: HttpRequest, article_id: int) -> HttpResponse:
    user = _user(request)
    article = _article(user, article_id)
    form = f.ReviewedForm(request.POST)
    if not form.is_valid():
        return _render_article(request, article, reviewed_form=form, status=422)
    try:
        actions.mark_reviewed(actor=user, article=article,
                              next_review=form.cleaned_data["next_review"])
    except ActionError as exc:
        _apply_error(form, request, exc)
        return _render_article(request, article, reviewed_form=form, status=exc.status)
    messages.success(request, _("Marked as reviewed."))
    return HttpResponseRedirect(reverse("kb:article", args=[article.pk]))


# --- language versions: edit and translate --------------------------------------------------


def _render_editor(request: HttpRequest, article: Article, lang: str, form: f.TranslationForm,
                   *, current: ArticleTranslation | None, status: int = 200,
                   conflict: bool = False) -> HttpResponse:
    original = None
    if lang != article.original_language:
        original = article.translations.filter(language=article.original_language).first()
    name = Language(lang).label
    if current is None:
        title = _("Add the %(language)s version") % {"language": name}
    else:
        title = _("Edit the %(language)s version") % {"language": name}
    return render(request, "kb/edit.html", {
        "title": title, "article": article, "lang": lang, "language_name": name,
        "form": form, "current": current, "original": original, "conflict": conflict,
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def edit_view(request: HttpRequest, article_id: int, lang: str) -> HttpResponse:
    user = _user(request)
    article = _article(user, article_id)
    lang = _language_or_404(lang)
    current = article.translations.filter(language=lang).first()
    if request.method != "POST":
        initial: dict[str, Any] = {"version": 0, "publish": False}
        if current is not None:
            initial = {"title": current.title, "body": current.body_html,
                       "publish": current.is_published, "version": current.version}
        return _render_editor(request, article, lang, f.TranslationForm(initial=initial),
                              current=current)
    form = f.TranslationForm(request.POST)
    if not form.is_valid():
        return _render_editor(request, article, lang, form, current=current, status=422)
    d = form.cleaned_data
    try:
        actions.save_translation(
            actor=user, article=article, language=lang, title=d["title"], body_html=d["body"],
            publish=d["publish"], note=d["note"], expected_version=d["version"])
    except Conflict as exc:
        current = article.translations.filter(language=lang).first()
        data = request.POST.copy()
        data["version"] = str(current.version if current else 0)
        form = f.TranslationForm(data)
        form.is_valid()
        form.add_error(None, _("%(error)s Your text was kept in the form below; the saved "
                               "version is shown above it. Compare them and save again.")
                       % {"error": exc.message})
        return _render_editor(request, article, lang, form, current=current, status=409,
                              conflict=True)
    except ActionError as exc:
        _apply_error(form, request, exc)
        return _render_editor(request, article, lang, form, current=current,
                              status=exc.status)
    messages.success(request, _("Article saved."))
    return HttpResponseRedirect(reverse("kb:article", args=[article.pk]) + f"?lang={lang}")


# --- history --------------------------------------------------------------------------------


def _translation(user: User, article_id: int, lang: str) -> ArticleTranslation:
    article = _article(user, article_id)
    t = article.translations.filter(language=_language_or_404(lang)).first()
    if t is None:
        raise Http404
    t.article = article
    return t


@login_required
@require_GET
def history_view(request: HttpRequest, article_id: int, lang: str) -> HttpResponse:
    t = _translation(_user(request), article_id, lang)
    revisions = list(t.revisions.select_related("author").defer("body_html"))
    return render(request, "kb/history.html", {
        "title": _("Version history: %(title)s") % {"title": t.title},
        "article": t.article, "translation": t, "revisions": revisions})


def _revision(user: User, article_id: int, lang: str, version: int) -> ArticleRevision:
    t = _translation(user, article_id, lang)
    revision = t.revisions.filter(version=version).first()
    if revision is None:
        raise Http404
    revision.translation = t
    return revision


@login_required
@require_GET
def revision_view(request: HttpRequest, article_id: int, lang: str,
                  version: int) -> HttpResponse:
    revision = _revision(_user(request), article_id, lang, version)
    t = revision.translation
    return render(request, "kb/revision.html", {
        "title": _("Version %(n)s: %(title)s") % {"n": revision.version, "title": revision.title},
        "article": t.article, "translation": t, "revision": revision})


@login_required
@require_POST
def restore_view(request: HttpRequest, article_id: int, lang: str,
                 version: int) -> HttpResponse:
    user = _user(request)
    revision = _revision(user, article_id, lang, version)
    try:
        actions.restore_revision(actor=user, revision=revision)
    except ActionError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("kb:history", args=[article_id, lang]))
    messages.success(request, _("Version %(n)s restored as the newest version.")
                     % {"n": revision.version})
    return HttpResponseRedirect(reverse("kb:article", args=[article_id]) + f"?lang={lang}")


# --- attachments ----------------------------------------------------------------------------


@login_required
@require_POST
def upload_view(request: HttpRequest, article_id: int) -> HttpResponse:
    user = _user(request)
    article = _article(user, article_id)
    form = f.AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_article(request, article, attachment_form=form, status=422)
    upload = form.cleaned_data["file"]
    limit = settings.KAPULA_MAX_ATTACHMENT_BYTES
    try:
        if upload.size is not None and upload.size > limit:
            raise TooLarge(_("The attachment %(name)s is too large (at most %(mb)s MB).")
                           % {"name": upload.name, "mb": limit // (1024 * 1024)},
                           code="attachment_too_large", field="file")
        actions.add_attachment(actor=user, article=article, item=AttachmentInput(
            filename=upload.name or "attachment", content=upload.read(),
            content_type=upload.content_type or ""))
    except ActionError as exc:
        form.add_error("file", exc.message)
        return _render_article(request, article, attachment_form=form, status=exc.status)
    messages.success(request, _("Attachment added."))
    return HttpResponseRedirect(reverse("kb:article", args=[article.pk]) + "#attachments")


def _attachment(user: User, attachment_id: int) -> ArticleAttachment:
    item = (ArticleAttachment.objects.filter(pk=attachment_id,
                                             article__in=visible_articles(user))
            .select_related("article").first())
    if item is None:
        raise Http404
    return item


@login_required
@require_GET
def attachment_view(request: HttpRequest, attachment_id: int) -> FileResponse:
    """An article's attachment for staff who may see the article: a download that browsers
    never render."""
    item = _attachment(_user(request), attachment_id)
    try:
        handle = item.file.open("rb")
    except OSError:
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=item.filename,
                            content_type="application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def remove_attachment_view(request: HttpRequest, attachment_id: int) -> HttpResponse:
    user = _user(request)
    item = _attachment(user, attachment_id)
    try:
        actions.remove_attachment(actor=user, attachment=item)
    except ActionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Attachment %(name)s removed.") % {"name": item.filename})
    return HttpResponseRedirect(reverse("kb:article", args=[item.article_id]) + "#attachments")


# --- the ticket page ------------------------------------------------------------------------


def _excerpt(text: str) -> str:
    text = "\n".join(line.strip() for line in text.strip().splitlines())
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    if len(text) <= EXCERPT_CHARS:
        return text
    return text[:EXCERPT_CHARS].rsplit(" ", 1)[0] + " …"


def public_url(org_slug: str, article_id: int, language: str) -> str:
    """The article's page in the public knowledge base, as a customer can open it."""
    path = f"/help/{org_slug}/{article_id}/?" + urlencode({"lang": language})
    return settings.KAPULA_BASE_URL.rstrip("/") + path


@login_required
@require_GET
def suggest_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The best articles for a ticket (or for ``?q=``), for the panel on the ticket page.
    A constant number of queries; 404 for a ticket the user cannot see."""
    user = _user(request)
    ticket = (Ticket.objects.filter(scope_for(user).ticket_q(), pk=ticket_id)
              .select_related("organisation").first())
    if ticket is None:
        raise Http404
    form = f.SuggestSearchForm(request.GET or None)
    text = (form.cleaned_data["q"] or "").strip() if form.is_bound and form.is_valid() else ""
    found = queries.suggest_for_ticket(user, ticket, text=text or None)
    rows = []
    for s in found:
        rows.append({
            "shown": s, "excerpt": _excerpt(s.translation.body_text),
            "public": s.article.audience == Audience.PUBLIC,
            "link": public_url(ticket.organisation.slug, s.article.pk, ticket.language)
            if s.article.audience == Audience.PUBLIC else "",
        })
    context = {"ticket": ticket, "rows": rows, "form": form, "query": text,
               "title": _("Suggested articles")}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "kb/_suggestions.html", context)
    return render(request, "kb/suggestions_page.html", context)


@login_required
@require_POST
def from_ticket_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """A draft article from a resolved ticket's question and solution."""
    user = _user(request)
    ticket = Ticket.objects.filter(scope_for(user).ticket_q(), pk=ticket_id).first()
    if ticket is None:
        raise Http404
    try:
        article = actions.draft_from_ticket(actor=user, ticket=ticket)
    except ActionError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("desk:ticket", args=[ticket.pk]))
    messages.success(request, _("A draft article was made from the ticket. Check the text, "
                                "remove any personal details and publish it."))
    return HttpResponseRedirect(reverse("kb:edit", args=[article.pk, article.original_language]))
