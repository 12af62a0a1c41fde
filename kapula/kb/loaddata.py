"""Bulk knowledge-base articles for benchmarks (``kapula generate_kb_data``): varied fi/sv/en
texts built from a small vocabulary, written with bulk inserts and indexed in batches."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from kapula.core.models import Organisation
from kapula.core.text import text_to_html
from kapula.kb import search
from kapula.kb.models import (
    Article,
    ArticleRevision,
    ArticleTranslation,
    Audience,
    TranslationStatus,
)
from kapula.tickets.models import Category

# subjects, problems and actions per language; index i means the same thing in each
SUBJECTS = {
    "fi": ["tulostin", "salasana", "katuvalo", "jäteastia", "pysäköinti", "sähköposti",
           "verkkoyhteys", "kulkukortti", "puhelin", "kirjaston kortti", "uimahalli",
           "päiväkotipaikka", "rakennuslupa", "liikennemerkki", "puistonpenkki", "vesimittari",
           "etätyöyhteys", "Teams-kokous", "laskutus", "asukaspysäköinti"],
    "sv": ["skrivaren", "lösenordet", "gatlyktan", "soptunnan", "parkeringen", "e-posten",
           "nätverket", "passerkortet", "telefonen", "bibliotekskortet", "simhallen",
           "daghemsplatsen", "bygglovet", "trafikmärket", "parkbänken", "vattenmätaren",
           "distansförbindelsen", "Teams-mötet", "faktureringen", "boendeparkeringen"],
    "en": ["printer", "password", "street light", "waste bin", "parking", "email",
           "network connection", "access card", "phone", "library card", "swimming hall",
           "daycare place", "building permit", "traffic sign", "park bench", "water meter",
           "remote connection", "Teams meeting", "invoicing", "resident parking"],
}
PROBLEMS = {
    "fi": ["ei toimi", "on rikki", "puuttuu", "on vanhentunut", "ei näy", "on jumissa",
           "antaa virheilmoituksen", "on liian hidas"],
    "sv": ["fungerar inte", "är trasig", "saknas", "har gått ut", "syns inte", "har fastnat",
           "ger ett felmeddelande", "är för långsam"],
    "en": ["does not work", "is broken", "is missing", "has expired", "is not shown",
           "is stuck", "gives an error message", "is too slow"],
}
STEPS = {
    "fi": ["Käynnistä laite uudelleen ja odota kaksi minuuttia.",
           "Tarkista, että olet kirjautunut oikeilla tunnuksilla.",
           "Täytä sähköinen lomake ja liitä mukaan kuva.",
           "Soita palvelupisteeseen arkisin kello 8–16.",
           "Odota vahvistusviestiä sähköpostiisi.",
           "Tarkista tilanne asiointipalvelusta tunnistautumalla.",
           "Ilmoita laitteen sarjanumero ja sijainti.",
           "Maksu peritään seuraavan laskun yhteydessä."],
    "sv": ["Starta om enheten och vänta två minuter.",
           "Kontrollera att du har loggat in med rätt koder.",
           "Fyll i den elektroniska blanketten och bifoga en bild.",
           "Ring servicepunkten vardagar klockan 8–16.",
           "Vänta på ett bekräftelsemeddelande i din e-post.",
           "Kontrollera läget i e-tjänsten efter identifiering.",
           "Uppge enhetens serienummer och plats.",
           "Avgiften debiteras med nästa faktura."],
    "en": ["Restart the device and wait for two minutes.",
           "Check that you logged in with the right account.",
           "Fill in the online form and attach a photo.",
           "Call the service point on weekdays from 8 to 16.",
           "Wait for a confirmation message in your email.",
           "Check the status in the online service after identifying.",
           "Give the device's serial number and location.",
           "The fee is charged with the next invoice."],
}
TITLES = {"fi": "{s} {p}", "sv": "{s} {p}", "en": "The {s} {p}"}


@dataclass
class Summary:
    articles: int
    translations: int
    seconds: float


def _text(rng: random.Random, lang: str, s: int, p: int) -> tuple[str, str]:
    subject, problem = SUBJECTS[lang][s], PROBLEMS[lang][p]
    title = TITLES[lang].format(s=subject, p=problem)
    title = title[0].upper() + title[1:]
    steps = rng.sample(STEPS[lang], k=rng.randint(3, 6))
    body = f"{title}.\n\n" + "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))
    return title, body


def generate(org: Organisation, *, articles: int, seed: int = 1, batch: int = 2000,
             progress: Callable[[str], None] | None = None) -> Summary:
    rng = random.Random(seed)
    started = time.perf_counter()
    categories = list(Category.objects.filter(organisation=org).values_list("pk", flat=True))
    made = translations = 0
    now = timezone.now()
    while made < articles:
        n = min(batch, articles - made)
        with transaction.atomic():
            rows = []
            plans = []
            for _ in range(n):
                s, p = rng.randrange(len(SUBJECTS["fi"])), rng.randrange(len(PROBLEMS["fi"]))
                roll = rng.random()
                langs = ["fi"] if roll < 0.55 else ["fi", "sv"] if roll < 0.85 else [
                    "fi", "sv", "en"]
                audience = Audience.PUBLIC if rng.random() < 0.6 else Audience.INTERNAL
                rows.append(Article(
                    organisation=org, audience=audience, original_language="fi",
                    category_id=rng.choice(categories) if categories else None,
                    created_at=now, updated_at=now))
                plans.append((s, p, langs))
            created = Article.objects.bulk_create(rows)
            trows = []
            for article, (s, p, langs) in zip(created, plans, strict=True):
                published = rng.random() < 0.9
                for lang in langs:
                    title, body = _text(rng, lang, s, p)
                    trows.append(ArticleTranslation(
                        article=article, language=lang, title=title,
                        body_html=text_to_html(body), body_text=body,
                        status=TranslationStatus.PUBLISHED if published
                        else TranslationStatus.DRAFT,
                        source_version=None if lang == "fi" else 1, updated_at=now,
                        published_at=now if published else None))
            tcreated = ArticleTranslation.objects.bulk_create(trows)
            ArticleRevision.objects.bulk_create([
                ArticleRevision(translation=t, version=1, title=t.title, body_html=t.body_html,
                                status=t.status, note="generated", created_at=now)
                for t in tcreated])
            by_id = {a.pk: a for a in created}
            search.upsert([search.IndexRow(
                translation_id=t.pk, article_id=t.article_id, organisation_id=org.pk,
                language=t.language, audience=by_id[t.article_id].audience,
                published=t.status == TranslationStatus.PUBLISHED, updated_at=now,
                title=t.title, body=t.body_text) for t in tcreated])
        made += n
        translations += len(trows)
        if progress:
            progress(f"{made} articles")
    from django.db import connection

    if connection.vendor == "postgresql":  # fresh statistics for the planner after a bulk load
        with connection.cursor() as cur:
            for table in ("kb_article", "kb_articletranslation", "kb_search"):
                cur.execute(f"ANALYZE {table}")
        search.refresh_common_terms(org.pk)
    return Summary(made, translations, time.perf_counter() - started)
