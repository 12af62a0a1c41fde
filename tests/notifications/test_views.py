"""The notifications page, the header count, marking read and the preferences form:
fixed query counts, own notifications only, bad input answered with a 4xx."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kapula.core.models import User
from kapula.notifications import views
from kapula.notifications.models import Kind, Notification, Preferences
from kapula.tickets import actions as A
from kapula.tickets.models import Ticket
from tests.conftest import World


def ticket(world: World) -> Ticket:
    return A.create_ticket(actor=None, organisation=world.org, title="Tulostin jumissa",
                           body="Paperi juuttuu.", channel="email", team=world.it_desk)


def add(user: User, t: Ticket, n: int, start: int = 0, kind: str = Kind.ASSIGNED) -> None:
    Notification.objects.bulk_create([
        Notification(organisation_id=t.organisation_id, recipient=user, kind=kind, ticket=t,
                     event_id=10_000 + start + i, params={"number": t.number,
                                                          "title": f"Asia {start + i}"})
        for i in range(n)])


def client_for(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def queries(c: Client, path: str) -> tuple[int, bytes]:
    with CaptureQueriesContext(connection) as ctx:
        response = c.get(path)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries), response.content


def test_page_lists_newest_first_in_the_readers_language(world: World) -> None:
    t = ticket(world)
    add(world.lead, t, 2)
    add(world.agent, t, 1, start=50)
    c = client_for(world.lead)
    response = c.get("/notifications/", HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert f"{t.number} was assigned to you: Asia 1" in html
    assert html.index("Asia 1") < html.index("Asia 0")
    assert "Asia 50" not in html  # someone else's
    sv = c.get("/notifications/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert '<html lang="sv">' in sv and "Asia 1" in sv  # the text is made when shown


def test_page_and_badge_query_counts_do_not_grow(world: World) -> None:
    t = ticket(world)
    c = client_for(world.lead)
    add(world.lead, t, 3)
    queries(c, "/notifications/")  # warm up the session
    few = (queries(c, "/notifications/")[0], queries(c, "/notifications/badge/")[0])
    add(world.lead, t, 60, start=3, kind=Kind.CUSTOMER_REPLY)
    many = (queries(c, "/notifications/")[0], queries(c, "/notifications/badge/")[0])
    assert few == many
    assert many[0] <= 5 and many[1] <= 3


def test_paging(world: World) -> None:
    t = ticket(world)
    add(world.lead, t, views.PAGE_SIZE + 5)
    c = client_for(world.lead)
    first = c.get("/notifications/").content.decode()
    assert first.count('class="notification unread"') == views.PAGE_SIZE
    oldest_shown = Notification.objects.order_by("-id")[views.PAGE_SIZE - 1].pk
    assert f"?before={oldest_shown}" in first
    second = c.get(f"/notifications/?before={oldest_shown}").content.decode()
    assert second.count('class="notification unread"') == 5
    assert 'href="/notifications/?before=' not in second
    bad = c.get("/notifications/?before=x1")
    assert bad.status_code == 400


def test_badge_shows_the_unread_count(world: World) -> None:
    t = ticket(world)
    c = client_for(world.lead)
    assert c.get("/notifications/badge/").content.strip() == b""
    add(world.lead, t, 3)
    body = c.get("/notifications/badge/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert ">3<" in body and "unread" in body
    assert "no-cache" in c.get("/notifications/badge/")["Cache-Control"]


def test_mark_one_and_all_read(world: World) -> None:
    t = ticket(world)
    add(world.lead, t, 3)
    add(world.agent, t, 1, start=10)
    mine = list(Notification.objects.filter(recipient=world.lead).order_by("id"))
    theirs = Notification.objects.get(recipient=world.agent)
    c = client_for(world.lead)
    assert c.get(f"/notifications/{mine[0].pk}/read/").status_code == 405
    response = c.post(f"/notifications/{mine[0].pk}/read/", {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    mine[0].refresh_from_db()
    assert mine[0].read_at is not None
    assert c.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    c.post("/notifications/read-all/")
    assert not Notification.objects.filter(recipient=world.lead, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=world.agent, read_at__isnull=True).exists()


def test_csrf_is_required(world: World) -> None:
    t = ticket(world)
    add(world.lead, t, 1)
    c = Client(enforce_csrf_checks=True)
    c.force_login(world.lead)
    assert c.post("/notifications/read-all/").status_code == 403
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_preferences_form(world: World) -> None:
    c = client_for(world.agent)
    page = c.get("/notifications/preferences/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="kind-assigned" name="shown" value="assigned" checked' in page
    assert 'value="daily" checked' in page
    response = c.post("/notifications/preferences/", {
        "shown": [Kind.ASSIGNED, Kind.SLA_BREACHED], "frequency": "hourly"})
    assert response.status_code == 302
    prefs = Preferences.objects.get(user=world.agent)
    assert prefs.frequency == "hourly"
    assert set(prefs.muted) == set(Kind.values) - {Kind.ASSIGNED, Kind.SLA_BREACHED}


def test_preferences_bad_input(world: World) -> None:
    c = client_for(world.agent)
    r = c.post("/notifications/preferences/", {"shown": ["assigned"], "frequency": "weekly"},
               HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 422 and b"Choose how often" in r.content
    r = c.post("/notifications/preferences/", {"shown": ["<script>"], "frequency": "daily"},
               HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 422 and b"Unknown notification kind" in r.content
    assert b"<script>" not in r.content
    assert not Preferences.objects.filter(user=world.agent).exists()


def test_anonymous_goes_to_login(client: Client, world: World) -> None:
    for path in ("/notifications/", "/notifications/preferences/"):
        response = client.get(path)
        assert response.status_code == 302 and "/login/" in response["Location"]
    badge = client.get("/notifications/badge/", HTTP_HX_REQUEST="true")
    assert badge.status_code == 204 and badge.content == b""  # nothing for htmx to paste
