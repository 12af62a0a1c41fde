"""Full-text search over knowledge-base articles, the same way as ticket search
(kapula/tickets/search.py, ADR 0002): one row per language version in ``kb_search``.

* PostgreSQL: a ``tsvector`` built with the version's language configuration, title
  weighted A; GIN index; queries are parsed with the Finnish, Swedish and English
  configurations and OR-ed.
* SQLite: FTS5 over Snowball-stemmed words.

Two ways to ask: :func:`search` wants every word (a search box), :func:`suggest` wants any of
the words and ranks by how many and how well they match (a ticket's or a form's text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from kapula.tickets.search import _WORD, PG_CONFIG, SNOWBALL, _stemmer, fts5_query, stem_text

MAX_DOCUMENT_CHARS = 200_000
#: a suggestion query uses at most this many distinct words of the text
SUGGEST_WORDS = 24


def create_schema(vendor: str, cursor: Any) -> None:
    if vendor == "postgresql":
        cursor.execute(
            """
            CREATE TABLE IF NOT EXISTS kb_search (
                translation_id bigint PRIMARY KEY,
                article_id bigint NOT NULL,
                organisation_id bigint NOT NULL,
                language varchar(2) NOT NULL,
                audience varchar(10) NOT NULL,
                published boolean NOT NULL,
                updated_at timestamptz NOT NULL,
                document tsvector NOT NULL
            )
            """
        )
        # Articles change rarely: without the pending list (fastupdate) a search never has to
        # scan unmerged entries linearly, which after a bulk import cost tens of milliseconds.
        cursor.execute("CREATE INDEX IF NOT EXISTS kb_search_doc ON kb_search "
                       "USING gin (document) WITH (fastupdate = off)")
        cursor.execute("CREATE INDEX IF NOT EXISTS kb_search_scope "
                       "ON kb_search (organisation_id, published, audience)")
    else:
        cursor.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS kb_search USING fts5("
            "title, body, article_id UNINDEXED, organisation_id UNINDEXED, language UNINDEXED, "
            "audience UNINDEXED, published UNINDEXED, updated_at UNINDEXED, "
            "tokenize='unicode61')"
        )


def drop_schema(vendor: str, cursor: Any) -> None:
    cursor.execute("DROP TABLE IF EXISTS kb_search")


@dataclass(frozen=True)
class IndexRow:
    translation_id: int
    article_id: int
    organisation_id: int
    language: str
    audience: str
    published: bool
    updated_at: datetime
    title: str
    body: str


def upsert(rows: Sequence[IndexRow]) -> None:
    if not rows:
        return
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            sql = (
                "INSERT INTO kb_search (translation_id, article_id, organisation_id, language, "
                "audience, published, updated_at, document) VALUES (%s, %s, %s, %s, %s, %s, %s, "
                "setweight(to_tsvector(%s::regconfig, %s), 'A') || "
                "to_tsvector(%s::regconfig, %s)) "
                "ON CONFLICT (translation_id) DO UPDATE SET article_id = EXCLUDED.article_id, "
                "organisation_id = EXCLUDED.organisation_id, language = EXCLUDED.language, "
                "audience = EXCLUDED.audience, published = EXCLUDED.published, "
                "updated_at = EXCLUDED.updated_at, document = EXCLUDED.document"
            )
            params = []
            for r in rows:
                cfg = PG_CONFIG.get(r.language, "simple")
                params.append((r.translation_id, r.article_id, r.organisation_id, r.language,
                               r.audience, r.published, r.updated_at, cfg, r.title, cfg,
                               r.body[:MAX_DOCUMENT_CHARS]))
            cur.executemany(sql, params)
        else:
            cur.executemany("DELETE FROM kb_search WHERE rowid = %s",
                            [(r.translation_id,) for r in rows])
            cur.executemany(
                "INSERT INTO kb_search (rowid, title, body, article_id, organisation_id, "
                "language, audience, published, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(r.translation_id, stem_text(r.title, r.language),
                  stem_text(r.body[:MAX_DOCUMENT_CHARS], r.language), r.article_id,
                  r.organisation_id, r.language, r.audience, int(r.published),
                  int(r.updated_at.timestamp())) for r in rows],
            )


def set_audience(article_id: int, audience: str) -> None:
    """Keep the index's audience column in step with the article."""
    with connection.cursor() as cur:
        cur.execute("UPDATE kb_search SET audience = %s WHERE article_id = %s",
                    [audience, article_id])


def delete_article(article_id: int) -> None:
    with connection.cursor() as cur:
        cur.execute("DELETE FROM kb_search WHERE article_id = %s", [article_id])


#: a stem is "common" when more than this share of the organisation's published language
#: versions has it, and at least COMMON_MIN_DOCUMENTS of them
COMMON_SHARE = 0.05
COMMON_MIN_DOCUMENTS = 200


def refresh_common_terms(organisation_id: int) -> int:
    """Recount the organisation's common stems (PostgreSQL; SQLite ranks every match).
    Costs one pass over the organisation's index rows: run after bulk loads and now and
    then after edits (actions do it at most hourly). Returns how many there are."""
    if connection.vendor != "postgresql":
        return 0
    org = int(organisation_id)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM kb_commonterm WHERE organisation_id = %s", [org])
        cur.execute(
            "INSERT INTO kb_commonterm (organisation_id, word, documents) "
            "SELECT %s, word, ndoc FROM ts_stat("
            f"'SELECT document FROM kb_search WHERE organisation_id = {org} AND published') "
            "WHERE ndoc > GREATEST(%s, %s * (SELECT count(*) FROM kb_search "
            "WHERE organisation_id = %s AND published)) AND length(word) <= 200",
            [org, COMMON_MIN_DOCUMENTS, COMMON_SHARE, org])
        return int(cur.rowcount)


def refresh_common_terms_soon(organisation_id: int) -> None:
    """After an edit: recount the common stems once the transaction commits, at most once
    an hour per organisation (the shared cache remembers when)."""
    from django.core.cache import cache

    if connection.vendor == "postgresql" and cache.add(
            f"kapula:kb:common-terms:{organisation_id}", 1, 3600):
        transaction.on_commit(lambda: refresh_common_terms(organisation_id))


def _words(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if len(word) >= 3 and not word.isdigit():
            seen.setdefault(word, None)
    return list(seen)[:SUGGEST_WORDS]


def _fts5_any(text: str) -> str:
    alts: set[str] = set()
    for word in _words(text):
        alts |= {word} | {_stemmer(lang).stemWord(word) for lang in SNOWBALL}
    return " OR ".join(f'"{s}"*' if len(s) >= 3 else f'"{s}"' for s in sorted(alts) if s)


def _query(*, organisation_id: int, text: str, any_word: bool, languages: Sequence[str] | None,
           audiences: Sequence[str] | None, published_only: bool,
           limit: int) -> list[tuple[int, int, float]]:
    text = text.strip()
    if not text:
        return []
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            return _pg_query(cur, organisation_id=organisation_id, text=text,
                             any_word=any_word, languages=languages, audiences=audiences,
                             published_only=published_only, limit=limit)
        match = _fts5_any(text) if any_word else fts5_query(text)
        if not match:
            return []
        where = ["kb_search MATCH %s", "organisation_id = %s"]
        params: list[Any] = [match, organisation_id]
        if published_only:
            where.append("published = 1")
        if audiences is not None:
            where.append("audience IN (" + ", ".join(["%s"] * len(audiences)) + ")"
                         if audiences else "0")
            params += list(audiences)
        if languages is not None:
            where.append("language IN (" + ", ".join(["%s"] * len(languages)) + ")"
                         if languages else "0")
            params += list(languages)
        params.append(limit)
        cur.execute(
            "SELECT rowid, article_id, bm25(kb_search, 4.0, 1.0) AS rank FROM kb_search "
            "WHERE " + " AND ".join(where) + " ORDER BY rank LIMIT %s",
            params,
        )
        return [(int(r[0]), int(r[1]), -float(r[2])) for r in cur.fetchall()]


def search(*, organisation_id: int, text: str, languages: Sequence[str] | None = None,
           audiences: Sequence[str] | None = None, published_only: bool = False,
           limit: int = 50) -> list[tuple[int, int, float]]:
    """(translation id, article id, rank) best first; every word of ``text`` must match."""
    return _query(organisation_id=organisation_id, text=text, any_word=False,
                  languages=languages, audiences=audiences, published_only=published_only,
                  limit=limit)


def suggest(*, organisation_id: int, text: str, languages: Sequence[str] | None = None,
            audiences: Sequence[str] | None = None, published_only: bool = True,
            limit: int = 5) -> list[tuple[int, int, float]]:
    """(translation id, article id, rank) best first; any word of ``text`` may match."""
    return _query(organisation_id=organisation_id, text=text, any_word=True,
                  languages=languages, audiences=audiences, published_only=published_only,
                  limit=limit)


#: the stems of a list of words, with the word each came from (all three configurations)
_PG_STEMS = (
    "SELECT x.word, s.lex FROM unnest(%s::text[]) AS x(word), LATERAL unnest("
    "tsvector_to_array(to_tsvector('finnish', x.word) || to_tsvector('swedish', x.word) || "
    "to_tsvector('english', x.word))) AS s(lex)")
_PG_OR = "to_tsquery('simple', string_agg(DISTINCT quote_literal(lex), ' | '))"


def _pg_query(cur: Any, *, organisation_id: int, text: str, any_word: bool,
              languages: Sequence[str] | None, audiences: Sequence[str] | None,
              published_only: bool, limit: int) -> list[tuple[int, int, float]]:
    where = ["s.organisation_id = %s"]
    filters: list[Any] = [organisation_id]
    if published_only:
        where.append("s.published")
    if audiences is not None:
        where.append("s.audience = ANY(%s)")
        filters.append(list(audiences))
    if languages is not None:
        where.append("s.language = ANY(%s)")
        filters.append(list(languages))
    scope = " AND ".join(where)
    # The queries are MATERIALIZED so that the planner cannot see their words: it then
    # estimates a few matches and uses the GIN index, instead of scanning the table when
    # its statistics guess that a common word matches thousands of rows
    # (docs/performance.md).
    if not any_word:
        cur.execute(
            "WITH q AS MATERIALIZED (SELECT websearch_to_tsquery('finnish', %s) || "
            "websearch_to_tsquery('swedish', %s) || websearch_to_tsquery('english', %s) "
            "AS query) "
            "SELECT s.translation_id, s.article_id, ts_rank(s.document, q.query) AS rank "
            f"FROM kb_search s, q WHERE s.document @@ q.query AND {scope} "
            "ORDER BY rank DESC, s.updated_at DESC LIMIT %s",
            [text, text, text, *filters, limit])
        return [(int(r[0]), int(r[1]), float(r[2])) for r in cur.fetchall()]
    words = _words(text)
    if not words:
        return []
    # Any word may match. A word any of whose stems is one of the organisation's common
    # stems (refresh_common_terms) does not find articles when the text has rarer words:
    # it would match a large part of the knowledge base and say little. Every word counts
    # in the ranking; when the rarer words find nothing, all words are used after all.
    cur.execute(
        f"WITH w AS MATERIALIZED ({_PG_STEMS}), "
        "rare AS (SELECT word FROM w GROUP BY word HAVING NOT bool_or(lex IN ("
        "SELECT c.word FROM kb_commonterm c WHERE c.organisation_id = %s))), "
        f"q AS MATERIALIZED (SELECT (SELECT {_PG_OR} FROM w WHERE word IN "
        f"(SELECT word FROM rare)) AS rare_query, (SELECT {_PG_OR} FROM w) AS query), "
        "first AS (SELECT s.translation_id, s.article_id, s.updated_at, "
        "ts_rank(s.document, q.query) AS rank FROM kb_search s, q "
        f"WHERE s.document @@ q.rare_query AND {scope} "
        "ORDER BY rank DESC, s.updated_at DESC LIMIT %s), "
        "fallback AS (SELECT s.translation_id, s.article_id, s.updated_at, "
        "ts_rank(s.document, q.query) AS rank FROM kb_search s, q "
        f"WHERE NOT EXISTS (SELECT 1 FROM first) AND s.document @@ q.query AND {scope} "
        "ORDER BY rank DESC, s.updated_at DESC LIMIT %s) "
        "SELECT translation_id, article_id, rank FROM first UNION ALL "
        "SELECT translation_id, article_id, rank FROM fallback "
        "ORDER BY rank DESC, translation_id DESC",
        [words, organisation_id, *filters, limit, *filters, limit])
    return [(int(r[0]), int(r[1]), float(r[2])) for r in cur.fetchall()]
