"""Rows of the permission matrix (tests/test_permissions.py) for the agents' knowledge base
need an article to point at: an internal article of the first organisation with one
revision and one attachment, made with the ORM (no events), once per test."""

from __future__ import annotations

from typing import Any

from kapula.kb.models import (
    Article,
    ArticleAttachment,
    ArticleRevision,
    ArticleTranslation,
    Audience,
    TranslationStatus,
)
from kapula.tickets import attachments as att


def kb_ids(c: Any) -> dict[str, int]:
    if "kb_desk" not in c.__dict__:
        article = Article.objects.create(organisation=c.world.org, audience=Audience.INTERNAL,
                                         original_language="fi", created_by=c.world.lead)
        t = ArticleTranslation.objects.create(
            article=article, language="fi", title="Tulostimen ohje",
            body_html="<p>Käynnistä tulostin.</p>", body_text="Käynnistä tulostin.",
            status=TranslationStatus.PUBLISHED)
        ArticleRevision.objects.create(translation=t, version=1, title=t.title,
                                       body_html=t.body_html, status=t.status)
        checked = att.check([att.AttachmentInput("ohje.txt", b"ohje", "text/plain")])[0]
        attachment = ArticleAttachment(article=article, filename=checked.filename,
                                       content_type=checked.content_type, size=checked.size,
                                       sha256=checked.sha256)
        attachment.file.name = att.store(checked)
        attachment.save()
        c.__dict__["kb_desk"] = {"article": article.pk, "attachment": attachment.pk}
    return dict(c.__dict__["kb_desk"])


def kb_version(c: Any) -> int:
    return int(Article.objects.filter(pk=kb_ids(c)["article"]).values_list(
        "version", flat=True).get())
