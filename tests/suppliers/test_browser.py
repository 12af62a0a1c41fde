"""The escalation panel in real Chromium with axe-core: escalate to a supplier, see the
engagement, edit its reference, escalate to a team; no WCAG 2.1 A/AA violations."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from kapula.suppliers.models import SupplierEngagement
from kapula.tickets.models import Ticket
from tests.desk.conftest import make_ticket
from tests.desk.test_browser import browser, check_a11y, login, page  # noqa: F401

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_escalate_to_supplier_and_team(world, supplier, live_server, page):  # noqa: F811
    ticket = make_ticket(world, "VPN ei toimi", "VPN katkeaa aamuisin.", team=world.it_desk)
    login(page, live_server, "orgadmin")
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    panel = page.locator("#escalation")
    panel.get_by_text("Escalate to a team or a supplier").click()
    check_a11y(page)  # the open form
    panel.get_by_label("Escalate to").select_option(f"supplier:{supplier.pk}")
    panel.get_by_label("Reason").fill("Palvelinvika")
    panel.get_by_label("Note for the receiving team or supplier").fill("vpn-01 ei vastaa")
    panel.get_by_role("button", name="Escalate", exact=True).click()
    expect(page.locator("#escalation h3").first).to_have_text("Datakeskus Oy")
    expect(page.locator(".escalation-context")).to_contain_text("Palvelinvika")
    check_a11y(page)  # the engagement panel and the context on top of the conversation
    eng = SupplierEngagement.objects.get(ticket=ticket)
    page.get_by_label("Supplier's reference").fill("DK-1234")
    page.locator(f"#id_eng{eng.pk}-state").select_option("answered")
    page.locator("#escalation").get_by_role("button", name="Save").click()
    expect(page.locator(f"#id_eng{eng.pk}-reference")).to_have_value("DK-1234")
    eng.refresh_from_db()
    assert eng.reference == "DK-1234" and eng.state == "answered"
    # a form error is shown next to its field, accessibly
    page.locator("#escalation").get_by_text("Escalate to a team or a supplier").click()
    page.locator("#id_esc-target").select_option(f"team:{world.specialists.pk}")
    page.locator("#id_esc-reason").fill("")
    page.locator("#id_esc-reason").evaluate("e => e.removeAttribute('required')")
    page.locator("#escalation").get_by_role("button", name="Escalate", exact=True).click()
    expect(page.locator("#escalation .field-error")).to_have_count(1)
    assert ["422" in e for e in page.console_errors] == [True]  # the refused POST itself
    page.console_errors.clear()
    check_a11y(page)
    page.locator("#id_esc-reason").fill("Asiantuntijoille")
    page.locator("#escalation").get_by_role("button", name="Escalate", exact=True).click()
    expect(page.locator(".escalation-context")).to_contain_text("Asiantuntijoille")
    assert Ticket.objects.get(pk=ticket.pk).team == world.specialists
    check_a11y(page)
