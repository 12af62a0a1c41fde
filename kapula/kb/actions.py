"""Every write to the knowledge base. Each action checks who may do it, validates before
writing, runs in one transaction, keeps the search index current and records its events in
the outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kapula.core.db import atomic_action
from kapula.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kapula.core.models import Language, Organisation, Unit, User
from kapula.core.outbox import emit
from kapula.core.text import html_to_text, sanitise_html
from kapula.kb import search
from kapula.kb.access import is_staff, require_article
from kapula.kb.models import (
    Article,
    ArticleAttachment,
    ArticleFeedback,
    ArticleRevision,
    ArticleTranslation,
    Audience,
    FeedbackContext,
    TranslationStatus,
)
from kapula.tickets import attachments as att
from kapula.tickets.models import Category, Message, MessageKind, Status, Ticket

MAX_TITLE = 300
MAX_BODY = 500_000
#: attachments of articles: documents and pictures, never anything a browser would run
ARTICLE_ATTACHMENT_TYPES = {
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain",
    "text/csv", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/zip",
}


# --- helpers ---------------------------------------------------------------------------------

def _staff(actor: User | None, organisation_id: int) -> User:
    if not is_staff(actor) or actor.organisation_id != organisation_id:  # type: ignore[union-attr]
        raise Forbidden(_("Only the organisation's staff can edit its knowledge base."),
                        code="kb_staff_only")
    return actor  # type: ignore[return-value]


def _language(value: str) -> str:
    if value not in Language.values:
        raise ValidationFailed(_("Language must be fi, sv or en."), code="invalid_language",
                               field="language")
    return value


def _text(title: str, body_html: str) -> tuple[str, str, str]:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationFailed(_("Give the article a title."), code="title_required",
                               field="title")
    if len(title) > MAX_TITLE:
        raise ValidationFailed(_("The title is too long (at most %(n)s characters).")
                               % {"n": MAX_TITLE}, code="title_too_long", field="title")
    if len(body_html or "") > MAX_BODY:
        raise ValidationFailed(_("The text is too long."), code="body_too_long", field="body")
    clean = sanitise_html(body_html or "")
    text = html_to_text(clean)
    if not text.strip():
        raise ValidationFailed(_("Write the article's text."), code="body_required",
                               field="body")
    return title, clean, text


def _category(category: Category | None, organisation_id: int) -> None:
    if category is not None and category.organisation_id != organisation_id:
        raise ValidationFailed(_("Choose a category of your own organisation."),
                               code="invalid_category", field="category")


def _audience(audience: str, units: Sequence[Unit], organisation_id: int) -> None:
    if audience not in Audience.values:
        raise ValidationFailed(_("Choose who may read the article."), code="invalid_audience",
                               field="audience")
    if any(u.organisation_id != organisation_id for u in units):
        raise ValidationFailed(_("Choose units of your own organisation."),
                               code="invalid_unit", field="units")
    if audience == Audience.UNITS and not units:
        raise ValidationFailed(_("Choose at least one unit for this audience."),
                               code="units_required", field="units")


def _index(translations: Iterable[ArticleTranslation], article: Article) -> None:
    search.upsert([
        search.IndexRow(
            translation_id=t.pk, article_id=article.pk, organisation_id=article.organisation_id,
            language=t.language, audience=article.audience,
            published=t.status == TranslationStatus.PUBLISHED and not article.is_archived,
            updated_at=t.updated_at, title=t.title, body=t.body_text)
        for t in translations])
    search.refresh_common_terms_soon(article.organisation_id)


def reindex(articles: Sequence[Article]) -> None:
    """Rebuild the index rows of ``articles`` (loaders and repairs)."""
    for article in articles:
        _index(article.translations.all(), article)


def _revision(t: ArticleTranslation, actor: User | None, note: str) -> None:
    ArticleRevision.objects.create(
        translation=t, version=t.version, title=t.title, body_html=t.body_html, status=t.status,
        note=note[:300], author=actor, author_label=actor.display_name if actor else "",
        created_at=t.updated_at)


def _event(topic: str, article: Article, **payload: Any) -> None:
    emit(topic, organisation_id=article.organisation_id, aggregate="article",
         aggregate_id=article.pk, payload=payload)


def source_version(article: Article) -> int | None:
    original = ArticleTranslation.objects.filter(
        article=article, language=article.original_language).values_list("version", flat=True)
    return next(iter(original), None)


# --- articles --------------------------------------------------------------------------------

@atomic_action
def create_article(
    *, actor: User | None, organisation: Organisation, language: str, title: str,
    body_html: str, category: Category | None = None, audience: str = Audience.INTERNAL,
    units: Sequence[Unit] = (), review_due: dt.date | None = None, publish: bool = False,
    source_ticket: Ticket | None = None, note: str = "",
) -> Article:
    """A new article with its first language version (the original)."""
    _staff(actor, organisation.pk)
    language = _language(language)
    title, clean, text = _text(title, body_html)
    _category(category, organisation.pk)
    _audience(audience, units, organisation.pk)
    now = timezone.now()
    article = Article.objects.create(
        organisation=organisation, category=category, audience=audience,
        original_language=language, review_due=review_due, source_ticket=source_ticket,
        created_by=actor, created_at=now, updated_at=now)
    if units:
        article.units.set(units)
    status = TranslationStatus.PUBLISHED if publish else TranslationStatus.DRAFT
    t = ArticleTranslation.objects.create(
        article=article, language=language, title=title, body_html=clean, body_text=text,
        status=status, updated_by=actor, updated_at=now,
        published_at=now if publish else None)
    _revision(t, actor, note or _("Created"))
    _index([t], article)
    _event("kb.article_created", article, language=language, published=publish,
           source_ticket=source_ticket.pk if source_ticket else None)
    return article


@atomic_action
def save_translation(
    *, actor: User | None, article: Article, language: str, title: str, body_html: str,
    publish: bool | None = None, note: str = "", expected_version: int | None = None,
) -> ArticleTranslation:
    """Write one language version: a new one (a translation of the original) or a new
    version of an existing one. ``publish`` True/False publishes or unpublishes it, None
    keeps its state. ``expected_version`` is the version the editor started from."""
    _staff(actor, article.organisation_id)
    require_article(actor, article)
    language = _language(language)
    title, clean, text = _text(title, body_html)
    now = timezone.now()
    t = (ArticleTranslation.objects.select_for_update()
         .filter(article=article, language=language).first())
    is_original = language == article.original_language
    based_on = None if is_original else source_version(article)
    if t is None:
        if expected_version:
            raise Conflict(_("Somebody else changed this article meanwhile. Reload the page."),
                           code="version_conflict")
        t = ArticleTranslation.objects.create(
            article=article, language=language, title=title, body_html=clean, body_text=text,
            status=TranslationStatus.PUBLISHED if publish else TranslationStatus.DRAFT,
            source_version=based_on, updated_by=actor, updated_at=now,
            published_at=now if publish else None)
        _revision(t, actor, note or _("Translation added"))
        changed = True
    else:
        if expected_version is not None and expected_version != t.version:
            raise Conflict(_("Somebody else changed this article meanwhile. Reload the page."),
                           code="version_conflict")
        content_changed = (t.title, t.body_html) != (title, clean)
        status = t.status
        if publish is not None:
            status = TranslationStatus.PUBLISHED if publish else TranslationStatus.DRAFT
        changed = content_changed or status != t.status or (
            not is_original and t.source_version != based_on)
        if not changed:
            return t
        if status == TranslationStatus.PUBLISHED and t.status != TranslationStatus.PUBLISHED:
            t.published_at = now
        t.title, t.body_html, t.body_text, t.status = title, clean, text, status
        t.version += 1
        t.source_version = based_on
        t.updated_by, t.updated_at = actor, now
        t.save()
        _revision(t, actor, note)
    Article.objects.filter(pk=article.pk).update(updated_at=now, version=F("version") + 1)
    article.refresh_from_db()
    _index([t], article)
    _event("kb.translation_saved", article, language=language, version=t.version,
           published=t.is_published)
    return t


UPDATABLE = {"category", "audience", "units", "review_due", "is_archived", "original_language"}


@atomic_action
def update_article(*, actor: User | None, article: Article, changes: dict[str, Any],
                   expected_version: int | None = None) -> Article:
    """Change the article's own settings: category, audience (and units), review date,
    archived, original language (which must have a language version)."""
    _staff(actor, article.organisation_id)
    require_article(actor, article)
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValidationFailed(_("Unknown field."), code="unknown_field",
                               field=sorted(unknown)[0])
    article = Article.objects.select_for_update().get(pk=article.pk)
    if expected_version is not None and expected_version != article.version:
        raise Conflict(_("Somebody else changed this article meanwhile. Reload the page."),
                       code="version_conflict")
    if "category" in changes:
        _category(changes["category"], article.organisation_id)
        article.category = changes["category"]
    units = list(changes.get("units", article.units.all()))
    audience = changes.get("audience", article.audience)
    _audience(audience, units if audience == Audience.UNITS else [], article.organisation_id)
    article.audience = audience
    if "review_due" in changes:
        article.review_due = changes["review_due"]
    if "is_archived" in changes:
        article.is_archived = bool(changes["is_archived"])
    if "original_language" in changes:
        lang = _language(changes["original_language"])
        if not article.translations.filter(language=lang).exists():
            raise ValidationFailed(_("The article has no text in that language."),
                                   code="no_such_translation", field="original_language")
        article.original_language = lang
    article.version += 1
    article.updated_at = timezone.now()
    article.save()
    if "units" in changes or "audience" in changes:
        article.units.set(units if audience == Audience.UNITS else [])
    _index(article.translations.all(), article)
    _event("kb.article_updated", article, fields=sorted(changes))
    return article


def mark_reviewed(*, actor: User | None, article: Article, next_review: dt.date | None) -> Article:
    """The article was checked and is still right: set the next review date."""
    if next_review is not None and next_review <= timezone.localdate():
        raise ValidationFailed(_("The next review date must be in the future."),
                               code="review_date_past", field="review_due")
    return update_article(actor=actor, article=article, changes={"review_due": next_review})


@atomic_action
def restore_revision(*, actor: User | None, revision: ArticleRevision) -> ArticleTranslation:
    """Make an earlier revision's text the newest version (history is kept)."""
    t = revision.translation
    return save_translation(actor=actor, article=t.article, language=t.language,
                            title=revision.title, body_html=revision.body_html,
                            note=_("Restored version %(n)s") % {"n": revision.version})


# --- attachments -----------------------------------------------------------------------------

@atomic_action
def add_attachment(*, actor: User | None, article: Article,
                   item: att.AttachmentInput) -> ArticleAttachment:
    _staff(actor, article.organisation_id)
    require_article(actor, article)
    checked = att.check([item])[0]
    if checked.content_type not in ARTICLE_ATTACHMENT_TYPES:
        raise ValidationFailed(
            _("Files of this type cannot be attached: %(name)s") % {"name": checked.filename},
            code="attachment_type_forbidden", field="attachment")
    if article.attachments.count() >= settings.KAPULA_KB_MAX_ATTACHMENTS:
        raise ValidationFailed(_("An article can have at most %(n)s attachments.")
                               % {"n": settings.KAPULA_KB_MAX_ATTACHMENTS},
                               code="too_many_attachments", field="attachment")
    name = att.store(checked)
    a = ArticleAttachment(article=article, filename=checked.filename,
                          content_type=checked.content_type, size=checked.size,
                          sha256=checked.sha256, uploaded_by=actor)
    a.file.name = name
    a.save()
    _event("kb.attachment_added", article, attachment=a.pk)
    return a


@atomic_action
def remove_attachment(*, actor: User | None, attachment: ArticleAttachment) -> None:
    article = attachment.article
    _staff(actor, article.organisation_id)
    require_article(actor, article)
    attachment.delete()  # the stored bytes may be shared (content-addressed): kept
    _event("kb.attachment_removed", article, attachment=attachment.pk)


# --- from a ticket ---------------------------------------------------------------------------

def _solution(ticket: Ticket) -> tuple[str, str]:
    """The question (the customer's first message) and the answer (the last reply)."""
    messages = list(Message.objects.filter(ticket=ticket, kind__in=[
        MessageKind.INBOUND, MessageKind.REPLY]).order_by("created_at", "id")
        .only("kind", "body_text"))
    question = next((m.body_text for m in messages if m.kind == MessageKind.INBOUND), "")
    answer = next((m.body_text for m in reversed(messages) if m.kind == MessageKind.REPLY), "")
    return question.strip(), answer.strip()


@atomic_action
def draft_from_ticket(*, actor: User | None, ticket: Ticket) -> Article:
    """A draft article from a resolved ticket: its title, the question and the solution
    (the last reply to the customer), in the ticket's language, internal until an editor
    decides otherwise. Customer names and addresses are the editor's to remove."""
    from kapula.core.access import require_ticket
    from kapula.core.text import text_to_html

    if actor is None:
        raise Forbidden(_("Only agents can write articles."), code="kb_staff_only")
    ticket = Ticket.objects.get(pk=ticket.pk)  # the current state, not the caller's copy
    require_ticket(actor, ticket)
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        raise ValidationFailed(_("Only a resolved ticket's solution can become an article."),
                               code="ticket_not_resolved", field="status")
    question, answer = _solution(ticket)
    if not answer:
        raise ValidationFailed(_("The ticket has no reply to the customer to use as the "
                                 "solution."), code="no_solution", field="status")
    body = ""
    if question:
        body += f"<h2>{_('Question')}</h2>" + text_to_html(question)
    body += f"<h2>{_('Solution')}</h2>" + text_to_html(answer)
    organisation = Organisation.objects.get(pk=ticket.organisation_id)
    return create_article(
        actor=actor, organisation=organisation, language=ticket.language, title=ticket.title,
        body_html=body, category=ticket.category, audience=Audience.INTERNAL,
        source_ticket=ticket, note=_("Draft from ticket %(number)s") % {"number": ticket.number})


# --- feedback --------------------------------------------------------------------------------

@atomic_action
def record_feedback(*, article_id: int, organisation: Organisation, language: str,
                    helpful: bool, context: str, service_code: str = "",
                    comment: str = "") -> ArticleFeedback:
    """A "did this solve it?" answer from a customer or an agent. A yes on a web form's
    suggestion counts as a deflection."""
    if context not in FeedbackContext.values:
        raise ValidationFailed(_("Unknown feedback context."), code="invalid_context",
                               field="context")
    language = _language(language)
    qs = Article.objects.filter(pk=article_id, organisation=organisation, is_archived=False)
    if context != FeedbackContext.DESK:
        qs = qs.filter(audience=Audience.PUBLIC)
    article = qs.first()
    if article is None:
        raise NotFound(_("No such article."), code="article_not_found")
    deflected = helpful and context == FeedbackContext.WEB_FORM
    feedback = ArticleFeedback.objects.create(
        article=article, organisation=organisation, language=language, context=context,
        service_code=service_code[:64], helpful=helpful, comment=comment.strip()[:1000])
    counters: dict[str, Any] = (
        {"helpful_count": F("helpful_count") + 1} if helpful
        else {"not_helpful_count": F("not_helpful_count") + 1})
    if deflected:
        counters["deflection_count"] = F("deflection_count") + 1
    Article.objects.filter(pk=article.pk).update(**counters)
    _event("kb.feedback", article, helpful=helpful, context=context, deflection=deflected,
           service=service_code[:64], language=language)
    return feedback
