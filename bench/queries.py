"""The query layer (kapula.tickets.queries) on its own: queue pages, counts, a ticket with
its conversation, and full-text search. Figures in milliseconds per call."""

from __future__ import annotations

from common import iterations, record, setup_django, timed

setup_django()

from prepare import long_tickets, users  # noqa: E402

from kapula.core.models import Team  # noqa: E402
from kapula.tickets import queries  # noqa: E402
from kapula.tickets.actions import visible_or_404  # noqa: E402
from kapula.tickets.models import Ticket  # noqa: E402

#: one-word queries: very common, common, rare, very rare and absent words in fi/sv/en,
#: and a customer's surname (the index holds the customer's name and email)
SEARCH_WORDS = {
    "fi common": ["salasana", "ongelma", "kiitos", "toimi", "katuvalo", "hei"],
    "fi rare": ["Hervanta", "Kyocera", "vesimittari", "hulevesikaivo", "pelastustie",
                "xylofoni"],
    "sv": ["lösenordet", "skrivaren", "tack", "problemet", "Pispala", "brunnslock", "utegym"],
    "en": ["password", "printer", "thank", "problem", "Outlook", "graffiti", "defibrillator",
           "zebra"],
    "names": ["Virtanen", "Sjöberg"],
}


def fresh(user):  # the scope is computed once per request: do not reuse the cached one
    user.__dict__.pop("_kapula_scope", None)
    return user


def main() -> None:
    n = iterations()
    people = users()
    print(f"tickets in the database: {Ticket.objects.count()}")
    for name in ("aino", "elias", "helena"):
        user = people[name]
        for view in ("mine", "unassigned", "all"):
            samples = timed(lambda u=user, v=view: queries.paginate(
                queries.queue(fresh(u), v), limit=50).items, n)
            record(f"query: queue {view} ({user.role} {name}), 50 rows", samples)
        team = Team.objects.filter(memberships__user=user).order_by("id").first()
        if team is not None:
            samples = timed(lambda u=user, t=team.pk: queries.paginate(
                queries.queue(fresh(u), "team", t), limit=50).items, n)
            record(f"query: queue team ({name}, team {team.slug})", samples)
            page = queries.paginate(queries.queue(fresh(user), "team", team.pk), limit=50)
            if page.next_cursor:
                samples = timed(lambda u=user, t=team.pk, c=page.next_cursor: queries.paginate(
                    queries.queue(fresh(u), "team", t), cursor=c, limit=50).items, n)
                record(f"query: queue team page 2 ({name})", samples)
        samples = timed(lambda u=user: queries.queue_counts(fresh(u)), n)
        record(f"query: queue counts ({name})", samples)

    agent = people["aino"]
    ids = long_tickets(agent)

    def conversation(i=[0]):  # noqa: B006  (a counter across calls)
        i[0] += 1
        t = visible_or_404(fresh(agent), ids[i[0] % len(ids)])
        list(t.messages.select_related("author_user").prefetch_related("attachments"))
        list(t.history.all())

    record("query: ticket + 20 messages + history", timed(conversation, n))

    for who, widen in (("aino", False), ("helena", False), ("helena", True)):
        user = people[who]
        per_word: list[float] = []
        worst = ("", 0.0)
        for group, words in SEARCH_WORDS.items():
            for word in words:
                samples = timed(lambda u=user, w=word, wd=widen: queries.search_tickets(
                    fresh(u), w, widen=wd).tickets, max(5, n // 6), warmup=1)
                per_word += samples
                if max(samples) > worst[1]:
                    worst = (f"{group}: {word}", max(samples))
        scope = "widened to all" if widen else "default scope"
        record(f"query: search one word ({who}, {scope})", per_word,
               note=f"slowest word {worst[0]}")


if __name__ == "__main__":
    main()
