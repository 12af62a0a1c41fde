"""The knowledge base: articles, their language versions, revisions, attachments and the
feedback that customers and agents give on them.

An :class:`Article` is the language-independent record (organisation, category, audience,
review date). Its text lives in one :class:`ArticleTranslation` per language; the version in
the article's original language is the source the others are translated from. A translation
remembers which version of the source it was made from, so an updated source marks the other
languages as outdated until somebody revises them.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kapula.core.models import Language, Organisation, Unit, User


class Audience(models.TextChoices):
    PUBLIC = "public", _("Public (customers and staff)")
    INTERNAL = "internal", _("Internal (all staff)")
    UNITS = "units", _("Chosen units")


class Article(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+",
                                     verbose_name=_("organisation"))
    category = models.ForeignKey(
        "tickets.Category", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("category"))
    audience = models.CharField(_("audience"), max_length=10, choices=Audience.choices,
                                default=Audience.INTERNAL)
    units = models.ManyToManyField(
        Unit, blank=True, related_name="+", verbose_name=_("units"),
        help_text=_("For the audience 'chosen units': staff of these units and their "
                    "sub-units see the article."))
    original_language = models.CharField(_("original language"), max_length=2,
                                         choices=Language.choices, default=Language.FI)
    review_due = models.DateField(_("review by"), null=True, blank=True)
    source_ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("made from ticket"))
    is_archived = models.BooleanField(_("archived"), default=False)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    #: counted from feedback (see actions.record_feedback)
    helpful_count = models.PositiveIntegerField(_("helpful"), default=0)
    not_helpful_count = models.PositiveIntegerField(_("not helpful"), default=0)
    deflection_count = models.PositiveIntegerField(_("deflections"), default=0)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        indexes: ClassVar = [
            models.Index(fields=["organisation", "-updated_at"], name="kb_article_recent"),
            models.Index(fields=["organisation", "review_due"], name="kb_article_review"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"


class TranslationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class ArticleTranslation(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    title = models.CharField(_("title"), max_length=300)
    #: sanitised HTML (kapula.core.text.sanitise_html); body_text is derived from it
    body_html = models.TextField(_("text"))
    body_text = models.TextField(blank=True)
    status = models.CharField(_("status"), max_length=10, choices=TranslationStatus.choices,
                              default=TranslationStatus.DRAFT)
    #: raised by every change of title or text
    version = models.PositiveIntegerField(default=1)
    #: for a translation: the version of the original-language text it was made from
    source_version = models.PositiveIntegerField(null=True, blank=True)
    updated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    class Meta:
        verbose_name = _("language version")
        verbose_name_plural = _("language versions")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["article", "language"], name="kb_one_per_language")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == TranslationStatus.PUBLISHED


class ArticleRevision(models.Model):
    """A saved state of one language version: the version history."""

    translation = models.ForeignKey(ArticleTranslation, on_delete=models.CASCADE,
                                    related_name="revisions")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    body_html = models.TextField()
    status = models.CharField(max_length=10, choices=TranslationStatus.choices)
    note = models.CharField(_("change note"), max_length=300, blank=True)
    author = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    author_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["translation", "version"], name="kb_revision_unique")
        ]


def attachment_path(instance: ArticleAttachment, filename: str) -> str:
    return f"kb/{instance.article.organisation_id}/{instance.article_id}/{instance.sha256[:16]}"


class ArticleAttachment(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=300)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["filename", "id"]

    def __str__(self) -> str:
        return self.filename


class FeedbackContext(models.TextChoices):
    WEB_FORM = "web_form", _("Suggestion on a web form")
    PUBLIC_KB = "public_kb", _("Public knowledge base")
    DESK = "desk", _("Agent")


class ArticleFeedback(models.Model):
    """One "did this solve it?" answer. A yes on a web form's suggestion is a deflection: the
    customer found the answer and did not send the form."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    language = models.CharField(max_length=2, choices=Language.choices)
    context = models.CharField(max_length=10, choices=FeedbackContext.choices)
    #: the catalogue service whose form showed the suggestion
    service_code = models.CharField(max_length=64, blank=True)
    helpful = models.BooleanField()
    comment = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["organisation", "created_at"], name="kb_feedback_time"),
        ]


class CommonTerm(models.Model):
    """A word (a stem, as the search index holds it) found in so many of an organisation's
    published articles that it says little about which one fits: suggestions leave it out
    of their query when the text has rarer words (kapula.kb.search.refresh_common_terms)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    word = models.CharField(max_length=200)
    documents = models.PositiveIntegerField()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "word"], name="kb_common_term")
        ]
