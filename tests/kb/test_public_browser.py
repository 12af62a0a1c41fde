"""The public knowledge base in real Chromium: a resident typing into a web form gets a
suggestion and answers that it solved the matter (a deflection); in a form framed by the
city's website a "no" hides the suggestion; a visitor browses and searches the help pages,
reads an article, answers "was this helpful?" and switches the language. axe-core checks
every page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from kapula.kb import actions as K
from kapula.kb.models import Article, Audience
from tests.desk.test_browser import browser, check_a11y, page  # noqa: F401  (fixtures)
from tests.kb.test_public import _fresh_limits, kb, service  # noqa: F401  (fixtures)
from tests.test_webform_embed_browser import city_site  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _printing(world: Any) -> Article:
    """An article in Finnish and English, not in Swedish."""
    article = K.create_article(
        actor=world.agent, organisation=world.org, language="fi", audience=Audience.PUBLIC,
        title="Tulostaminen kirjastossa", body_html="<p>Tulosta kirjastokortilla.</p>",
        publish=True)
    K.save_translation(actor=world.agent, article=article, language="en",
                       title="Printing in the library",
                       body_html="<p>Print with your <strong>library card</strong>.</p>",
                       publish=True)
    return article


def test_resident_finds_the_answer_while_typing(world, kb, service, live_server, page):  # noqa: F811
    page.goto(live_server.url + "/forms/tre/asiointi/")
    region = page.get_by_role("region", name="Answers that may help")
    expect(region).to_be_visible()
    check_a11y(page)
    description = page.get_by_label("Describe the matter")
    description.click()
    description.press_sequentially("Unohdin ")  # too short: nothing is asked yet
    description.press_sequentially("salasanani enkä pääse sisään")
    suggestion = region.locator(".kb-suggestion", has_text="Changing your password")
    suggestion.wait_for()
    expect(description).to_be_focused()  # the suggestion never takes the focus
    link = suggestion.get_by_role("link", name=re.compile(
        r"^Read\s*:\s*Changing your password\s*\(opens in a new window\)$"))
    assert link.get_attribute("target") == "_blank"
    assert link.get_attribute("href") == f"/help/tre/{kb.password.pk}/?lang=en"
    check_a11y(page)
    suggestion.get_by_role("button", name="Yes").click()
    expect(suggestion.get_by_text("Good – you do not need to send the form.")).to_be_focused()
    kb.password.refresh_from_db()
    assert (kb.password.deflection_count, kb.password.helpful_count) == (1, 1)
    # more typing keeps the answer; the form stays usable
    description.press_sequentially(" salasana")
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    check_a11y(page)


def test_no_hides_the_suggestion_in_a_form_framed_by_the_city_website(
        world, kb, service, live_server, page, city_site, tmp_path):  # noqa: F811
    world.org.embed_origins = city_site
    world.org.save()
    (tmp_path / "city.html").write_text(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>City of Tampere</title>
<link rel="icon" href="data:,"></head>
<body><main><h1>E-services</h1>
<div data-kapula-form="{live_server.url}/forms/tre/asiointi/" data-lang="en"></div>
<script src="{live_server.url}/forms/embed.js" async></script>
</main></body></html>
""", encoding="utf-8")
    page.goto(f"{city_site}/city.html")
    frame = page.frame_locator("iframe[data-kapula-frame]")
    region = frame.get_by_role("region", name="Answers that may help")
    expect(region).to_be_visible()
    frame.get_by_label("Describe the matter").fill("Unohdin salasanani enkä pääse sisään")
    suggestion = region.locator(".kb-suggestion", has_text="Changing your password")
    suggestion.wait_for()
    suggestion.get_by_role("button", name="No").click()
    expect(suggestion).to_have_count(0)
    expect(region.get_by_text("Thank you. The suggestion was hidden.")).to_be_focused()
    kb.password.refresh_from_db()
    assert (kb.password.not_helpful_count, kb.password.deflection_count) == (1, 0)
    # the embedded page on its own, checked by axe-core
    page.goto(live_server.url + "/forms/tre/asiointi/embed/?lang=en")
    page.get_by_label("Describe the matter").fill("Unohdin salasanani enkä pääse sisään")
    page.locator(".kb-suggestion", has_text="Changing your password").wait_for()
    check_a11y(page)
    # nothing refused by the CSP inside the frame (the favicon of the host page aside)
    assert [e for e in page.console_errors if "favicon" not in e] == []


def test_visitor_browses_searches_and_reads(world, kb, live_server, page):  # noqa: F811
    printing = _printing(world)
    page.goto(live_server.url + "/help/tre/")
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.get_by_role("link", name="Printing in the library")).to_be_visible()
    # the library article has no English version: shown in Finnish with a note
    expect(page.get_by_text("Not available in English – shown in Finnish.")).to_be_visible()
    check_a11y(page)
    page.get_by_label("Search the help pages").fill("printing")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/help/tre/?q=printing")
    expect(page.get_by_role("heading", name="1 result for “printing”")).to_be_visible()
    check_a11y(page)
    page.get_by_role("link", name="Printing in the library").click()
    page.wait_for_url(f"**/help/tre/{printing.pk}/")
    expect(page.get_by_role("heading", name="Printing in the library")).to_be_visible()
    check_a11y(page)
    page.get_by_role("button", name="Yes").click()
    expect(page.get_by_role("status")).to_have_text("Thank you for your answer.")
    printing.refresh_from_db()
    assert (printing.helpful_count, printing.deflection_count) == (1, 0)
    check_a11y(page)
    # Swedish: the article has no Swedish version
    page.get_by_label("Language").select_option("sv")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    note = page.locator(".kb-missing")
    expect(note).to_be_visible()
    expect(page.locator(".kb-body")).to_have_attribute("lang", "fi")  # the original
    expect(page.get_by_role("heading", name="Tulostaminen kirjastossa")).to_be_visible()
    check_a11y(page)
    # another language version
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Printing in the library")).to_be_visible()
    check_a11y(page)
