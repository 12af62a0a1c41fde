"""SLA countdowns on the desk queue and ticket pages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from kapula.sla.clocks import tick
from kapula.sla.models import Calendar, ServiceHours, SlaPolicy
from kapula.sla.templatetags.sla import countdown, duration
from kapula.tickets import actions as A
from kapula.tickets.models import Status, Ticket
from tests.desk.conftest import logged_in


@pytest.fixture(autouse=True)
def english(settings):  # type: ignore[no-untyped-def]
    """These tests read the English texts; the default interface language is Finnish."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def setup_sla(world) -> None:  # type: ignore[no-untyped-def]
    cal = Calendar.objects.create(organisation=world.org, name="Ympäri vuorokauden")
    for day in range(7):
        ServiceHours.objects.create(calendar=cal, weekday=day, start=dt.time(0),
                                    end=dt.time(0))
    SlaPolicy.objects.create(organisation=world.org, name="Perus",
                             first_response_minutes=130, resolution_minutes=2400)


def ticket(world, title: str = "Katuvalo rikki") -> Ticket:  # type: ignore[no-untyped-def]
    return A.create_ticket(actor=None, organisation=world.org, title=title,
                           body="Katuvalo on rikki.", channel="email")


def queries(client, url: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_duration_texts():
    assert duration(dt.timedelta(minutes=130)) == "2 h 10 min"
    assert duration(dt.timedelta(minutes=35)) == "35 min"
    assert duration(dt.timedelta(seconds=-5)) == "0 min"


def test_queue_shows_countdown_without_extra_queries(world):
    setup_sla(world)
    for i in range(3):
        ticket(world, f"Asia {i}")
    client = logged_in(world.agent)
    url = reverse("desk:queue") + f"?view=team&team={world.service_point.pk}"
    client.get(url)
    few, html = queries(client, url)
    assert re.search(r'class="sla sla-running"[^>]*>.*2 h (9|10) min left', html)
    for i in range(12):
        ticket(world, f"Lisää {i}")
    many, html = queries(client, url)
    assert few == many <= 12
    overdue = ticket(world, "Myöhässä")
    Ticket.objects.filter(pk=overdue.pk).update(
        sla_due_at=overdue.sla_due_at - dt.timedelta(minutes=200))
    tick()
    _n, html = queries(client, url)
    assert re.search(r'class="sla sla-breached"[^>]*>.*overdue 1 h (9|10|11) min', html)


def test_ticket_page_lists_clocks_in_helsinki_time(world):
    plain = ticket(world, "Ilman SLA:ta")
    client = logged_in(world.agent)
    url = reverse("desk:ticket", args=[plain.pk])
    client.get(url)
    without, html = queries(client, url)
    assert 'id="sla-h"' not in html
    setup_sla(world)
    from kapula.tickets import config

    config.invalidate()
    with_sla = ticket(world)
    url = reverse("desk:ticket", args=[with_sla.pk])
    client.get(url)
    count, html = queries(client, url)
    assert count == without + 1  # the clocks
    assert 'id="sla-h"' in html and "First response" in html and "Resolution" in html
    due = with_sla.sla_due_at.astimezone(dt.timezone(dt.timedelta(hours=2)))  # EET in Nov
    assert f"{due.day}.{due.month}.{due.year} {due:%H:%M}" in html
    A.change_status(actor=world.agent, ticket=with_sla, status=Status.PENDING_CUSTOMER)
    _n, html = queries(client, url)
    assert "Paused" in html


def test_countdown_states(world):
    setup_sla(world)
    t = ticket(world)
    css, text = countdown(t, now=t.sla_due_at - dt.timedelta(minutes=5))
    assert (css, text) == ("running", "5 min left")
    css, text = countdown(t, now=t.sla_due_at + dt.timedelta(minutes=61))
    assert (css, text) == ("breached", "overdue 1 h 1 min")



def test_queue_sorts_by_nearest_deadline_across_pages(world):
    from kapula.tickets import queries

    setup_sla(world)
    made = [ticket(world, f"Asia {i}") for i in range(5)]
    plain = A.create_ticket(actor=None, organisation=world.org, title="Ei SLA:ta", body="x",
                            channel="email")
    Ticket.objects.filter(pk=plain.pk).update(sla_due_at=None, sla_state="")
    for i, t in enumerate(made):  # deadlines in reverse order of creation
        Ticket.objects.filter(pk=t.pk).update(
            sla_due_at=t.sla_due_at + dt.timedelta(minutes=10 * (5 - i)))
    qs = queries.queue(world.agent, "team", world.service_point.pk)
    first = queries.paginate(qs, sort="sla", limit=3)
    second = queries.paginate(qs, sort="sla", cursor=first.next_cursor, limit=3)
    order = [t.pk for t in first.items + second.items]
    assert order == [t.pk for t in reversed(made)] + [plain.pk]
    client = logged_in(world.agent)
    url = reverse("desk:queue") + f"?view=team&team={world.service_point.pk}&sort=sla"
    html = client.get(url).content.decode()
    assert html.index(made[-1].number) < html.index(made[0].number) < html.index(plain.number)
