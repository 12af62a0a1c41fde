"""Bench fixtures that must exist in the data set: the demo users, and a few tickets with a
20-message conversation (added through the real actions, once)."""

from __future__ import annotations

from typing import Any

BENCH_USERS = ("aino", "elias", "linnea", "helena")
LONG_CONVERSATION = 20


def users() -> dict[str, Any]:
    from kapula.core.models import User

    found = {u.username: u for u in User.objects.filter(username__in=BENCH_USERS,
                                                         organisation__slug="demola")}
    missing = set(BENCH_USERS) - set(found)
    if missing:
        raise SystemExit(f"demo users missing ({', '.join(sorted(missing))}): run "
                         "`kapula demo_data` (and generate_load_data) first")
    return found


def long_tickets(user: Any, count: int = 10) -> list[int]:
    """Ids of ``count`` tickets visible to ``user`` with at least 20 messages."""
    from django.db.models import Q

    from kapula.core.access import scope_for
    from kapula.tickets import actions
    from kapula.tickets.models import MessageKind, Ticket

    visible = Ticket.objects.filter(scope_for(user).ticket_q())
    ids = list(visible.filter(message_count__gte=LONG_CONVERSATION, merged_into__isnull=True)
               .order_by("-id").values_list("id", flat=True)[:count])
    if len(ids) < count:
        extra = list(visible.filter(~Q(pk__in=ids), merged_into__isnull=True,
                                    team__in=user.teams.all())
                     .order_by("-id").values_list("id", flat=True)[:count - len(ids)])
        for tid in extra:
            ticket = Ticket.objects.get(pk=tid)
            for i in range(LONG_CONVERSATION - ticket.message_count):
                kind = (MessageKind.REPLY, MessageKind.INBOUND, MessageKind.NOTE)[i % 3]
                actor = None if kind == MessageKind.INBOUND else user
                actions.add_message(
                    actor=actor, ticket=ticket, kind=kind, language=ticket.language,
                    body=f"Viesti {i + 1}: tilanne päivitetty, jatketaan selvittelyä. "
                         "Message for the benchmark conversation.",
                )
            ids.append(tid)
    return ids
