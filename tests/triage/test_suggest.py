"""Suggestions on the agent's ticket page, the Apply button, and automatic application."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from kapula.core.actions import CustomerIdentity
from kapula.core.models import OutboxEvent
from kapula.core.outbox import deliver_pending
from kapula.intake.actions import Intake, receive
from kapula.tickets import actions as A
from kapula.tickets.models import HistoryEntry, Ticket
from kapula.triage import actions
from kapula.triage.models import TriageDecision, TriageSettings
from tests.desk.conftest import logged_in


@pytest.fixture
def english(settings):  # type: ignore[no-untyped-def]
    """For tests that read the English texts (the default interface language is Finnish)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


pytestmark = pytest.mark.django_db

PRINTER_SV = ("Skrivaren skriver inte ut", "Hej, skrivaren på våningen visar pappersstopp. "
              "Utskriftskön har fastnat.")
PASSWORD_EN = ("Cannot log in", "My password expired and the account was locked.")


def new_ticket(world, subject: str, body: str, **kw) -> Ticket:  # type: ignore[no-untyped-def]
    return receive(Intake(organisation=world.org, channel="email", subject=subject, body=body,
                          customer=CustomerIdentity(email="uusi@example.fi"), **kw)).ticket


def test_ticket_page_shows_suggestions_with_confidence(trained, world):
    ticket = new_ticket(world, *PRINTER_SV)
    page = logged_in(world.agent).get(reverse("desk:ticket", args=[ticket.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    box = html[html.index('id="triage"'):html.index("</section>", html.index('id="triage"'))]
    assert re.search(r"Tulostimet</strong>\s*</span>\s*<span class=\"small\">[^<]*\d+ %", box)
    assert "IT-tuki</strong>" in box
    assert box.count('name="target"') == 2
    assert reverse("triage:apply", args=[ticket.pk]) in box
    assert "csrfmiddlewaretoken" in box


def test_no_box_without_a_model_or_for_closed_tickets(corpus, world):
    ticket = new_ticket(world, *PRINTER_SV)
    client = logged_in(world.agent)
    assert b'id="triage"' not in client.get(reverse("desk:ticket", args=[ticket.pk])).content
    resolved = corpus.tickets[0]
    assert b'id="triage"' not in logged_in(world.org_admin).get(
        reverse("desk:ticket", args=[resolved.pk])).content


def test_apply_changes_category_then_team_through_the_action(trained, world, english):
    corpus, _ = trained
    ticket = new_ticket(world, *PRINTER_SV)
    client = logged_in(world.agent)
    url = reverse("triage:apply", args=[ticket.pk])
    printer = corpus.categories["printer"]
    response = client.post(url, {"target": "category", "value": printer.pk,
                                 "version": ticket.version})
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:ticket", args=[ticket.pk])
    ticket.refresh_from_db()
    assert ticket.category_id == printer.pk
    entry = HistoryEntry.objects.get(ticket=ticket, field="category")
    assert entry.actor_id == world.agent.pk
    page = client.get(reverse("desk:ticket", args=[ticket.pk])).content.decode()
    assert "already set" in page
    # the team moves the ticket to the IT desk, which this agent does not see: to the queue
    response = client.post(url, {"target": "team", "value": world.it_desk.pk,
                                 "version": ticket.version})
    assert response["Location"] == reverse("desk:queue")
    ticket.refresh_from_db()
    assert ticket.team_id == world.it_desk.pk


def test_apply_errors_change_nothing(trained, world):
    ticket = new_ticket(world, *PRINTER_SV)
    client = logged_in(world.agent)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    url = reverse("triage:apply", args=[ticket.pk])
    version = ticket.version
    incomplete = "the request was incomplete"
    for data, error in (
            ({"target": "status", "value": 1}, incomplete),
            ({"target": "category", "value": "x"}, incomplete),
            ({"target": "category", "value": 999999, "version": version},
             "The suggested category no longer exists."),
            ({"target": "team", "value": world.other_team.pk, "version": version},
             "The suggested team no longer exists."),
            ({"target": "category", "value": trained[0].categories["printer"].pk,
              "version": version - 1}, "changed by someone else")):
        response = client.post(url, data, follow=True)
        assert response.status_code == 200
        assert response.redirect_chain[0][0].endswith("#triage")
        assert 'class="flash-item flash-error"' in response.content.decode()
        assert error in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.version == version and ticket.category_id is None
    # someone who cannot see the ticket gets 404
    assert logged_in(world.other_agent).post(url, {"target": "team", "value": 1}
                                             ).status_code == 404
    assert logged_in(world.agent).get(url).status_code == 405


def _auto(world, threshold: float) -> None:  # type: ignore[no-untyped-def]
    TriageSettings.objects.create(organisation=world.org, auto_apply=True, threshold=threshold)


def test_auto_apply_above_the_threshold(trained, world):
    corpus, _ = trained
    _auto(world, 0.5)
    ticket = new_ticket(world, *PASSWORD_EN)
    assert ticket.category_id is None
    deliver_pending()
    ticket.refresh_from_db()
    assert ticket.category_id == corpus.categories["password"].pk
    assert ticket.team_id == world.it_desk.pk
    labels = dict(HistoryEntry.objects.filter(ticket=ticket, field__in=["category", "team"])
                  .values_list("field", "actor_label"))
    assert re.fullmatch(r"triage \((0\.[5-9]\d|1\.00)\)", labels["category"])
    assert re.fullmatch(r"triage \((0\.[5-9]\d|1\.00)\)", labels["team"])
    decision = TriageDecision.objects.get(ticket=ticket)
    assert decision.category_applied and decision.team_applied
    assert decision.category_confidence >= 0.5
    # idempotent: a second run (a redelivered event) changes nothing
    version = ticket.version
    assert actions.auto_apply(ticket_id=ticket.pk) is None
    ticket.refresh_from_db()
    assert ticket.version == version
    assert TriageDecision.objects.filter(ticket=ticket).count() == 1


def test_not_below_the_threshold(trained, world):
    _auto(world, 1.0)
    ticket = new_ticket(world, "Asia", "Hei, minulla olisi kysyttävää. Kiitos.")
    deliver_pending()
    ticket.refresh_from_db()
    assert ticket.category_id is None and ticket.team_id == world.service_point.pk
    decision = TriageDecision.objects.get(ticket=ticket)
    assert not decision.category_applied and not decision.team_applied
    assert decision.category_confidence < 1.0
    assert not HistoryEntry.objects.filter(ticket=ticket, actor_label__startswith="triage")


def test_off_by_default(trained, world):
    ticket = new_ticket(world, *PASSWORD_EN)
    deliver_pending()
    ticket.refresh_from_db()
    assert ticket.category_id is None
    assert not TriageDecision.objects.exists()


def test_not_when_a_person_or_rule_chose(trained, world):
    corpus, _ = trained
    _auto(world, 0.5)
    # the category chosen at intake (a form's or an agent's choice) stays, as does the
    # team that came with it; a team set explicitly stays too
    chosen = new_ticket(world, *PASSWORD_EN, category=corpus.categories["feedback"],
                        team=world.specialists)
    # an agent changes the team before the worker runs: triage leaves the team alone
    moved = new_ticket(world, *PRINTER_SV)
    A.update_ticket(actor=world.org_admin, ticket=moved, changes={"team": world.specialists})
    # an assignee set: the team is somebody's choice
    assigned = new_ticket(world, *PRINTER_SV, assignee=world.agent)
    deliver_pending()
    chosen.refresh_from_db()
    assert chosen.category_id == corpus.categories["feedback"].pk
    assert chosen.team_id == world.specialists.pk
    moved.refresh_from_db()
    assert moved.team_id == world.specialists.pk
    assert moved.category_id == corpus.categories["printer"].pk  # nobody chose a category
    assigned.refresh_from_db()
    assert assigned.team_id == world.service_point.pk
    assert assigned.category_id == corpus.categories["printer"].pk


def test_the_box_adds_no_query_to_the_ticket_page(trained, world):
    """The page's own limit is asserted in tests/desk/test_views.py; the box adds nothing
    once the models are loaded, and two queries on a cold cache."""
    ticket = new_ticket(world, *PRINTER_SV)
    client = logged_in(world.agent)
    url = reverse("desk:ticket", args=[ticket.pk])
    with CaptureQueriesContext(connection) as cold:
        client.get(url)  # loads the models into this process
    assert len([q for q in cold.captured_queries if "triage_" in q["sql"]]) == 2
    with CaptureQueriesContext(connection) as warm:
        page = client.get(url)
    assert b'id="triage"' in page.content
    assert [q for q in warm.captured_queries if "triage_" in q["sql"]] == []


def test_a_broken_model_does_not_break_the_page(trained, world):
    from kapula.triage import queries
    from kapula.triage.models import TriageModel

    TriageModel.objects.filter(organisation=world.org, target="category").update(
        data=b"not a model", version=5)
    queries.forget()
    actions.forget_versions(world.org.pk)
    ticket = new_ticket(world, *PRINTER_SV)
    page = logged_in(world.agent).get(reverse("desk:ticket", args=[ticket.pk]))
    assert page.status_code == 200
    assert b'id="triage"' not in page.content
    # automatic triage gives up on such a model instead of retrying the event for hours
    _auto(world, 0.5)
    later = new_ticket(world, *PRINTER_SV)
    deliver_pending()
    later.refresh_from_db()
    assert later.category_id is None
    assert not OutboxEvent.objects.filter(processed_at__isnull=True).exists()
