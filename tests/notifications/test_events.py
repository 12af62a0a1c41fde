"""Events become notifications to the right agents: assignment, customer reply, SLA warning
and breach, routing rules' "notify", escalation; never to oneself, never about a ticket the
agent cannot see, never of a kind the agent turned off, and once per event."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from kapula.core.actions import CustomerIdentity
from kapula.core.models import Membership, OutboxEvent, User
from kapula.intake.actions import Intake, receive
from kapula.notifications import actions as N
from kapula.notifications.models import Kind, Notification
from kapula.routing.models import RoutingRule
from kapula.sla.clocks import tick
from kapula.sla.models import Calendar, ServiceHours, SlaPolicy
from kapula.suppliers import actions as S
from kapula.tickets import actions as A
from kapula.tickets.models import AuthorKind, MessageKind, Ticket
from tests.conftest import World, make_user
from tests.notifications.conftest import deliver

HEL = ZoneInfo("Europe/Helsinki")


def it_ticket(world: World, **kw: object) -> Ticket:
    return A.create_ticket(actor=None, organisation=world.org, title="Tulostin jumissa",
                           body="Paperi juuttuu.", channel="email", team=world.it_desk,
                           **kw)  # type: ignore[arg-type]


def got(user: User, kind: str | None = None) -> list[Notification]:
    qs = Notification.objects.filter(recipient=user)
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.order_by("id"))


def customer_writes(ticket: Ticket, body: str = "Lisätietoa: virhe 49.") -> None:
    A.add_message(actor=None, ticket=ticket, kind=MessageKind.INBOUND, body=body,
                  author_kind=AuthorKind.CUSTOMER)


def test_assignment_notifies_the_new_assignee(world: World, second: User) -> None:
    ticket = it_ticket(world)
    A.update_ticket(actor=world.lead, ticket=ticket, changes={"assignee": second})
    deliver()
    (n,) = got(second)
    assert n.kind == Kind.ASSIGNED and n.ticket_id == ticket.pk
    assert n.params["number"] == ticket.number and n.params["title"] == "Tulostin jumissa"
    assert n.read_at is None and n.emailed_at is None
    assert got(world.lead) == []


def test_assigning_oneself_notifies_nobody(world: World) -> None:
    ticket = it_ticket(world)
    A.update_ticket(actor=world.lead, ticket=ticket, changes={"assignee": world.lead})
    deliver()
    assert Notification.objects.count() == 0


def test_assignment_when_created_by_another_agent(world: World, second: User) -> None:
    ticket = A.create_ticket(actor=world.lead, organisation=world.org, title="Puhelu",
                             body="Soitti.", channel="phone", team=world.it_desk,
                             assignee=second)
    deliver()
    assert [n.kind for n in got(second)] == [Kind.ASSIGNED]
    assert ticket.number in got(second)[0].params["number"]


def test_customer_reply_goes_to_the_team_when_unassigned(world: World, second: User) -> None:
    ticket = it_ticket(world)
    deliver()
    assert Notification.objects.count() == 0  # the opening message is no reply
    customer_writes(ticket)
    deliver()
    assert [n.kind for n in got(world.lead)] == [Kind.CUSTOMER_REPLY]
    assert [n.kind for n in got(second)] == [Kind.CUSTOMER_REPLY]
    assert got(world.agent) == [] and got(world.other_agent) == []


def test_customer_reply_goes_to_the_assignee_only(world: World, second: User) -> None:
    ticket = it_ticket(world, assignee=second)
    deliver()
    Notification.objects.all().delete()
    customer_writes(ticket)
    A.add_message(actor=second, ticket=ticket, kind=MessageKind.REPLY, body="Kiitos.")
    A.add_message(actor=world.lead, ticket=ticket, kind=MessageKind.NOTE, body="Muistiinpano")
    deliver()
    assert [n.kind for n in got(second)] == [Kind.CUSTOMER_REPLY]
    assert got(world.lead) == []


def test_team_fan_out_is_capped(world: World, second: User,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    make_user("third", world.org, teams=(world.it_desk,))
    monkeypatch.setattr(N, "FAN_OUT_CAP", 2)
    customer_writes(it_ticket(world))
    deliver()
    assert Notification.objects.count() == 2
    assert got(world.lead)  # leads come first


def test_sla_warning_and_breach(world: World, second: User,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    now = dt.datetime(2026, 11, 27, 15, 0, tzinfo=HEL)  # a Friday afternoon
    monkeypatch.setattr(timezone, "now", lambda: now.astimezone(dt.UTC))
    cal = Calendar.objects.create(organisation=world.org, name="Virka-aika")
    for day in range(5):
        ServiceHours.objects.create(calendar=cal, weekday=day, start=dt.time(8),
                                    end=dt.time(16))
    SlaPolicy.objects.create(organisation=world.org, name="Perus", first_response_minutes=120,
                             next_response_minutes=240, resolution_minutes=960)
    ticket = it_ticket(world, assignee=second)
    tick(now=dt.datetime(2026, 11, 30, 8, 40, tzinfo=HEL))
    tick(now=dt.datetime(2026, 11, 30, 9, 5, tzinfo=HEL))
    deliver()
    kinds = [n.kind for n in got(second)]
    assert kinds.count(Kind.SLA_WARNING) >= 1 and kinds.count(Kind.SLA_BREACHED) == 1
    warning = got(second, Kind.SLA_WARNING)[0]
    assert warning.params["metric"] == "first_response" and warning.params["threshold"] == 75
    assert warning.ticket_id == ticket.pk
    assert got(world.lead) == []  # the ticket has an assignee


def test_routing_rule_notifies_only_those_who_see_the_ticket(world: World) -> None:
    rule = RoutingRule.objects.create(organisation=world.org, name="Tulostimet",
                                      keywords="tulostin", set_team=world.it_desk)
    rule.notify.set([world.lead, world.outsider, world.other_agent])
    result = receive(Intake(organisation=world.org, channel="email", subject="Tulostin",
                            body="Tulostin ei toimi.",
                            customer=CustomerIdentity(name="Maija", email="maija@example.fi")))
    deliver()
    (n,) = got(world.lead, Kind.ROUTING)
    assert n.params["rule"] == "Tulostimet" and n.ticket_id == result.ticket.pk
    assert got(world.outsider) == [] and got(world.other_agent) == []


def test_escalation_notifies_the_receiving_team_but_not_the_actor(world: World) -> None:
    spec1 = make_user("spec1", world.org, teams=(world.specialists,))
    Membership.objects.create(user=world.lead, team=world.specialists)
    ticket = it_ticket(world)
    S.escalate(actor=world.lead, ticket=ticket, to_team=world.specialists,
               reason="Vaatii asiantuntijan")
    deliver()
    (n,) = got(spec1, Kind.ESCALATED)
    assert n.params["reason"] == "Vaatii asiantuntijan"
    assert got(world.lead, Kind.ESCALATED) == []


def test_muted_kind_creates_nothing(world: World, second: User) -> None:
    N.save_preferences(actor=second, muted=[Kind.CUSTOMER_REPLY], frequency="off")
    customer_writes(it_ticket(world))
    deliver()
    assert got(second) == [] and len(got(world.lead)) == 1


def test_inactive_users_get_nothing(world: World, second: User) -> None:
    second.is_active = False
    second.save()
    customer_writes(it_ticket(world))
    deliver()
    assert got(second) == []


def test_the_same_event_notifies_once(world: World, second: User) -> None:
    ticket = it_ticket(world)
    A.update_ticket(actor=world.lead, ticket=ticket, changes={"assignee": second})
    deliver()
    event = OutboxEvent.objects.get(topic="ticket.assigned")
    N.notify_for_event(event)
    N.notify_for_event(event)
    assert len(got(second)) == 1


def test_unrelated_or_foreign_events_are_ignored(world: World) -> None:
    ticket = it_ticket(world)
    event = OutboxEvent.objects.create(organisation_id=world.org.pk, topic="routing.notify",
                                       aggregate="ticket", aggregate_id=ticket.pk,
                                       payload={"recipients": ["x", None, world.other_agent.pk]})
    assert N.notify_for_event(event) == []
    gone = OutboxEvent.objects.create(organisation_id=world.org.pk, topic="ticket.assigned",
                                      aggregate="ticket", aggregate_id=10**9,
                                      payload={"assignee": world.lead.pk})
    assert N.notify_for_event(gone) == []
