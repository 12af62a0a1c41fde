"""A web form embedded in another website, in real Chromium: the city's page (served from
another origin than Kapula) includes the embed script, the form opens in a frame that grows
with its content, the resident gets an error and then the confirmation inside the frame;
a site that is not listed cannot frame the form. axe-core checks the embedded pages."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kapula.catalogue.models import FormSubmission
from kapula.tickets.models import Ticket
from tests.desk.test_browser import SHOTS, browser, check_a11y, page  # noqa: F401  (fixtures)
from tests.test_webform import services  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def city_site(tmp_path: Path) -> Iterator[str]:
    """A static web server on 127.0.0.1 (the live server is on localhost: another origin
    and another site, so Kapula's cookies are third-party inside the frame)."""
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def host_page(directory: Path, name: str, kapula: str) -> str:
    (directory / name).write_text(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>City of Tampere</title>
<link rel="icon" href="data:,"></head>
<body><main><h1>Report a fault</h1>
<p>Use the form below.</p>
<div data-kapula-form="{kapula}/forms/tre/katuvalo/" data-lang="en"></div>
<p id="after">Below the form.</p>
<script src="{kapula}/forms/embed.js" async></script>
</main></body></html>
""", encoding="utf-8")
    return name


def test_embedded_form_on_the_city_website(world, services, live_server, page, city_site,  # noqa: F811
                                           tmp_path):
    world.org.embed_origins = city_site
    world.org.save()
    page.goto(f"{city_site}/{host_page(tmp_path, 'city.html', live_server.url)}")
    frame_element = page.locator("iframe[data-kapula-frame]")
    frame_element.wait_for()
    assert frame_element.get_attribute("loading") == "lazy"
    frame = page.frame_locator("iframe[data-kapula-frame]")
    frame.get_by_role("heading", name="Street light fault").wait_for()
    # the frame is named after the form and grows to the form's height
    page.wait_for_function(
        "document.querySelector('iframe[data-kapula-frame]').title.includes('Street light')")
    content = frame.locator("html").evaluate("e => e.getBoundingClientRect().height")
    page.wait_for_function(
        "h => Math.abs(document.querySelector('iframe[data-kapula-frame]')"
        ".getBoundingClientRect().height - h) <= 2", arg=content)
    assert content > 640  # taller than the frame's first 40rem
    # a message from anyone but the frame (here the page itself) changes nothing
    page.evaluate("window.postMessage({kapula: 'form-size', height: 5}, '*')")
    page.wait_for_timeout(200)
    assert page.evaluate(
        "document.querySelector('iframe[data-kapula-frame]').getBoundingClientRect().height") \
        > 640
    page.screenshot(path=str(SHOTS / "kapula-embedded-form.png"), full_page=True)
    width = page.evaluate("document.querySelector('iframe[data-kapula-frame]').offsetWidth")
    assert width >= page.evaluate("document.querySelector('main').clientWidth") - 2

    # sent empty: the errors stay inside the frame, and the frame grows with them
    frame.get_by_role("button", name="Send").click()
    frame.get_by_role("alert").wait_for()
    assert "This field is required." in frame.get_by_role("alert").inner_text()
    grown = frame.locator("html").evaluate("e => e.getBoundingClientRect().height")
    assert grown > content
    page.wait_for_function(
        "h => Math.abs(document.querySelector('iframe[data-kapula-frame]')"
        ".getBoundingClientRect().height - h) <= 2", arg=grown)
    assert page.url.startswith(city_site)

    frame.get_by_label("Describe the matter").fill("The light at the bus stop is out.")
    frame.get_by_label("Light is out").check()
    frame.get_by_label("Address or place").fill("Hämeenkatu 1, Tampere")
    frame.get_by_label("Email address").fill("resident@example.fi")
    frame.get_by_role("button", name="Send").click()
    frame.get_by_role("heading", name="Thank you").wait_for()
    ticket = Ticket.objects.get(organisation=world.org)
    assert ticket.number in frame.get_by_role("status").inner_text()
    assert ticket.language == "en" and ticket.channel == "web_form"
    assert FormSubmission.objects.get(ticket=ticket).answers[0]["value"] == "pimea"
    assert page.url.startswith(city_site)
    # (Chromium logs the expected 422 answer as an error; nothing else, e.g. no CSP error)
    assert [e for e in page.console_errors if "422" not in e and "favicon" not in e] == [], \
        page.console_errors


def test_a_site_not_listed_cannot_frame_the_form(world, services, live_server, page,  # noqa: F811
                                                 city_site, tmp_path):
    world.org.embed_origins = "https://www.tampere.fi"
    world.org.save()
    page.goto(f"{city_site}/{host_page(tmp_path, 'other.html', live_server.url)}")
    page.locator("iframe[data-kapula-frame]").wait_for()
    for _ in range(50):  # Chromium reports the refusal on the page's console
        if any("frame-ancestors" in e for e in page.console_errors):
            break
        page.wait_for_timeout(100)
    assert any("frame-ancestors" in e for e in page.console_errors), page.console_errors
    frame = page.frame_locator("iframe[data-kapula-frame]")
    assert frame.get_by_role("button", name="Send").count() == 0
    assert not Ticket.objects.exists()


def test_embedded_pages_are_accessible(world, services, live_server, page):  # noqa: F811
    url = live_server.url + "/forms/tre/katuvalo/embed/?lang=en"
    page.goto(url)
    check_a11y(page)
    page.get_by_role("button", name="Send").click()
    page.get_by_role("alert").wait_for()
    page.console_errors.clear()  # the expected 422
    check_a11y(page)
    # the language switch works without cookies (none would come back in a cross-site frame)
    page.get_by_label("Language").select_option("sv")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_url("**/embed/?lang=sv")
    assert page.locator("html").get_attribute("lang") == "sv"
    page.goto(url)
    page.get_by_label("Describe the matter").fill("The light is out.")
    page.get_by_label("Light is out").check()
    page.get_by_label("Address or place").fill("Hämeenkatu 1, Tampere")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url("**/embed/thanks/**")
    check_a11y(page)
    assert Ticket.objects.get().number in page.content()
