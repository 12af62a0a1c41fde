"""Notifications in real Chromium: the count in the header (loaded after the page), the
list, marking read, the preferences form; axe-core checks on each page."""

from __future__ import annotations

import pytest

from kapula.notifications.models import Notification, Preferences
from kapula.tickets import actions as A
from kapula.tickets.models import AuthorKind, MessageKind
from tests.desk.test_browser import SHOTS, browser, check_a11y, login, page  # noqa: F401
from tests.notifications.conftest import deliver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_notifications_in_the_desk(world, live_server, page):  # noqa: F811
    for title in ("Tulostin jumissa", "Näyttö pimeänä"):
        t = A.create_ticket(actor=None, organisation=world.org, title=title,
                            body="Ei toimi.", channel="email", team=world.it_desk)
        A.update_ticket(actor=world.org_admin, ticket=t, changes={"assignee": world.lead})
    A.add_message(actor=None, ticket=t, kind=MessageKind.INBOUND, body="Vieläkin pimeänä.",
                  author_kind=AuthorKind.CUSTOMER)
    deliver()
    assert Notification.objects.filter(recipient=world.lead).count() == 3

    login(page, live_server, "lead")
    link = page.get_by_role("link", name="Notifications 3 unread")
    link.wait_for()
    check_a11y(page)
    link.click()
    page.wait_for_url("**/notifications/")
    page.get_by_role("heading", name="Notifications", exact=True).wait_for()
    assert page.get_by_text(f"The customer replied on {t.number}: Näyttö pimeänä").count() == 1
    check_a11y(page)
    page.screenshot(path=str(SHOTS / "kapula-notifications.png"), full_page=True)

    page.get_by_role("button", name="Mark read").first.click()
    page.get_by_role("link", name="Notifications 2 unread").wait_for()
    page.get_by_role("button", name="Mark all read").click()
    page.get_by_text("All notifications are marked read.").wait_for()
    assert not Notification.objects.filter(recipient=world.lead, read_at__isnull=True).exists()

    page.get_by_role("link", name="Notification preferences").click()
    page.wait_for_url("**/notifications/preferences/")
    check_a11y(page)
    page.get_by_label("A customer replies").uncheck()
    page.get_by_label("Hourly digest").check()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Your notification preferences are saved.").wait_for()
    prefs = Preferences.objects.get(user=world.lead)
    assert prefs.muted == ["customer_reply"] and prefs.frequency == "hourly"
    check_a11y(page)
