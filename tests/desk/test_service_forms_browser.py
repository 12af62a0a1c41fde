"""Recording a phone call on a catalogue service's form in the desk, in real Chromium:
the service picker (a plain GET form), the guided fields, the error summary and the new
ticket; axe-core finds no WCAG 2.1 AA problem with a service chosen."""

from __future__ import annotations

import pytest

from kapula.catalogue.models import FormSubmission
from kapula.tickets.models import Ticket
from tests.desk.test_browser import (  # noqa: F401  (fixtures)
    SHOTS,
    browser,
    check_a11y,
    login,
    page,
)
from tests.test_webform import services  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_records_a_phone_call_on_a_service_form(world, services, live_server, page):  # noqa: F811
    login(page, live_server)
    page.get_by_role("link", name="New ticket").click()
    page.get_by_label("Service").select_option("katuvalo")
    page.get_by_role("button", name="Show the form").click()
    page.wait_for_url("**/tickets/new/?service=katuvalo")
    page.get_by_role("group", name="Street light fault").wait_for()
    check_a11y(page)
    page.screenshot(path=str(SHOTS / "kapula-desk-service-form.png"), full_page=True)
    page.get_by_label("Phone").first.check()
    page.get_by_label("Customer name").fill("Sven Svensson")
    page.get_by_label("Customer's language").select_option("sv")
    page.get_by_role("button", name="Record ticket").click()
    summary = page.get_by_role("alert")
    summary.wait_for()
    assert "This field is required." in summary.inner_text()
    page.console_errors.clear()  # Chromium logs the (expected) 422 answer as an error
    check_a11y(page)
    assert page.get_by_label("Customer name").input_value() == "Sven Svensson"
    page.get_by_label("What the customer needs").fill("Lampan vid hållplatsen lyser inte.")
    page.get_by_label("Light is out").check()
    page.get_by_label("Address or place").fill("Hämeenkatu 1, Tampere")
    page.get_by_role("button", name="Record ticket").click()
    page.wait_for_url("**/tickets/*/")
    ticket = Ticket.objects.get(organisation=world.org)
    assert ticket.number in page.content()
    assert ticket.channel == "phone" and ticket.language == "sv"
    assert ticket.created_by == world.agent and ticket.team == world.service_point
    assert FormSubmission.objects.get(ticket=ticket).answers[0]["display"] == \
        "Lampan lyser inte"
