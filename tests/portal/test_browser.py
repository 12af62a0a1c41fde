"""A resident uses the portal in real Chromium: asks for a login link, opens it from the
mail, logs in, sees the matters, opens one, replies with a file, rates the resolution;
once in English and once in Swedish (chosen with the language switch). axe-core finds no
WCAG 2.1 AA problem on any page, and the CSP blocks nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import expect

from kapula.portal.models import ResolutionRating
from kapula.tickets import actions as A
from kapula.tickets.attachments import AttachmentInput
from kapula.tickets.models import Message, Status, Ticket
from tests.desk.test_browser import browser, check_a11y, page  # noqa: F401  (fixtures)
from tests.portal.conftest import EMAIL, link_in, make_customer, make_ticket, path_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _matters(world: Any) -> tuple[Ticket, Ticket]:
    aino = make_customer(world.org)
    first = make_ticket(world.org, aino, "Katuvalo rikki", channel="web_form")
    A.add_message(actor=world.agent, ticket=first, kind="reply", body="Korjaamme valon.",
                  attachments=[AttachmentInput("ohje.pdf", b"%PDF-1.4", "application/pdf")])
    second = make_ticket(world.org, aino, "Roska-astia täynnä", channel="email")
    return first, second


def _log_in(tab: Any, live_server: Any, *, swedish: bool = False) -> None:
    tab.goto(live_server.url + "/portal/tre/login/")
    check_a11y(tab)
    if swedish:
        tab.locator("#lang-select").select_option("sv")
        tab.locator("form.langswitch button").click()
        expect(tab.locator("html")).to_have_attribute("lang", "sv")
        check_a11y(tab)
    else:
        assert tab.locator("html").get_attribute("lang") == "en"
        # sent empty: the error summary names the problem and is focused
        tab.get_by_role("button", name="Send me a login link").click()
        expect(tab.get_by_role("alert")).to_contain_text("Enter your email address.")
        expect(tab.locator("#error-summary")).to_be_focused()
        tab.console_errors.clear()  # Chromium logs the (expected) 422 answer as an error
        check_a11y(tab)
    tab.locator("#f-email").fill(EMAIL)
    tab.locator("form.public-form button[type=submit]").click()
    tab.wait_for_selector("main .alert[role=status]")
    check_a11y(tab)
    assert len(mail.outbox) == 1
    url = link_in(str(mail.outbox[0].body))
    assert mail.outbox[0].extra_headers["Content-Language"] == ("sv" if swedish else "en")
    tab.goto(live_server.url + path_of(url))
    check_a11y(tab)
    tab.locator("main form button[type=submit]").click()
    tab.wait_for_url(live_server.url + "/portal/tre/")
    check_a11y(tab)


def test_resident_in_english(world, live_server, page, settings, tmp_path) -> None:  # noqa: F811
    settings.KAPULA_BASE_URL = live_server.url
    settings.MEDIA_ROOT = str(tmp_path / "media")
    first, second = _matters(world)
    _log_in(page, live_server)
    expect(page.get_by_role("heading", level=1)).to_have_text("My matters")
    expect(page.get_by_role("link", name="Knowledge base")).to_have_attribute(
        "href", "/help/tre/")
    rows = page.locator("table.tickets tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(second.number)
    page.get_by_role("link", name="Finished").click()
    expect(page.locator("table.tickets tbody")).to_contain_text("You have no finished matters.")
    check_a11y(page)
    page.get_by_role("link", name="All").click()
    page.get_by_role("link", name=first.number).click()
    page.wait_for_url(f"**/portal/tre/tickets/{first.number}/")
    check_a11y(page)
    expect(page.locator("main")).to_contain_text("Korjaamme valon.")
    expect(page.get_by_role("link", name="ohje.pdf")).to_be_visible()

    # an empty reply: the error, focused
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Write a message or attach a file.")
    page.console_errors.clear()
    check_a11y(page)

    photo = tmp_path / "valo.png"
    photo.write_bytes(PNG)
    page.get_by_label("Your message").fill("Valo vilkkuu edelleen.")
    page.get_by_label("Attachments (optional)").set_input_files(str(photo))
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Your message was added to the matter.")
    check_a11y(page)
    message = Message.objects.filter(ticket=first).latest("id")
    assert message.channel == "portal" and message.attachments.get().filename == "valo.png"

    # the desk resolves it; the resident rates the resolution
    A.update_ticket(actor=world.agent, ticket=Ticket.objects.get(pk=first.pk),
                    changes={"status": Status.RESOLVED})
    page.reload()
    check_a11y(page)
    page.get_by_role("button", name="Send my rating").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose a rating from 1 to 5.")
    page.console_errors.clear()
    check_a11y(page)
    page.get_by_role("radio", name="4").check()
    page.get_by_label("Comment (optional)").fill("Nopea apu.")
    page.get_by_role("button", name="Send my rating").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you for your rating.")
    check_a11y(page)
    assert ResolutionRating.objects.get(ticket=first).score == 4

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(live_server.url + "/portal/tre/login/")
    check_a11y(page)


def test_resident_in_swedish(world, live_server, page, settings, tmp_path) -> None:  # noqa: F811
    settings.KAPULA_BASE_URL = live_server.url
    settings.MEDIA_ROOT = str(tmp_path / "media")
    first, _second = _matters(world)
    A.update_ticket(actor=world.agent, ticket=Ticket.objects.get(pk=first.pk),
                    changes={"status": Status.RESOLVED})
    _log_in(page, live_server, swedish=True)
    assert page.locator("html").get_attribute("lang") == "sv"
    page.locator(f"a[href='/portal/tre/tickets/{first.number}/']").click()
    page.wait_for_url(f"**/portal/tre/tickets/{first.number}/")
    check_a11y(page)
    page.locator("#f-body").fill("Tack, men lampan blinkar fortfarande.")
    page.locator("form[action$='/reply/'] button[type=submit]").click()
    page.wait_for_selector("main .flash[role=status]")
    check_a11y(page)
    first.refresh_from_db()
    assert first.status == Status.OPEN  # the reply opened it again
    A.update_ticket(actor=world.agent, ticket=first, changes={"status": Status.RESOLVED})
    page.reload()
    page.locator("#f-score-5").check()
    page.locator("form[action$='/rate/'] button[type=submit]").click()
    page.wait_for_selector("main .flash[role=status]")
    check_a11y(page)
    assert ResolutionRating.objects.get(ticket=first).score == 5
