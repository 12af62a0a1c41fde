"""Agent workspace pages, server time: each request runs through Django in-process
(django.test.Client with a logged-in agent and a warm database connection), so the figure
is the time spent inside Django (middleware, view, queries, template), without the network.
"""

from __future__ import annotations

from common import iterations, percentile, record, setup_django, timed

setup_django()

from django.test import Client  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402
from prepare import long_tickets, users  # noqa: E402
from queries import SEARCH_WORDS  # noqa: E402

from kapula.core.models import Team  # noqa: E402

TARGET_PAGE_MS = 30.0
TARGET_SEARCH_MS = 150.0


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def get(client: Client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")


def main() -> None:
    try:
        queue_url = reverse("desk:queue")
        search_url = reverse("desk:search")
        reverse("desk:ticket", args=[1])
    except NoReverseMatch:
        print("desk pages are not available yet: skipped")
        return
    n = iterations()
    people = users()
    queue_samples: list[float] = []
    for name in ("aino", "elias", "helena"):
        user = people[name]
        client = client_for(user)
        team = Team.objects.filter(memberships__user=user).order_by("id").first()
        views = ["mine", "unassigned", "all"] + ([f"team&team={team.pk}"] if team else [])
        for view in views:
            url = f"{queue_url}?view={view}"
            samples = timed(lambda c=client, u=url: get(c, u), n)
            queue_samples += samples
            record(f"page: queue ?view={view.split('&')[0]} ({name})", samples,
                   target=f"p95 <= {TARGET_PAGE_MS:.0f} ms",
                   ok=percentile(samples, 95) <= TARGET_PAGE_MS)
    record("page: queue, all views and users", queue_samples,
           target=f"p95 <= {TARGET_PAGE_MS:.0f} ms",
           ok=percentile(queue_samples, 95) <= TARGET_PAGE_MS)

    agent = people["aino"]
    client = client_for(agent)
    ids = long_tickets(agent)
    urls = [reverse("desk:ticket", args=[i]) for i in ids]
    counter = [0]

    def ticket_page() -> None:
        counter[0] += 1
        get(client, urls[counter[0] % len(urls)])

    samples = timed(ticket_page, n)
    record("page: ticket with 20 messages (aino)", samples,
           target=f"p95 <= {TARGET_PAGE_MS:.0f} ms",
           ok=percentile(samples, 95) <= TARGET_PAGE_MS)

    for who, widen in (("aino", False), ("helena", False), ("helena", True)):
        client = client_for(people[who])
        all_samples: list[float] = []
        worst = ("", 0.0)
        for words in SEARCH_WORDS.values():
            for word in words:
                url = f"{search_url}?q={word}" + ("&widen=1" if widen else "")
                samples = timed(lambda c=client, u=url: get(c, u), max(5, n // 6), warmup=1)
                all_samples += samples
                if percentile(samples, 95) > worst[1]:
                    worst = (word, percentile(samples, 95))
        scope = "widened" if widen else "default scope"
        record(f"page: search one word ({who}, {scope})", all_samples,
               target=f"p95 <= {TARGET_SEARCH_MS:.0f} ms",
               ok=percentile(all_samples, 95) <= TARGET_SEARCH_MS,
               note=f"slowest word {worst[0]} p95 {worst[1]:.0f} ms")


if __name__ == "__main__":
    main()
