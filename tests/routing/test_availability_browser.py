"""The availability control and page in real Chromium, with axe-core checks."""

from __future__ import annotations

import pytest

from kapula.routing.models import Availability
from tests.desk.test_browser import SHOTS, browser, check_a11y, login, page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_mark_away_and_back(world, live_server, page):  # noqa: F811
    login(page, live_server, "lead")
    page.get_by_role("button", name="Mark me away").click()
    page.get_by_role("button", name="Mark me available").wait_for()
    assert Availability.objects.get(user=world.lead).status == "away"
    check_a11y(page)
    page.screenshot(path=str(SHOTS / "kapula-availability-header.png"))
    page.get_by_role("link", name="Availability").click()
    page.wait_for_url("**/availability/team/")
    check_a11y(page)
    page.screenshot(path=str(SHOTS / "kapula-team-availability.png"), full_page=True)
    assert page.get_by_role("heading", name="IT service desk").count() + \
        page.get_by_role("heading", name="IT-tuki").count() == 1
    page.get_by_label("Available", exact=True).check()
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Mark me away").wait_for()
    assert Availability.objects.get(user=world.lead).status == "available"
