"""The escalation panel on the desk's ticket page: escalate, return, edit the supplier's
reference; bad input is a form error (4xx) that writes nothing."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kapula.suppliers import actions as S
from kapula.suppliers.models import EngagementState, Escalation, SupplierEngagement
from kapula.tickets.models import HistoryEntry, Message, Ticket
from tests.desk.conftest import logged_in, make_ticket


def page(client, ticket) -> str:  # type: ignore[no-untyped-def]
    response = client.get(reverse("desk:ticket", args=[ticket.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_panel_offers_teams_and_suppliers(world, supplier):
    ticket = make_ticket(world, team=world.it_desk)
    body = page(logged_in(world.lead), ticket)
    assert 'id="escalation"' in body and reverse("suppliers:escalate", args=[ticket.pk]) in body
    assert f'value="team:{world.specialists.pk}"' in body
    assert f'value="supplier:{supplier.pk}"' in body
    assert f'value="team:{world.it_desk.pk}"' not in body  # not its own team
    assert f'value="team:{world.other_team.pk}"' not in body


def test_escalate_to_a_team_from_the_desk(world):
    ticket = make_ticket(world, team=world.it_desk)
    client = logged_in(world.org_admin)
    response = client.post(reverse("suppliers:escalate", args=[ticket.pk]), {
        "esc-target": f"team:{world.specialists.pk}", "esc-reason": "Vaatii ylläpitäjän",
        "esc-note": "Käyttäjä ei pääse VPN:ään.", "esc-version": ticket.version})
    assert response.status_code == 302
    assert response["Location"].endswith(f"/tickets/{ticket.pk}/#escalation")
    ticket.refresh_from_db()
    assert ticket.team == world.specialists
    body = page(client, ticket)
    # the context on top of the conversation, and the way back
    assert "escalation-context" in body and "Vaatii ylläpitäjän" in body
    assert body.index("escalation-context") < body.index('class="conversation"')
    assert reverse("suppliers:return", args=[ticket.pk]) in body
    response = client.post(reverse("suppliers:return", args=[ticket.pk]), {
        "ret-team": world.it_desk.pk, "ret-reason": "Hoidettu", "ret-version": ticket.version})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.team == world.it_desk


def test_a_user_who_loses_sight_goes_back_to_the_queue(world):
    ticket = make_ticket(world, team=world.it_desk)
    response = logged_in(world.lead).post(reverse("suppliers:escalate", args=[ticket.pk]), {
        "esc-target": f"team:{world.specialists.pk}", "esc-reason": "2. taso",
        "esc-version": ticket.version})
    assert response.status_code == 302 and response["Location"] == reverse("desk:queue")


def rows() -> tuple[int, ...]:
    return (Message.objects.count(), HistoryEntry.objects.count(), Escalation.objects.count(),
            SupplierEngagement.objects.count())


def test_bad_input_is_a_form_error(world, supplier):
    ticket = make_ticket(world, team=world.it_desk)
    client = logged_in(world.lead)
    url = reverse("suppliers:escalate", args=[ticket.pk])
    before = rows()
    for target in ("supplier:999999", f"team:{world.other_team.pk}", "team:x", "", "bogus"):
        response = client.post(url, {"esc-target": target, "esc-reason": "syy",
                                     "esc-version": ticket.version})
        assert response.status_code == 422, target
        assert 'class="field field-error"' in response.content.decode()
    response = client.post(url, {"esc-target": f"team:{world.specialists.pk}",
                                 "esc-reason": "", "esc-version": ticket.version})
    assert response.status_code == 422
    response = client.post(url, {"esc-target": f"team:{world.specialists.pk}",
                                 "esc-reason": "syy", "esc-version": ticket.version + 3})
    assert response.status_code == 409
    assert rows() == before
    assert Ticket.objects.get(pk=ticket.pk).team == world.it_desk


def test_engagement_panel_and_reference_edit(world, supplier):
    ticket = make_ticket(world, team=world.it_desk)
    client = logged_in(world.lead)
    response = client.post(reverse("suppliers:escalate", args=[ticket.pk]), {
        "esc-target": f"supplier:{supplier.pk}", "esc-reason": "Laitevika",
        "esc-version": ticket.version})
    assert response.status_code == 302
    eng = SupplierEngagement.objects.get(ticket=ticket)
    body = page(client, ticket)
    assert "Datakeskus Oy" in body and f'name="eng{eng.pk}-reference"' in body
    url = reverse("suppliers:engagement", args=[ticket.pk, eng.pk])
    response = client.post(url, {f"eng{eng.pk}-reference": "DK-77",
                                 f"eng{eng.pk}-state": EngagementState.RESOLVED})
    assert response.status_code == 302
    eng.refresh_from_db()
    assert eng.reference == "DK-77" and eng.state == EngagementState.RESOLVED
    # a closed engagement cannot be reopened; another ticket's engagement is not found
    response = client.post(url, {f"eng{eng.pk}-reference": "DK-77",
                                 f"eng{eng.pk}-state": EngagementState.OPEN})
    assert response.status_code == 422
    other = make_ticket(world, team=world.it_desk, email="toinen@example.fi")
    response = client.post(reverse("suppliers:engagement", args=[other.pk, eng.pk]),
                           {f"eng{eng.pk}-reference": "x", f"eng{eng.pk}-state": "open"})
    assert response.status_code == 404


def test_ticket_page_adds_one_query_however_many_hand_overs(world, supplier):
    ticket = make_ticket(world, team=world.it_desk)
    client = logged_in(world.org_admin)
    page(client, ticket)  # warm up: session, configuration caches

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            page(client, ticket)
        return len(ctx.captured_queries)

    few = count()
    S.escalate(actor=world.org_admin, ticket=ticket, supplier=supplier, reason="1")
    for i in range(3):
        S.escalate(actor=world.org_admin, ticket=ticket, to_team=world.specialists, reason=f"{i}")
        S.return_ticket(actor=world.org_admin, ticket=ticket, reason=f"takaisin {i}")
    assert count() == few
    assert sum("suppliers_" in q["sql"] for q in _queries(client, ticket)) == 1


def _queries(client, ticket):  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        page(client, ticket)
    return ctx.captured_queries


def test_write_to_the_supplier_from_the_desk(world, supplier):
    ticket = make_ticket(world, team=world.it_desk)
    client = logged_in(world.lead)
    esc = S.escalate(actor=world.lead, ticket=ticket, supplier=supplier, reason="x")
    assert esc.engagement is not None
    url = reverse("suppliers:engagement_message", args=[ticket.pk, esc.engagement.pk])
    assert url in page(client, ticket)
    assert client.post(url, {f"msg{esc.engagement.pk}-body": ""}).status_code == 422
    response = client.post(url, {f"msg{esc.engagement.pk}-body": "Arvio?"})
    assert response.status_code == 302
    assert Message.objects.filter(ticket=ticket, body_text__endswith="Arvio?").exists()
    assert logged_in(world.agent).post(url, {f"msg{esc.engagement.pk}-body": "x"}
                                       ).status_code == 404
