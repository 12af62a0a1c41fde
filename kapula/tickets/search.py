"""Full-text search over tickets.

The index is one row per ticket in ``tickets_search`` (no Django model: its shape differs by
database). Actions keep it current in the same transaction as the change.

* PostgreSQL: a ``tsvector`` built with the ticket language's configuration (finnish,
  swedish, english), title weighted A; GIN index; the query is parsed with all three
  configurations and OR-ed, so a Finnish word finds Finnish tickets by its stem.
* SQLite: an FTS5 table holding Snowball-stemmed words (the same Finnish, Swedish and
  English stemmers PostgreSQL uses); each query word is stemmed with all three and the
  stems are OR-ed, matched as prefixes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import connection

PG_CONFIG = {"fi": "finnish", "sv": "swedish", "en": "english"}
#: PostgreSQL ranks at most this many of the newest matches (older ones rank below them)
RANK_WINDOW = 500
MAX_DOCUMENT_CHARS = 200_000


def create_schema(vendor: str, cursor: object) -> None:
    cur = cursor
    if vendor == "postgresql":
        cur.execute(  # type: ignore[attr-defined]
            """
            CREATE TABLE IF NOT EXISTS tickets_search (
                ticket_id bigint PRIMARY KEY,
                organisation_id bigint NOT NULL,
                team_id bigint,
                assignee_id bigint,
                created_at timestamptz NOT NULL,
                document tsvector NOT NULL
            )
            """
        )
        cur.execute(  # type: ignore[attr-defined]
            "CREATE INDEX IF NOT EXISTS tickets_search_doc ON tickets_search USING gin (document)"
        )
        cur.execute(  # type: ignore[attr-defined]
            "CREATE INDEX IF NOT EXISTS tickets_search_scope "
            "ON tickets_search (organisation_id, team_id, created_at)"
        )
        # newest matches first for common words (see search(); migration 0003)
        cur.execute(  # type: ignore[attr-defined]
            "CREATE INDEX IF NOT EXISTS tickets_search_recent "
            "ON tickets_search (organisation_id, created_at)"
        )
    else:
        cur.execute(  # type: ignore[attr-defined]
            "CREATE VIRTUAL TABLE IF NOT EXISTS tickets_search USING fts5("
            "title, body, organisation_id UNINDEXED, team_id UNINDEXED, assignee_id UNINDEXED, "
            "created_at UNINDEXED, tokenize='unicode61')"
        )


def drop_schema(vendor: str, cursor: object) -> None:
    cursor.execute("DROP TABLE IF EXISTS tickets_search")  # type: ignore[attr-defined]


@dataclass(frozen=True)
class IndexRow:
    ticket_id: int
    organisation_id: int
    team_id: int | None
    assignee_id: int | None
    created_at: datetime
    language: str
    title: str
    body: str


def upsert(rows: list[IndexRow]) -> None:
    if not rows:
        return
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            sql = (
                "INSERT INTO tickets_search (ticket_id, organisation_id, team_id, assignee_id, "
                "created_at, document) VALUES (%s, %s, %s, %s, %s, "
                "setweight(to_tsvector(%s::regconfig, %s), 'A') || "
                "to_tsvector(%s::regconfig, %s)) "
                "ON CONFLICT (ticket_id) DO UPDATE SET organisation_id = EXCLUDED.organisation_id,"
                " team_id = EXCLUDED.team_id, assignee_id = EXCLUDED.assignee_id, "
                "created_at = EXCLUDED.created_at, document = EXCLUDED.document"
            )
            params = []
            for r in rows:
                cfg = PG_CONFIG.get(r.language, "simple")
                params.append((r.ticket_id, r.organisation_id, r.team_id, r.assignee_id,
                               r.created_at, cfg, r.title, cfg, r.body[:MAX_DOCUMENT_CHARS]))
            cur.executemany(sql, params)
        else:
            cur.executemany(
                "DELETE FROM tickets_search WHERE rowid = %s", [(r.ticket_id,) for r in rows]
            )
            cur.executemany(
                "INSERT INTO tickets_search (rowid, title, body, organisation_id, team_id, "
                "assignee_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [(r.ticket_id, stem_text(r.title, r.language),
                  stem_text(r.body[:MAX_DOCUMENT_CHARS], r.language), r.organisation_id,
                  r.team_id, r.assignee_id, int(r.created_at.timestamp())) for r in rows],
            )


def update_routing(ticket_ids: list[int], team_id: int | None, assignee_id: int | None) -> None:
    """Keep the index's scope columns in step when a ticket changes team or assignee."""
    if not ticket_ids:
        return
    with connection.cursor() as cur:
        placeholders = ", ".join(["%s"] * len(ticket_ids))
        key = "ticket_id" if connection.vendor == "postgresql" else "rowid"
        cur.execute(
            f"UPDATE tickets_search SET team_id = %s, assignee_id = %s "
            f"WHERE {key} IN ({placeholders})",
            [team_id, assignee_id, *ticket_ids],
        )


def delete(ticket_ids: list[int]) -> None:
    if not ticket_ids:
        return
    key = "ticket_id" if connection.vendor == "postgresql" else "rowid"
    with connection.cursor() as cur:
        cur.executemany(f"DELETE FROM tickets_search WHERE {key} = %s",
                        [(t,) for t in ticket_ids])


_WORD = re.compile(r"\w+", re.UNICODE)
SNOWBALL = {"fi": "finnish", "sv": "swedish", "en": "english"}


@lru_cache(maxsize=4)
def _stemmer(language: str) -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer(SNOWBALL.get(language, "finnish"))


def stem_text(text: str, language: str) -> str:
    """Words of ``text`` stemmed for the SQLite index (numbers and codes kept whole)."""
    words = _WORD.findall(text.lower())
    return " ".join(_stemmer(language).stemWords(words))


def fts5_query(text: str) -> str:
    """A safe FTS5 MATCH expression: every word must occur; a word matches any of its
    Finnish, Swedish or English stems, as a prefix when the stem has 3 or more letters."""
    parts = []
    for word in _WORD.findall(text.lower())[:12]:
        stems = sorted({word} | {_stemmer(lang).stemWord(word) for lang in SNOWBALL})
        alts = [f'"{s}"*' if len(s) >= 3 else f'"{s}"' for s in stems if s]
        parts.append("(" + " OR ".join(alts) + ")")
    return " AND ".join(parts)


def search(
    *, organisation_id: int, text: str, team_ids: list[int] | None, assignee_id: int | None,
    since: datetime | None, limit: int = 50,
) -> list[tuple[int, float]]:
    """Ticket ids best first. ``team_ids=None`` means every team of the organisation; tickets
    assigned to ``assignee_id`` are included whatever their team."""
    text = text.strip()
    if not text:
        return []
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            where = ["s.organisation_id = %s", "s.document @@ q.query"]
            params: list[Any] = [text, text, text, organisation_id]
            if team_ids is not None:
                where.append("(s.team_id = ANY(%s) OR s.assignee_id = %s)")
                params += [list(team_ids), assignee_id]
            if since is not None:
                where.append("s.created_at >= %s")
                params.append(since)
            params += [RANK_WINDOW, limit]
            # Rank only the RANK_WINDOW newest matches: a common word matches a large part
            # of the index, and ranking all of them costs a heap visit per match. The
            # planner walks the (organisation_id, created_at) index backwards for common
            # words and uses the GIN index for rare ones (see docs/performance.md).
            cur.execute(
                "SELECT m.ticket_id, ts_rank(m.document, m.query) AS rank FROM ("
                "SELECT s.ticket_id, s.document, s.created_at, q.query "
                "FROM tickets_search s, (SELECT websearch_to_tsquery('finnish', %s) || "
                "websearch_to_tsquery('swedish', %s) || websearch_to_tsquery('english', %s) "
                "AS query) q WHERE " + " AND ".join(where) +
                " ORDER BY s.created_at DESC LIMIT %s) m "
                "ORDER BY rank DESC, m.created_at DESC LIMIT %s",
                params,
            )
            return [(int(r[0]), float(r[1])) for r in cur.fetchall()]
        match = fts5_query(text)
        if not match:
            return []
        where = ["tickets_search MATCH %s", "organisation_id = %s"]
        params = [match, organisation_id]
        if team_ids is not None:
            marks = ", ".join(["%s"] * len(team_ids)) or "NULL"
            where.append(f"(team_id IN ({marks}) OR assignee_id = %s)")
            params += [*team_ids, assignee_id]
        if since is not None:
            where.append("created_at >= %s")
            params.append(int(since.timestamp()))
        params.append(limit)
        cur.execute(
            "SELECT rowid, bm25(tickets_search, 4.0, 1.0) AS rank FROM tickets_search "
            "WHERE " + " AND ".join(where) + " ORDER BY rank LIMIT %s",
            params,
        )
        return [(int(r[0]), -float(r[1])) for r in cur.fetchall()]
