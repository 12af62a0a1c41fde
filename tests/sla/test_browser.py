"""SLA countdowns in real Chromium: the queue's SLA column and the ticket page's service
level card pass axe-core (WCAG 2.1 A/AA) with running, warning, breached and paused states."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from kapula.sla.clocks import tick
from kapula.sla.models import Calendar, ServiceHours, SlaPolicy
from kapula.tickets import actions as A
from kapula.tickets.models import Status, Ticket
from tests.desk.conftest import make_ticket
from tests.desk.test_browser import SHOTS, browser, check_a11y, login, page  # noqa: F401

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_countdowns_are_accessible(world, live_server, page):  # noqa: F811
    cal = Calendar.objects.create(organisation=world.org, name="24/7")
    for day in range(7):
        ServiceHours.objects.create(calendar=cal, weekday=day, start=dt.time(0),
                                    end=dt.time(0))
    SlaPolicy.objects.create(organisation=world.org, name="Perus", first_response_minutes=130,
                             resolution_minutes=2400)
    running = make_ticket(world, "Katuvalo rikki", "Katuvalo on rikki.")
    late = make_ticket(world, "Myöhässä", "Vastaus puuttuu.", email="b@example.fi")
    Ticket.objects.filter(pk=late.pk).update(sla_due_at=late.sla_due_at - dt.timedelta(hours=3))
    from kapula.sla.models import SlaClock

    SlaClock.objects.filter(ticket=late, metric="first_response").update(
        anchor_at=late.created_at - dt.timedelta(hours=3),
        due_at=late.created_at - dt.timedelta(minutes=50),
        next_check_at=late.created_at - dt.timedelta(minutes=50))
    tick()
    waiting = make_ticket(world, "Odottaa", "Odottaa asiakasta.", email="c@example.fi")
    A.change_status(actor=world.agent, ticket=waiting, status=Status.PENDING_CUSTOMER)

    login(page, live_server)
    page.goto(live_server.url + f"/?view=team&team={world.service_point.pk}")
    row = page.locator("tr", has_text=running.number)
    assert "left" in row.locator(".sla").inner_text()
    assert "overdue" in page.locator("tr", has_text=late.number).locator(".sla").inner_text()
    assert "paused" in page.locator("tr", has_text=waiting.number).locator(".sla").inner_text()
    check_a11y(page)
    page.screenshot(path=str(SHOTS / "kapula-sla-queue.png"), full_page=True)
    page.goto(live_server.url + f"/tickets/{late.pk}/")
    card = page.locator(".sla-panel")
    assert "First response" in card.inner_text() and "overdue" in card.inner_text()
    check_a11y(page)
