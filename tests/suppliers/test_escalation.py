"""Escalation between tiers and to suppliers: always the same ticket, recorded in the
history with its reason, told to the receiving team, never to the customer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kapula.core.actions import CustomerIdentity
from kapula.core.errors import ActionError, Conflict, Forbidden, ValidationFailed
from kapula.core.models import OutboxEvent
from kapula.intake.actions import Intake, receive
from kapula.suppliers import actions as S
from kapula.suppliers.models import (
    EngagementState,
    Escalation,
    Supplier,
    SupplierEngagement,
)
from kapula.tickets import actions as A
from kapula.tickets.models import HistoryEntry, Message, MessageKind, Status, Ticket


def new_ticket(world, team=None) -> Ticket:  # type: ignore[no-untyped-def]
    return receive(Intake(organisation=world.org, channel="web_form", subject="VPN ei toimi",
                          body="VPN-yhteys katkeaa joka aamu.", team=team or world.it_desk,
                          customer=CustomerIdentity(name="Aino", email="aino@example.fi"))
                   ).ticket


def counts() -> tuple[int, ...]:
    return (Ticket.objects.count(), Message.objects.count(), HistoryEntry.objects.count(),
            OutboxEvent.objects.count(), Escalation.objects.count(),
            SupplierEngagement.objects.count())


def test_escalation_to_a_team_keeps_the_ticket_and_tells_the_team(world):
    ticket = new_ticket(world)
    number = ticket.number
    esc = S.escalate(actor=world.lead, ticket=ticket, to_team=world.specialists,
                     reason="Vaatii palomuurimuutoksen", note="Lokit liitteenä.",
                     expected_version=ticket.version)
    ticket.refresh_from_db()
    assert ticket.number == number and Ticket.objects.count() == 1
    assert ticket.team == world.specialists
    assert esc.from_team == world.it_desk and esc.to_tier == "specialist"
    assert esc.from_tier == "front"
    # the receiving team's context: an internal note with the reason and the note
    note = Message.objects.get(pk=esc.message_id)
    assert note.kind == MessageKind.NOTE and note.ticket_id == ticket.pk
    assert "Vaatii palomuurimuutoksen" in note.body_text and "Lokit liitteenä." in note.body_text
    # the customer sees nothing: no public message was added
    assert [m.kind for m in ticket.messages.order_by("id")] == ["inbound", "note"]
    history = {h.field: h for h in HistoryEntry.objects.filter(ticket=ticket)}
    assert "Vaatii palomuurimuutoksen" in history["escalation"].new
    assert history["team"].new.startswith(str(world.specialists))
    event = OutboxEvent.objects.get(topic="ticket.escalated")
    assert event.payload["number"] == number and event.payload["to_team"] == world.specialists.pk
    assert event.payload["reason"] == "Vaatii palomuurimuutoksen"


def test_a_follow_up_from_the_customer_lands_in_the_same_ticket(world):
    ticket = new_ticket(world)
    S.escalate(actor=world.org_admin, ticket=ticket, to_team=world.specialists, reason="2. taso")
    again = receive(Intake(organisation=world.org, channel="email", subject=f"Re: {ticket.number}",
                           body="Vieläkin katkeaa.",
                           customer=CustomerIdentity(email="aino@example.fi")))
    assert again.ticket.pk == ticket.pk and not again.created


def test_return_goes_back_to_the_team_it_came_from(world):
    ticket = new_ticket(world)
    S.escalate(actor=world.org_admin, ticket=ticket, to_team=world.specialists, reason="x")
    assert S.previous_team(Ticket.objects.get(pk=ticket.pk)) == world.it_desk
    back = S.return_ticket(actor=world.org_admin, ticket=ticket, reason="Ohje annettu 1. tasolle")
    ticket.refresh_from_db()
    assert ticket.team == world.it_desk and back.kind == "return"
    assert OutboxEvent.objects.filter(topic="ticket.returned").count() == 1
    assert list(HistoryEntry.objects.filter(ticket=ticket, field="escalation")
                .values_list("new", flat=True))[-1].endswith("Ohje annettu 1. tasolle")
    # nothing more to return from
    with pytest.raises(ValidationFailed) as exc:
        S.return_ticket(actor=world.org_admin, ticket=ticket, reason="taas")
    assert exc.value.code == "nothing_to_return"


@pytest.mark.parametrize(("case", "code"), [
    ("other_org_team", "invalid_team"), ("other_org_supplier", "invalid_supplier"),
    ("inactive_team", "invalid_team"), ("no_target", "target_required"),
    ("both_targets", "target_required"), ("no_reason", "reason_required"),
    ("long_reason", "reason_too_long"), ("same_team", "same_team"),
    ("not_a_team", "invalid_team"),
])
def test_bad_input_is_refused_and_writes_nothing(world, supplier, case, code):
    ticket = new_ticket(world)
    foreign = Supplier.objects.create(organisation=world.other_org, name="Oulun toimittaja",
                                      email="x@oulu.example")
    world.specialists.is_active = case != "inactive_team"
    world.specialists.save()
    kwargs = {
        "other_org_team": {"to_team": world.other_team},
        "other_org_supplier": {"supplier": foreign},
        "inactive_team": {"to_team": world.specialists},
        "no_target": {},
        "both_targets": {"to_team": world.specialists, "supplier": supplier},
        "no_reason": {"to_team": world.specialists, "reason": "  "},
        "long_reason": {"to_team": world.specialists, "reason": "x" * 301},
        "same_team": {"to_team": world.it_desk},
        "not_a_team": {"to_team": supplier},
    }[case]
    kwargs.setdefault("reason", "syy")
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        S.escalate(actor=world.org_admin, ticket=ticket, **kwargs)
    assert exc.value.code == code and exc.value.status == 422 and exc.value.message
    assert counts() == before


def test_permission_the_actor_must_see_the_ticket(world, supplier):
    ticket = new_ticket(world)
    before = counts()
    for user in (world.agent, world.outsider, world.other_agent):
        with pytest.raises(Forbidden):
            S.escalate(actor=user, ticket=ticket, to_team=world.specialists, reason="x")
        with pytest.raises(Forbidden):
            S.escalate(actor=user, ticket=ticket, supplier=supplier, reason="x")
    assert counts() == before


def test_a_closed_or_stale_ticket_is_not_handed_over(world):
    ticket = new_ticket(world)
    with pytest.raises(Conflict) as exc:
        S.escalate(actor=world.lead, ticket=ticket, to_team=world.specialists, reason="x",
                   expected_version=ticket.version + 5)
    assert exc.value.code == "stale_version"
    A.change_status(actor=world.lead, ticket=ticket, status=Status.CLOSED)
    before = counts()
    with pytest.raises(Conflict) as exc:
        S.escalate(actor=world.lead, ticket=ticket, to_team=world.specialists, reason="x")
    assert exc.value.code == "ticket_closed" and counts() == before


def test_supplier_engagement_with_targets_and_waiting_status(world, supplier):
    ticket = new_ticket(world)
    before = timezone.now()
    esc = S.escalate(actor=world.lead, ticket=ticket, supplier=supplier, reason="Palvelinvika",
                     note="Palvelin vpn-01 ei vastaa.")
    ticket.refresh_from_db()
    eng = esc.engagement
    assert eng is not None and eng.state == EngagementState.OPEN and eng.ticket_id == ticket.pk
    assert ticket.team == world.it_desk  # the team keeps following the ticket
    assert ticket.status == Status.PENDING_THIRD_PARTY
    assert before + timedelta(hours=4) <= eng.response_due_at <= timezone.now() + timedelta(hours=4)
    assert eng.resolution_due_at - eng.sent_at == timedelta(hours=40)
    assert esc.to_tier == "supplier"
    event = OutboxEvent.objects.get(topic="supplier.escalated")
    assert event.payload["engagement"] == eng.pk and event.payload["message"] == esc.message_id
    # the same supplier twice: refused, nothing written
    snapshot = counts()
    with pytest.raises(Conflict) as exc:
        S.escalate(actor=world.lead, ticket=ticket, supplier=supplier, reason="uudelleen")
    assert exc.value.code == "already_engaged" and counts() == snapshot


def test_supplier_offered_only_to_its_teams(world, supplier):
    supplier.teams.set([world.specialists])
    ticket = new_ticket(world)
    with pytest.raises(ValidationFailed) as exc:
        S.escalate(actor=world.lead, ticket=ticket, supplier=supplier, reason="x")
    assert exc.value.code == "supplier_not_for_team"


def test_engagement_reference_state_and_outcomes(world, supplier):
    ticket = new_ticket(world)
    eng = S.escalate(actor=world.lead, ticket=ticket, supplier=supplier, reason="x").engagement
    assert eng is not None
    eng = S.update_engagement(actor=world.lead, engagement=eng, reference=" INC 42 ")
    assert eng.reference == "INC 42" and eng.state == EngagementState.OPEN
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING_THIRD_PARTY
    # late resolution: the response was in time, the resolution was not
    SupplierEngagement.objects.filter(pk=eng.pk).update(
        resolution_due_at=timezone.now() - timedelta(minutes=1))
    eng.refresh_from_db()
    assert eng.resolution_overdue
    eng = S.update_engagement(actor=world.lead, engagement=eng, state=EngagementState.RESOLVED)
    assert eng.response_met is True and eng.resolution_met is False
    assert eng.resolved_at is not None and eng.closed_at is not None
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN  # back in the team's queue
    fields = set(HistoryEntry.objects.filter(ticket=ticket).values_list("field", flat=True))
    assert {"supplier_reference", "supplier_state", "escalation"} <= fields
    # a closed engagement stays closed
    with pytest.raises(ValidationFailed) as exc:
        S.update_engagement(actor=world.lead, engagement=eng, state=EngagementState.OPEN)
    assert exc.value.code == "invalid_transition"
    with pytest.raises(ActionError) as err:
        S.update_engagement(actor=world.lead, engagement=eng, reference="x" * 101)
    assert err.value.code == "reference_too_long"
    with pytest.raises(Forbidden):
        S.update_engagement(actor=world.agent, engagement=eng, reference="y")
    # once closed, the supplier can be engaged again
    S.escalate(actor=world.lead, ticket=ticket, supplier=supplier, reason="uusi vika")
    assert SupplierEngagement.objects.filter(ticket=ticket).count() == 2
