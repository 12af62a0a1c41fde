"""SLA clocks driven by the ticket actions, and the scheduler pass."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from kapula.core.models import OutboxEvent
from kapula.sla.clocks import match, tick
from kapula.sla.models import Calendar, ClockState, Metric, ServiceHours, SlaClock, SlaPolicy
from kapula.tickets import actions as A
from kapula.tickets import config
from kapula.tickets.models import MessageKind, Status, Ticket

HEL = ZoneInfo("Europe/Helsinki")


def hel(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=HEL)


class Clock:
    """Sets the time everything in Kapula reads (django.utils.timezone.now)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = hel(2026, 11, 27, 15, 0)  # a Friday
        monkeypatch.setattr(timezone, "now", lambda: self.now.astimezone(dt.UTC))

    def set(self, moment: dt.datetime) -> None:
        self.now = moment


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def sla(world):  # type: ignore[no-untyped-def]
    cal = Calendar.objects.create(organisation=world.org, name="Virka-aika")
    for day in range(5):
        ServiceHours.objects.create(calendar=cal, weekday=day, start=dt.time(8),
                                    end=dt.time(16))
    general = SlaPolicy.objects.create(
        organisation=world.org, name="Perus", first_response_minutes=120,
        next_response_minutes=240, resolution_minutes=960)
    return general


def new_ticket(world, **kw) -> Ticket:  # type: ignore[no-untyped-def]
    return A.create_ticket(actor=None, organisation=world.org, title="Katuvalo rikki",
                           body="Katuvalo on rikki.", channel="email", **kw)


def clocks(ticket: Ticket) -> dict[str, SlaClock]:
    return {c.metric: c for c in SlaClock.objects.filter(ticket=ticket).order_by("id")}


def test_most_specific_policy_wins(world, sla):
    specific = SlaPolicy.objects.create(organisation=world.org, name="Katuvalot kiireelliset",
                                        category=world.category, priority=2,
                                        first_response_minutes=30)
    by_type = SlaPolicy.objects.create(organisation=world.org, name="Häiriöt",
                                       ticket_type=world.incident, first_response_minutes=60)
    other_org = SlaPolicy.objects.create(organisation=world.other_org, name="Oulu",
                                         first_response_minutes=5)
    base = Ticket(organisation=world.org, team=world.service_point, priority=3)
    assert match(base) == sla
    assert match(Ticket(organisation=world.org, ticket_type=world.incident, priority=3)) \
        == by_type
    both = Ticket(organisation=world.org, ticket_type=world.incident, category=world.category,
                  priority=2)
    assert match(both) == specific  # two conditions beat one
    assert match(Ticket(organisation=world.other_org, priority=3)) == other_org


def test_customer_group_and_unit_conditions(world, sla):
    from kapula.core.actions import create_customer

    vip = SlaPolicy.objects.create(organisation=world.org, name="Yritykset",
                                   customer_organisation="Acme Oy", first_response_minutes=15)
    it_unit = SlaPolicy.objects.create(organisation=world.org, name="IT", unit=world.sub_unit,
                                       first_response_minutes=45)
    acme = create_customer(actor=None, organisation=world.org, name="Maija",
                           emails=["maija@acme.example"])
    acme.organisation_name = "ACME oy"
    acme.save()
    assert match(Ticket(organisation=world.org, customer=acme, priority=3), acme) == vip
    assert match(Ticket(organisation=world.org, team=world.it_desk, priority=3)) == it_unit
    assert match(Ticket(organisation=world.org, team=world.service_point, priority=3)) == sla


def test_created_ticket_gets_clocks_by_business_hours(world, sla, clock):
    ticket = new_ticket(world)
    found = clocks(ticket)
    assert set(found) == {Metric.FIRST_RESPONSE, Metric.RESOLUTION}
    # Friday 15:00 + 120 business minutes, open Mon-Fri 8-16: Monday 9:00
    assert found[Metric.FIRST_RESPONSE].due_at == hel(2026, 11, 30, 9, 0)
    # 960 minutes = two working days: 60 on Friday, 480 Monday, 420 Tuesday -> 15:00
    assert found[Metric.RESOLUTION].due_at == hel(2026, 12, 1, 15, 0)
    ticket.refresh_from_db()
    assert ticket.sla_due_at == hel(2026, 11, 30, 9, 0)
    assert ticket.sla_state == "running"


def test_replies_meet_response_clocks_and_customer_starts_next(world, sla, clock):
    ticket = new_ticket(world)
    clock.set(hel(2026, 11, 30, 8, 30))
    A.add_message(actor=world.agent, ticket=ticket, kind=MessageKind.REPLY, body="Hoidamme.")
    first = clocks(ticket)[Metric.FIRST_RESPONSE]
    assert first.state == ClockState.MET
    assert first.business_minutes_used == 90
    ticket.refresh_from_db()
    assert ticket.sla_due_at == hel(2026, 12, 1, 15, 0)  # now the resolution is nearest
    # an internal note is not a response
    clock.set(hel(2026, 11, 30, 9, 0))
    A.add_message(actor=None, ticket=ticket, kind=MessageKind.INBOUND, body="Milloin?")
    nxt = clocks(ticket)[Metric.NEXT_RESPONSE]
    assert nxt.state == ClockState.RUNNING and nxt.due_at == hel(2026, 11, 30, 13, 0)
    A.add_message(actor=world.agent, ticket=ticket, kind=MessageKind.NOTE, body="muistiin")
    assert clocks(ticket)[Metric.NEXT_RESPONSE].state == ClockState.RUNNING
    clock.set(hel(2026, 11, 30, 14, 0))
    A.add_message(actor=world.agent, ticket=ticket, kind=MessageKind.REPLY, body="Tänään.")
    nxt = clocks(ticket)[Metric.NEXT_RESPONSE]
    assert nxt.state == ClockState.BREACHED and nxt.business_minutes_used == 300


def test_pending_customer_pauses_and_pushes_the_due_time(world, sla, clock):
    ticket = new_ticket(world)
    clock.set(hel(2026, 11, 30, 9, 0))
    A.add_message(actor=world.agent, ticket=ticket, kind=MessageKind.REPLY, body="Kuva?")
    A.change_status(actor=world.agent, ticket=ticket, status=Status.PENDING_CUSTOMER)
    res = clocks(ticket)[Metric.RESOLUTION]
    assert res.state == ClockState.PAUSED and res.due_at is None
    assert res.used_seconds == 120 * 60  # Friday 15-16 and Monday 8-9
    ticket.refresh_from_db()
    assert ticket.sla_state == "paused" and ticket.sla_due_at is None
    # the customer answers on Tuesday at 9:00: the clock resumes, pushed by 8 business hours
    clock.set(hel(2026, 12, 1, 9, 0))
    A.add_message(actor=None, ticket=ticket, kind=MessageKind.INBOUND, body="Tässä kuva.")
    res = clocks(ticket)[Metric.RESOLUTION]
    assert res.state == ClockState.RUNNING
    assert res.due_at == hel(2026, 12, 2, 15, 0)  # was Tuesday 15:00
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_resolve_records_outcome_and_reopen_resumes(world, sla, clock):
    ticket = new_ticket(world)
    clock.set(hel(2026, 11, 30, 10, 0))
    A.add_message(actor=world.agent, ticket=ticket, kind=MessageKind.REPLY, body="Korjattu.")
    A.change_status(actor=world.agent, ticket=ticket, status=Status.RESOLVED)
    res = clocks(ticket)[Metric.RESOLUTION]
    assert res.state == ClockState.MET and res.business_minutes_used == 180
    assert clocks(ticket)[Metric.FIRST_RESPONSE].state == ClockState.BREACHED  # 180 > 120
    ticket.refresh_from_db()
    assert ticket.sla_state == "breached" and ticket.sla_due_at is None
    clock.set(hel(2026, 12, 1, 8, 0))
    A.change_status(actor=world.agent, ticket=ticket, status=Status.OPEN)
    res = clocks(ticket)[Metric.RESOLUTION]
    assert res.state == ClockState.RUNNING
    assert res.due_at == hel(2026, 12, 2, 13, 0)  # 780 minutes left from Tuesday 8:00


def test_priority_change_rematches_and_keeps_elapsed_time(world, sla, clock):
    SlaPolicy.objects.create(organisation=world.org, name="Kiireelliset", priority=1,
                             first_response_minutes=30, resolution_minutes=240)
    ticket = new_ticket(world)
    assert clocks(ticket)[Metric.FIRST_RESPONSE].target_minutes == 120
    clock.set(hel(2026, 11, 27, 15, 20))
    A.set_priority(actor=world.agent, ticket=ticket, impact="high", urgency="high")
    first = clocks(ticket)[Metric.FIRST_RESPONSE]
    assert first.target_minutes == 30
    assert first.due_at == hel(2026, 11, 27, 15, 30)  # 20 minutes already used
    assert clocks(ticket)[Metric.RESOLUTION].target_minutes == 240


def test_scheduler_warns_breaches_once(world, sla, clock):
    ticket = new_ticket(world)
    before = OutboxEvent.objects.filter(topic__startswith="sla.").count()
    assert before == 0
    # 75 % of 120 minutes = 90: Friday 60 + Monday 30 -> Monday 8:30
    assert tick(now=hel(2026, 11, 30, 8, 29))["warnings"] == 0
    assert tick(now=hel(2026, 11, 30, 8, 40)) == {"checked": 1, "warnings": 1, "breaches": 0}
    ticket.refresh_from_db()
    assert ticket.sla_state == "warning"
    result = tick(now=hel(2026, 11, 30, 9, 5))  # past due: no late 90 % warning, a breach
    assert result["warnings"] == 0 and result["breaches"] == 1
    assert tick(now=hel(2026, 11, 30, 9, 6)) == {"checked": 0, "warnings": 0, "breaches": 0}
    events = list(OutboxEvent.objects.filter(topic__startswith="sla.").order_by("id"))
    assert [(e.topic, e.payload.get("threshold")) for e in events] == [
        ("sla.warning", 75), ("sla.breached", None)]
    assert events[-1].payload["number"] == ticket.number
    assert events[-1].payload["metric"] == Metric.FIRST_RESPONSE
    ticket.refresh_from_db()
    assert ticket.sla_state == "breached"
    first = clocks(ticket)[Metric.FIRST_RESPONSE]
    assert first.breached and first.state == ClockState.RUNNING and first.warnings_sent == 1
    clock.set(hel(2026, 11, 30, 10, 0))
    A.add_message(actor=world.agent, ticket=ticket, kind=MessageKind.REPLY, body="Anteeksi.")
    first = clocks(ticket)[Metric.FIRST_RESPONSE]
    assert first.state == ClockState.BREACHED and first.business_minutes_used == 180


def test_sla_tick_command(world, sla, clock, capsys):
    new_ticket(world)
    clock.set(hel(2026, 12, 3, 12, 0))
    call_command("sla_tick")
    out = capsys.readouterr().out
    assert '"breaches": 2' in out


def test_no_policy_no_clocks_and_first_contact_resolution(world, clock):
    ticket = new_ticket(world)
    assert not SlaClock.objects.filter(ticket=ticket).exists()
    assert ticket.sla_state == ""
    SlaPolicy.objects.create(organisation=world.org, name="Perus", first_response_minutes=60)
    config.invalidate()  # as the admin does when it saves
    done = new_ticket(world, status=Status.RESOLVED)
    assert clocks(done)[Metric.FIRST_RESPONSE].state == ClockState.MET


def test_team_calendar_overrides_the_organisation(world, sla, clock):
    team_cal = Calendar.objects.create(organisation=world.org, team=world.it_desk,
                                       name="IT 7:30-16")
    for day in range(5):
        ServiceHours.objects.create(calendar=team_cal, weekday=day, start=dt.time(7, 30),
                                    end=dt.time(16))
    ticket = new_ticket(world, team=world.it_desk)
    assert clocks(ticket)[Metric.FIRST_RESPONSE].due_at == hel(2026, 11, 30, 8, 30)


def test_expected_handling_time_by_team_calendar(world, sla):
    from kapula.sla.calendars import expected_due

    friday = hel(2026, 11, 27, 10, 0)
    assert expected_due(organisation_id=world.org.pk, team_id=world.it_desk.pk,
                        business_days=2, start=friday) == hel(2026, 12, 1, 16, 0)
    assert expected_due(organisation_id=world.org.pk, business_hours=7,
                        start=friday) == hel(2026, 11, 30, 9, 0)
    assert expected_due(organisation_id=world.other_org.pk, business_days=1,
                        start=friday) == hel(2026, 11, 28, 10, 0)  # no calendar: 24/7


def test_merged_ticket_clocks_are_cancelled_and_team_change_replans(world, sla, clock):
    team_cal = Calendar.objects.create(organisation=world.org, team=world.it_desk,
                                       name="IT 7:30-16")
    for day in range(5):
        ServiceHours.objects.create(calendar=team_cal, weekday=day, start=dt.time(7, 30),
                                    end=dt.time(16))
    source, target = new_ticket(world), new_ticket(world)
    A.merge(actor=world.agent, source=source, target=target)
    assert {c.state for c in clocks(source).values()} == {ClockState.CANCELLED}
    source.refresh_from_db()
    assert source.sla_state == "" and source.sla_due_at is None
    # moving the ticket to a team with longer hours moves the due time
    A.assign(actor=world.org_admin, ticket=target, team=world.it_desk)
    assert clocks(target)[Metric.FIRST_RESPONSE].due_at == hel(2026, 11, 30, 8, 30)
