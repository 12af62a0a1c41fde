"""The agent workspace in real Chromium (Playwright) with axe-core accessibility checks.

axe-core is loaded with ``add_init_script``: a ``<script>`` tag added by the page would be
blocked by our Content-Security-Policy (script-src 'self' + nonce), and we keep the CSP on
so that any inline script or style of ours shows up as a console error here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from kapula.tickets.models import MessageKind, Status, Ticket
from tests.conftest import PASSWORD
from tests.desk.conftest import make_ticket

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SHOTS = Path(os.environ.get("KAPULA_SCREENSHOT_DIR", "/tmp"))


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists() or not AXE.exists():
        pytest.skip("Chromium or axe-core is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.set_default_timeout(10000)
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(
        f"{m.text[:120]} @ {m.location}"))
    yield page
    context.close()


def check_a11y(page) -> None:  # type: ignore[no-untyped-def]
    """No axe violations of WCAG 2.1 A/AA, and no CSP or script errors on the page."""
    page.wait_for_load_state()  # not in the middle of a navigation
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    problems = [
        f"{v['id']}: {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
    ]
    assert problems == [], f"{page.url}\n" + "\n".join(problems)
    assert page.console_errors == [], page.console_errors


def login(page, live_server, username: str = "agent") -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/login/")
    check_a11y(page)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/")


def test_agent_day(world, live_server, page):  # type: ignore[no-untyped-def]
    ticket = make_ticket(world, "Katuvalo rikki", "Katuvalo on rikki Hämeenkadulla.",
                         assignee=world.agent)
    other = make_ticket(world, "Lumityöt tekemättä", "Lumityöt tekemättä Hervannassa.",
                        email="lumi@example.fi")

    login(page, live_server)
    # English: the test does not depend on the state of the fi/sv catalogues
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("link", name=ticket.number).click()
    page.wait_for_url(f"**/tickets/{ticket.pk}/")
    check_a11y(page)
    page.screenshot(path=str(SHOTS / "kapula-ticket.png"), full_page=True)

    # reply (htmx: no full reload)
    page.evaluate("window.__marker = 1")
    page.get_by_label("Message").fill("Korjaamme valon huomenna.")
    page.get_by_role("button", name="Send").click()
    page.locator(".msg-reply", has_text="Korjaamme valon huomenna.").wait_for()
    assert page.evaluate("window.__marker") == 1
    expect(page.locator("#flash .flash-item")).to_be_focused()
    # an empty message: the error is swapped in and focused, nothing is stored
    page.get_by_role("button", name="Send").click()
    page.locator("#compose .error").wait_for()
    expect(page.locator("#id_body")).to_be_focused()
    assert page.evaluate("window.__marker") == 1
    assert [e for e in page.console_errors if "422" not in e] == []
    page.console_errors.clear()  # the browser logs the intended 422 response
    # an internal note
    page.get_by_label("Internal note").check()
    page.get_by_label("Message").fill("Asentaja tilattu.")
    page.get_by_role("button", name="Send").click()
    page.locator(".msg-note", has_text="Asentaja tilattu.").wait_for()
    check_a11y(page)
    kinds = list(ticket.messages.order_by("id").values_list("kind", flat=True))
    assert kinds == [MessageKind.INBOUND, MessageKind.REPLY, MessageKind.NOTE]
    # a property change (htmx too)
    page.get_by_label("Urgency").select_option("high")
    page.get_by_role("button", name="Save changes").click()
    page.locator("#flash", has_text="Ticket updated").wait_for()
    ticket.refresh_from_db()
    assert ticket.urgency == "high"

    # queue page
    page.get_by_role("link", name="Queue", exact=True).click()
    page.wait_for_url(live_server.url + "/")
    check_a11y(page)
    page.goto(live_server.url + f"/?view=team&team={world.service_point.pk}")
    page.get_by_role("link", name=other.number).wait_for()
    check_a11y(page)
    page.screenshot(path=str(SHOTS / "kapula-queue.png"), full_page=True)

    # a walk-in visit, customer found with the htmx look-up
    page.get_by_role("link", name="New ticket").click()
    check_a11y(page)
    page.get_by_label("Walk-in").check()
    page.get_by_label("Find a customer by name, email or phone").fill(
        "asiakas@example.fi")
    page.locator("#customer-results input[type=radio]").first.wait_for()
    check_a11y(page)
    page.locator("#customer-results input[type=radio]").first.check()
    page.get_by_label("What the customer needs").fill("Kysyi pysäköintiluvasta.")
    page.get_by_label("Resolved at first contact").check()
    page.screenshot(path=str(SHOTS / "kapula-new-ticket.png"), full_page=True)
    page.get_by_role("button", name="Record ticket").click()
    page.wait_for_url("**/tickets/*/")
    created = Ticket.objects.order_by("-id").first()
    assert created is not None and created.channel == "walk_in"
    assert created.status == Status.RESOLVED and created.first_contact_resolution
    assert created.customer_id == ticket.customer_id
    check_a11y(page)

    # search
    page.get_by_role("link", name="Search", exact=True).click()
    page.wait_for_url("**/search/")
    check_a11y(page)
    page.get_by_role("searchbox").fill("lumityöt")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("link", name=other.number).wait_for()
    check_a11y(page)
    page.get_by_role("searchbox").fill(ticket.number)
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url(f"**/tickets/{ticket.pk}/")

    # API tokens
    page.get_by_role("link", name="API tokens").click()
    check_a11y(page)

    # switch language
    page.get_by_label("Language").select_option("sv")
    page.get_by_role("button", name="Switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    check_a11y(page)
    world.agent.refresh_from_db()
    assert world.agent.language == "sv"


def test_mobile_layout_and_english(world, live_server, browser):  # type: ignore[no-untyped-def]
    ticket = make_ticket(world, assignee=world.agent)
    context = browser.new_context(locale="en-GB", viewport={"width": 800, "height": 1100})
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(
        f"{m.text[:120]} @ {m.location}"))
    page.goto(live_server.url + "/login/")
    page.get_by_label("Username").fill("agent")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/")
    page.goto(live_server.url + f"/tickets/{ticket.pk}/")
    check_a11y(page)
    page.screenshot(path=str(SHOTS / "kapula-ticket-tablet.png"), full_page=True)
    context.close()
