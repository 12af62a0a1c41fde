"""Readable ticket numbers: PREFIX-YEAR-000123, unique per organisation.

On PostgreSQL each organisation and year has its own SEQUENCE: ``nextval`` never blocks
other transactions, so concurrent intake does not serialise on a counter row (a rolled-back
transaction leaves a gap, as sequences do). On SQLite, where writes are serialised anyway,
a counter row is incremented in the caller's transaction.
"""

from __future__ import annotations

import contextlib

from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from kapula.core.models import Organisation
from kapula.tickets.models import TicketSequence


def sequence_name(organisation_id: int, year: int) -> str:
    return f"kapula_ticket_seq_{int(organisation_id)}_{int(year)}"


def format_number(prefix: str, year: int, seq: int) -> str:
    return f"{prefix}-{year}-{seq:06d}"


def next_number(organisation: Organisation, year: int | None = None) -> str:
    year = year or timezone.localdate().year
    return format_number(organisation.ticket_prefix, year, _next_value(organisation.pk, year))


_known_sequences: set[str] = set()


def _lock_key(organisation_id: int, year: int) -> int:
    """The advisory lock of one organisation's numbers for one year."""
    return 0x4B50_0000_0000_0000 + int(organisation_id) * 10_000 + int(year)


def _next_value(organisation_id: int, year: int) -> int:
    if connection.vendor == "postgresql":
        name = sequence_name(organisation_id, year)
        with connection.cursor() as cur:
            # the shared advisory lock keeps numbers away from a block being reserved for a
            # bulk load (reserve_block takes it exclusively); it costs no extra round trip
            take = f"SELECT pg_advisory_xact_lock_shared(%s), nextval('{name}')"
            key = [_lock_key(organisation_id, year)]
            if name in _known_sequences:
                cur.execute(take, key)
                return int(cur.fetchone()[1])
            try:
                with transaction.atomic():
                    cur.execute(take, key)
                    value = int(cur.fetchone()[1])
            except DatabaseError:  # no sequence yet for this organisation and year
                ensure_sequence(organisation_id, year)
                cur.execute(take, key)
                value = int(cur.fetchone()[1])
            # Remember it only once it surely exists (a rolled-back CREATE leaves nothing).
            transaction.on_commit(lambda: _known_sequences.add(name))
            return value
    updated = TicketSequence.objects.filter(organisation_id=organisation_id, year=year).update(
        last=F("last") + 1
    )
    if not updated:
        TicketSequence.objects.get_or_create(organisation_id=organisation_id, year=year)
        TicketSequence.objects.filter(organisation_id=organisation_id, year=year).update(
            last=F("last") + 1
        )
    return TicketSequence.objects.filter(organisation_id=organisation_id, year=year).values_list(
        "last", flat=True
    )[0]


def ensure_sequence(organisation_id: int, year: int, start_after: int = 0) -> None:
    """Create the PostgreSQL sequence (idempotent); move it past ``start_after``."""
    name = sequence_name(organisation_id, year)
    with connection.cursor() as cur:
        # A concurrent CREATE may win the race (unique violation): the sequence exists then.
        with contextlib.suppress(DatabaseError), transaction.atomic():
            cur.execute(f"CREATE SEQUENCE IF NOT EXISTS {name}")
        if start_after:
            cur.execute(
                f"SELECT setval('{name}', GREATEST(%s, (SELECT last_value FROM {name})))",
                [start_after],
            )


def reserve_block(organisation: Organisation, year: int, count: int) -> int:
    """Reserve ``count`` consecutive numbers (for bulk loading); returns the first."""
    if connection.vendor == "postgresql":
        ensure_sequence(organisation.pk, year)
        name = sequence_name(organisation.pk, year)
        with transaction.atomic(), connection.cursor() as cur:
            # waits for tickets being numbered right now, and holds new ones back until the
            # block is reserved (they take the lock shared in _next_value)
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(organisation.pk, year)])
            cur.execute(f"SELECT last_value, is_called FROM {name}")
            last, called = cur.fetchone()
            start = int(last) + 1 if called else int(last)
            cur.execute(f"SELECT setval('{name}', %s)", [start + count - 1])
            return start
    seq, _ = TicketSequence.objects.select_for_update().get_or_create(
        organisation=organisation, year=year
    )
    start = seq.last + 1
    seq.last += count
    seq.save(update_fields=["last"])
    return start
