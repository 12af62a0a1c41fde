"""The suggestion box on the ticket page in real Chromium, with an axe-core check."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kapula.core.actions import CustomerIdentity
from kapula.intake.actions import Intake, receive
from tests.desk.test_browser import SHOTS, browser, check_a11y, login, page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_suggestions_and_apply(world, trained, live_server, page):  # type: ignore[no-untyped-def]  # noqa: F811
    corpus, _ = trained
    ticket = receive(Intake(
        organisation=world.org, channel="email", subject="Printer does not print",
        body="The printer on our floor shows a paper jam.",
        customer=CustomerIdentity(email="uusi@example.fi"))).ticket
    login(page, live_server)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    box = page.locator("#triage")
    expect(box.get_by_role("heading", name="Suggestions")).to_be_visible()
    expect(box).to_contain_text(re.compile(r"Category: Tulostimet\s+confidence \d+ %"))
    expect(box).to_contain_text("Team: IT service desk")
    check_a11y(page)
    box.screenshot(path=str(SHOTS / "triage-suggestions.png"))
    box.get_by_role("button", name=re.compile(r"^Apply\W+Category\W+Tulostimet")).click()
    expect(page.locator("#flash")).to_contain_text("Suggestion applied.")
    expect(page.locator("#triage")).to_contain_text("already set")
    check_a11y(page)
    ticket.refresh_from_db()
    assert ticket.category_id == corpus.categories["printer"].pk
