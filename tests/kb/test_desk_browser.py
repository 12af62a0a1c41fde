"""An agent writes a knowledge-base article with the editor in real Chromium, publishes it,
opens a ticket whose text matches and puts the article into the reply; axe-core finds no
WCAG 2.1 AA problem on the list, article, editor and ticket pages."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from kapula.kb.models import Article
from tests.desk.conftest import make_ticket
from tests.desk.test_browser import (  # noqa: F401  (fixtures)
    SHOTS,
    browser,
    check_a11y,
    login,
    page,
)

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_agent_writes_an_article_and_uses_it_in_a_reply(world, live_server, page):  # noqa: F811
    ticket = make_ticket(world, "Tulostin jumissa",
                         "Tulostimessa on paperitukos eikä se tulosta mitään.", language="fi")
    login(page, live_server)
    assert page.locator("html").get_attribute("lang") == "en"

    # the list (empty), then the editor
    page.get_by_role("link", name="Knowledge base").click()
    page.wait_for_url("**/kb/")
    check_a11y(page)
    page.get_by_role("link", name="New article").click()
    page.wait_for_url("**/kb/new/")
    area = page.locator(".kb-area")
    area.wait_for()
    check_a11y(page)
    page.get_by_label("Title").fill("Tulostimen paperitukos")
    area.click()
    page.keyboard.type("Paperitukos")
    page.get_by_role("toolbar").get_by_role("button", name="Heading").click()
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.type("Avaa tulostimen kansi ja poista jumittunut paperi.")
    page.keyboard.press("Shift+Home")
    page.get_by_role("button", name="Bold").click()
    expect(page.get_by_role("button", name="Bold")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Bold").click()  # off again
    page.get_by_role("button", name="Bulleted list").click()
    page.keyboard.type("Sammuta tulostin ensin.")
    # the toolbar is one tab stop: arrow keys move between its buttons
    page.get_by_role("button", name="Bold").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("button", name="Italic")).to_be_focused()
    page.screenshot(path=str(SHOTS / "kapula-kb-editor.png"), full_page=True)
    page.locator("form.kb-form").get_by_label("Language").select_option("fi")
    page.get_by_label("Public (customers and staff)").check()
    page.get_by_label("Publish now").check()
    page.get_by_role("button", name="Save article").click()
    page.wait_for_url("**/kb/*/?lang=fi")
    check_a11y(page)

    a = Article.objects.get()
    t = a.translations.get()
    assert t.is_published and a.audience == "public"
    assert "<h2>Paperitukos</h2>" in t.body_html
    assert "<b>Avaa tulostimen kansi" in t.body_html or "<strong>" in t.body_html
    assert "<ul><li>Sammuta tulostin ensin.</li></ul>" in t.body_html
    assert "<p></p>" not in t.body_html
    expect(page.locator(".kb-body h2")).to_have_text("Paperitukos")
    page.screenshot(path=str(SHOTS / "kapula-kb-article.png"), full_page=True)

    # the editor of the Swedish translation shows the original
    page.get_by_role("link", name="Add translation (Swedish)").click()
    page.locator(".kb-original").wait_for()
    check_a11y(page)

    # the list with the article
    page.goto(live_server.url + "/kb/?q=paperitukos")
    page.get_by_role("link", name="Tulostimen paperitukos").wait_for()
    check_a11y(page)
    page.screenshot(path=str(SHOTS / "kapula-kb-list.png"), full_page=True)

    # the ticket: the panel loads the article; its text goes into the reply at the cursor
    page.goto(live_server.url + f"/tickets/{ticket.pk}/")
    suggestion = page.locator("#kb-suggest .kb-suggestion", has_text="Tulostimen paperitukos")
    suggestion.wait_for()
    check_a11y(page)
    reply = page.get_by_label("Message")
    reply.fill("Hei! ")
    suggestion.get_by_role("button", name="Insert excerpt").click()
    value = reply.input_value()
    assert value.startswith("Hei! Paperitukos") and "poista jumittunut paperi" in value
    expect(reply).to_be_focused()
    suggestion.get_by_role("button", name="Insert link").click()
    assert f"/help/tre/{a.pk}/?lang=fi" in reply.input_value()
    expect(page.locator("#kb-insert-status")).to_have_text("Inserted into the reply.")
    # the panel's own search
    page.get_by_label("Search other articles").fill("kansi")
    page.get_by_label("Search other articles").press("Enter")
    page.locator(".kb-suggest-status", has_text="1 article found").wait_for()
    check_a11y(page)
    page.screenshot(path=str(SHOTS / "kapula-kb-ticket.png"), full_page=True)
    page.get_by_role("button", name="Send").click()
    page.locator(".msg-reply", has_text="poista jumittunut paperi").wait_for()
