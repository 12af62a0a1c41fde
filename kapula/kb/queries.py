"""Reading the knowledge base: which language version to show, how current the others are,
search and suggestions. A few queries each, however many articles match."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from kapula.core.models import Language
from kapula.kb import search
from kapula.kb.access import is_staff, public_articles, visible_articles
from kapula.kb.models import Article, ArticleTranslation, Audience, TranslationStatus
from kapula.tickets.models import Message, MessageKind, Ticket

#: how a language version stands against the original
CURRENT, OUTDATED, MISSING, DRAFT, ORIGINAL = "current", "outdated", "missing", "draft", "original"


@dataclass
class Shown:
    """An article as shown to one reader in one language."""

    article: Article
    #: the language version shown (the wanted one if it exists, else the original)
    translation: ArticleTranslation
    wanted: str
    #: language -> ORIGINAL / CURRENT / OUTDATED / DRAFT / MISSING
    states: dict[str, str] = field(default_factory=dict)
    rank: float = 0.0

    @property
    def missing(self) -> bool:
        """The wanted language has no (published, for the public) version."""
        return self.translation.language != self.wanted

    @property
    def outdated(self) -> bool:
        return self.states.get(self.translation.language) == OUTDATED

    @property
    def excerpt(self) -> str:
        text = " ".join(self.translation.body_text.split())
        return text if len(text) <= 240 else text[:240].rsplit(" ", 1)[0] + " …"


def states(article: Article, translations: Iterable[ArticleTranslation],
           published_only: bool = False) -> dict[str, str]:
    by_lang = {t.language: t for t in translations
               if not published_only or t.status == TranslationStatus.PUBLISHED}
    original = by_lang.get(article.original_language)
    out: dict[str, str] = {}
    for lang in Language.values:
        t = by_lang.get(lang)
        if t is None:
            out[lang] = MISSING
        elif lang == article.original_language:
            out[lang] = ORIGINAL if t.is_published else DRAFT
        elif not t.is_published:
            out[lang] = DRAFT
        elif original is not None and (t.source_version or 0) < original.version:
            out[lang] = OUTDATED
        else:
            out[lang] = CURRENT
    return out


def pick(article: Article, translations: Sequence[ArticleTranslation], wanted: str,
         published_only: bool = False) -> Shown | None:
    usable = [t for t in translations
              if not published_only or t.status == TranslationStatus.PUBLISHED]
    if not usable:
        return None
    by_lang = {t.language: t for t in usable}
    chosen = (by_lang.get(wanted) or by_lang.get(article.original_language)
              or sorted(usable, key=lambda t: Language.values.index(t.language))[0])
    return Shown(article, chosen, wanted, states(article, translations, published_only))


def _load(article_ids: Sequence[int], wanted: str, published_only: bool,
          base: QuerySet[Article]) -> dict[int, Shown]:
    if not article_ids:
        return {}
    articles = {a.pk: a for a in base.filter(pk__in=list(article_ids))
                .select_related("category")}
    translations: dict[int, list[ArticleTranslation]] = {}
    for t in ArticleTranslation.objects.filter(article_id__in=list(articles)).only(
            "article_id", "language", "title", "body_text", "status", "version",
            "source_version", "updated_at"):
        translations.setdefault(t.article_id, []).append(t)
    out = {}
    for pk, article in articles.items():
        shown = pick(article, translations.get(pk, []), wanted, published_only)
        if shown is not None:
            out[pk] = shown
    return out


def _shown(hits: list[tuple[int, int, float]], base: QuerySet[Article], wanted: str,
           published_only: bool, limit: int) -> list[Shown]:
    """The articles of ``hits`` that ``base`` allows, best first, in ``wanted``."""
    loaded = _load(sorted({h[1] for h in hits}), wanted, published_only, base)
    return _ranked(hits, loaded, limit)


def _ranked(hits: list[tuple[int, int, float]], loaded: dict[int, Shown],
            limit: int) -> list[Shown]:
    out: list[Shown] = []
    seen: set[int] = set()
    for _tid, article_id, rank in hits:
        if article_id in seen or article_id not in loaded:
            continue
        seen.add(article_id)
        shown = loaded[article_id]
        shown.rank = rank
        out.append(shown)
        if len(out) >= limit:
            break
    return out


def search_articles(user: Any, text: str, *, language: str, limit: int = 25,
                    include_archived: bool = False) -> list[Shown]:
    """Articles ``user`` may see matching every word of ``text`` (drafts included), best
    first, each shown in ``language`` where it has that version."""
    if not is_staff(user):
        return []
    hits = search.search(organisation_id=user.organisation_id, text=text, limit=limit * 2)
    base = visible_articles(user)
    if not include_archived:
        base = base.filter(is_archived=False)
    return _shown(hits, base, language, False, limit)


def public_search(organisation_id: int, text: str, *, language: str,
                  limit: int = 20) -> list[Shown]:
    """Published public articles matching every word of ``text``."""
    hits = search.search(organisation_id=organisation_id, text=text,
                         audiences=[Audience.PUBLIC], published_only=True, limit=limit * 2)
    return _shown(hits, public_articles(organisation_id), language, True, limit)


def suggest_public(organisation_id: int, text: str, *, language: str,
                   limit: int = 3) -> list[Shown]:
    """Published public articles for a customer's text as they type it (any word)."""
    hits = search.suggest(organisation_id=organisation_id, text=text,
                          audiences=[Audience.PUBLIC], published_only=True, limit=limit * 2)
    return _shown(hits, public_articles(organisation_id), language, True, limit)


def ticket_text(ticket: Ticket) -> str:
    """What a ticket is about: its title and the customer's first message."""
    first = (Message.objects.filter(ticket=ticket, kind=MessageKind.INBOUND)
             .order_by("created_at", "id").values_list("body_text", flat=True).first())
    return f"{ticket.title}\n{(first or '')[:4000]}"


def suggest_for_ticket(user: Any, ticket: Ticket, *, limit: int = 5,
                       text: str | None = None) -> list[Shown]:
    """Published articles ``user`` may see that best match the ticket, in the ticket's
    language where they have it."""
    if not is_staff(user) or ticket.organisation_id != user.organisation_id:
        return []
    hits = search.suggest(organisation_id=ticket.organisation_id,
                          text=text if text is not None else ticket_text(ticket),
                          published_only=True, limit=limit * 2)
    return _shown(hits, visible_articles(user).filter(is_archived=False), ticket.language,
                  True, limit)
