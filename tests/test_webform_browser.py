"""A resident fills in a guided web form in real Chromium: catalogue, form, the error
summary, a location and a photo, the confirmation; axe-core finds no WCAG 2.1 AA problem on
any of the pages."""

from __future__ import annotations

import pytest

from kapula.catalogue.models import FormSubmission
from kapula.tickets.models import Attachment, Ticket
from tests.desk.test_browser import browser, check_a11y, page  # noqa: F401  (fixtures)
from tests.test_webform import PNG, services  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_resident_reports_a_street_light(world, services, live_server, page, tmp_path):  # noqa: F811
    page.goto(live_server.url + "/forms/tre/")
    check_a11y(page)
    page.get_by_role("link", name="Street light fault").click()
    page.wait_for_url("**/forms/tre/katuvalo/")
    check_a11y(page)
    # sent empty: the error summary names the missing answers and links to them
    page.get_by_role("button", name="Send").click()
    summary = page.get_by_role("alert")
    assert "This field is required." in summary.inner_text()
    page.console_errors.clear()  # Chromium logs the (expected) 422 answer as an error
    check_a11y(page)
    page.get_by_label("Describe the matter").fill("The light at the bus stop is out.")
    page.get_by_label("Light is out").check()
    page.get_by_label("Address or place").fill("Hämeenkatu 1, Tampere")
    page.get_by_label("Latitude (WGS84, optional)").fill("61.4978")
    page.get_by_label("Longitude (WGS84, optional)").fill("23.7610")
    photo = tmp_path / "light.png"
    photo.write_bytes(PNG)
    page.get_by_label("Photo").set_input_files(str(photo))
    page.get_by_label("Email address").fill("resident@example.fi")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url("**/thanks/**")
    check_a11y(page)
    ticket = Ticket.objects.get(organisation=world.org)
    assert ticket.number in page.content()
    assert ticket.language == "en" and ticket.latitude is not None
    assert Attachment.objects.get(ticket=ticket).filename == "light.png"
    assert FormSubmission.objects.get(ticket=ticket).answers[0]["value"] == "pimea"
