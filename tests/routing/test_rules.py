"""Routing rules on the intake path: order, first match and "continue", every condition and
action, agents' choices winning, the rule cache, and validation."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kapula.catalogue.actions import Submission, submit
from kapula.catalogue.models import Service
from kapula.core.actions import CustomerIdentity
from kapula.core.models import Customer, OutboxEvent, Unit
from kapula.intake.actions import Intake, receive
from kapula.intake.mail.models import Mailbox
from kapula.routing import engine
from kapula.routing.models import RoutingRule
from kapula.tickets.actions import Location
from kapula.tickets.models import HistoryEntry, Level, Priority, Ticket
from tests.conftest import World, make_user

HELSINKI = zoneinfo.ZoneInfo("Europe/Helsinki")


def rule(world: World, **kw: Any) -> RoutingRule:
    kw.setdefault("name", f"rule {RoutingRule.objects.count() + 1}")
    notify = kw.pop("notify", ())
    r = RoutingRule(organisation=world.org, **kw)
    r.full_clean()
    r.save()
    if notify:
        r.notify.set(notify)
        r.save()
    return r


def intake(world: World, text: str = "Tulostin ei toimi", **kw: Any) -> Ticket:
    kw.setdefault("customer", CustomerIdentity(name="Maija", email="maija@example.fi"))
    return receive(Intake(organisation=world.org, channel=kw.pop("channel", "email"),
                          subject=kw.pop("subject", text), body=text, **kw)).ticket


def test_no_rules_changes_nothing(world: World) -> None:
    t = intake(world)
    assert t.team_id == world.service_point.pk
    assert not HistoryEntry.objects.filter(ticket=t, field="routing").exists()


def test_first_matching_rule_wins_in_position_order(world: World) -> None:
    rule(world, name="later", position=20, keywords="tulostin", set_team=world.specialists)
    rule(world, name="first", position=10, keywords="tulostin", set_team=world.it_desk)
    rule(world, name="no match", position=5, keywords="kissa", set_urgency="high")
    t = intake(world)
    assert t.team_id == world.it_desk.pk
    assert t.urgency == Level.MEDIUM
    entry = HistoryEntry.objects.get(ticket=t, field="routing")
    assert entry.new == "first" and entry.actor_label == "routing"


def test_continue_lets_later_rules_add_and_override(world: World) -> None:
    rule(world, name="tag", position=1, keywords="tulostin", add_tags="printer",
         set_team=world.specialists, continue_processing=True)
    rule(world, name="team", position=2, keywords="tulostin", set_team=world.it_desk,
         add_tags="it")
    rule(world, name="never", position=3, keywords="tulostin", set_urgency="high")
    t = intake(world)
    assert t.team_id == world.it_desk.pk
    assert sorted(t.tags.values_list("name", flat=True)) == ["it", "printer"]
    assert t.urgency == Level.MEDIUM
    assert HistoryEntry.objects.get(ticket=t, field="routing").new == "tag, team"


def test_disabled_rules_are_skipped(world: World) -> None:
    rule(world, keywords="tulostin", set_team=world.it_desk, enabled=False)
    assert intake(world).team_id == world.service_point.pk


@pytest.mark.parametrize(("keywords", "text", "hit"), [
    ("tulostin", "Tulostin ei toimi", True),
    ("tulostin", "TULOSTIN rikki", True),
    ("tulostin", "tulostimen paperi", False),       # whole words only
    ("tulost*", "tulostimen paperi loppui", True),  # inflection by prefix
    ("tulostin\nskrivare", "Min skrivare är trasig", True),
    ("työ estynyt", "Työ   estynyt koko päivän", True),
    ("työ esty*", "työ estyy kokonaan", True),
    ("arbetet förhindrat", "arbetet förhindrat", True),
    ("print", "printer broken", False),
    ("äly", "Älypuhelin", False),
])
def test_keywords(world: World, keywords: str, text: str, hit: bool) -> None:
    rule(world, keywords=keywords, set_team=world.it_desk)
    t = intake(world, text)
    assert (t.team_id == world.it_desk.pk) is hit


def test_pattern_on_title_and_body(world: World) -> None:
    rule(world, pattern=r"\bPC-\d{4}\b", set_team=world.it_desk)
    assert intake(world, "Kone", subject="Kone pc-1234 jumissa").team_id == world.it_desk.pk
    assert intake(world, "Kone PC-12 jumissa").team_id == world.service_point.pk


@pytest.mark.parametrize("pattern", [
    "(a+)+$", "(x|xy)*z", r"(\w+\s?)*$", ".*.*=.*", "(a)\\1", "a(", "[z-a]", "x" * 201,
])
def test_dangerous_or_invalid_patterns_are_rejected(world: World, pattern: str) -> None:
    with pytest.raises(ValidationError) as exc:
        rule(world, pattern=pattern)
    assert "pattern" in exc.value.message_dict


def test_invalid_keywords_and_conditions_are_rejected(world: World) -> None:
    cases: list[tuple[dict[str, Any], str]] = [({"keywords": "tulostin (hp)"}, "keywords"),
                      ({"channels": ["fax"]}, "channels"),
                      ({"languages": ["de"]}, "languages"),
                      ({"weekdays": [7]}, "weekdays"),
                      ({"area_south": 61.0}, "area_south"),
                      ({"time_from": dt.time(8)}, "time_to"),
                      ({"set_team": world.other_team}, "set_team"),
                      ({"kind": "out_of_scope"}, "reply_fi"),
                      ({"kind": "out_of_scope", "reply_fi": "x",
                        "out_of_scope_action": "forward_email"}, "forward_email"),
                      ({"set_team": world.it_desk, "set_assignee": world.agent},
                       "set_assignee")]
    for kw, field in cases:
        with pytest.raises(ValidationError) as exc:
            rule(world, **kw)
        assert field in exc.value.message_dict, kw


def test_channel_and_language_conditions(world: World) -> None:
    rule(world, channels=["web_form"], languages=["sv"], set_team=world.it_desk)
    assert intake(world, "Skrivaren fungerar inte alls", language="sv",
                  channel="web_form").team_id == world.it_desk.pk
    assert intake(world, "Skrivaren fungerar inte alls", language="sv",
                  channel="email").team_id == world.service_point.pk
    assert intake(world, "Tulostin ei toimi", language="fi",
                  channel="web_form").team_id == world.service_point.pk


def test_mailbox_and_category_and_type_conditions(world: World) -> None:
    box = Mailbox.objects.create(organisation=world.org, name="IT", address="it@tre.example.fi",
                                 kind="lmtp")
    rule(world, mailbox=box, set_team=world.it_desk)
    rule(world, if_category=world.category, if_type=world.incident, set_urgency="high")
    assert intake(world, mailbox_id=box.pk).team_id == world.it_desk.pk
    assert intake(world).team_id == world.service_point.pk
    t = intake(world, category=world.category, ticket_type=world.incident)
    assert t.urgency == Level.HIGH
    assert intake(world, category=world.category).urgency == Level.MEDIUM


def test_service_form_condition(world: World) -> None:
    service = Service.objects.create(organisation=world.org, code="katuvalo",
                                     name_fi="Katuvalo", team=world.service_point)
    rule(world, service=service, set_team=world.it_desk, add_tags="katuvalo")
    t = submit(Submission(service=service, channel="web_form", language="fi",
                          description="Valo ei pala", email="m@example.fi")).ticket
    assert t.team_id == world.it_desk.pk  # the rule wins over the form's default team
    assert list(t.tags.values_list("name", flat=True)) == ["katuvalo"]


def test_customer_unit_subtree_and_organisation(world: World) -> None:
    deeper = Unit.objects.create(organisation=world.org, name_fi="Tuki", parent=world.sub_unit)
    rule(world, customer_unit=world.sub_unit, set_team=world.it_desk)
    rule(world, customer_organisation="Tampereen Sähkö", set_team=world.specialists)
    c1 = Customer.objects.create(organisation=world.org, name="A", unit=deeper)
    c2 = Customer.objects.create(organisation=world.org, name="B",
                                 organisation_name="Oy Tampereen Sähkölaitos Ab")
    c3 = Customer.objects.create(organisation=world.org, name="C", unit=world.unit)
    assert intake(world, customer=CustomerIdentity(customer_id=c1.pk)).team_id == \
        world.it_desk.pk
    assert intake(world, customer=CustomerIdentity(customer_id=c2.pk)).team_id == \
        world.specialists.pk
    assert intake(world, customer=CustomerIdentity(customer_id=c3.pk)).team_id == \
        world.service_point.pk


def test_location_area(world: World) -> None:
    rule(world, area_south=61.45, area_west=23.70, area_north=61.52, area_east=23.85,
         set_team=world.it_desk)
    inside = intake(world, location=Location(latitude=61.4981, longitude=23.7610))
    outside = intake(world, location=Location(latitude=61.40, longitude=23.7610))
    nowhere = intake(world)
    # EPSG:3067 coordinates are converted for the test
    etrs = intake(world, location=Location(northing=6821900.0, easting=327600.0))
    assert inside.team_id == world.it_desk.pk
    assert outside.team_id == world.service_point.pk
    assert nowhere.team_id == world.service_point.pk
    assert etrs.team_id == world.it_desk.pk


def _facts(when: dt.datetime) -> engine.Facts:
    return engine.Facts(channel="email", language="fi", text="x", now=when)


def test_time_window_and_weekdays_in_helsinki_time(world: World) -> None:
    office = rule(world, weekdays=[0, 1, 2, 3, 4], time_from=dt.time(7, 30),
                  time_to=dt.time(16, 0), set_team=world.it_desk)
    night = rule(world, time_from=dt.time(22, 0), time_to=dt.time(6, 0),
                 set_team=world.specialists)
    compiled = {r.id: r for r in engine.compiled(world.org.pk).rules}
    monday_morning = dt.datetime(2026, 3, 2, 7, 45, tzinfo=HELSINKI)
    monday_late = dt.datetime(2026, 3, 2, 16, 0, tzinfo=HELSINKI)
    saturday = dt.datetime(2026, 3, 7, 9, 0, tzinfo=HELSINKI)
    # 05:10 UTC is 07:10 in Helsinki (winter): before the window
    early_utc = dt.datetime(2026, 3, 2, 5, 10, tzinfo=dt.UTC)
    summer_utc = dt.datetime(2026, 6, 1, 5, 10, tzinfo=dt.UTC)  # 08:10 in summer time
    assert engine.matches(compiled[office.pk], _facts(monday_morning))
    assert not engine.matches(compiled[office.pk], _facts(monday_late))
    assert not engine.matches(compiled[office.pk], _facts(saturday))
    assert not engine.matches(compiled[office.pk], _facts(early_utc))
    assert engine.matches(compiled[office.pk], _facts(summer_utc))
    assert engine.matches(compiled[night.pk], _facts(dt.datetime(2026, 3, 2, 23, 0,
                                                                 tzinfo=HELSINKI)))
    assert engine.matches(compiled[night.pk], _facts(dt.datetime(2026, 3, 3, 5, 59,
                                                                 tzinfo=HELSINKI)))
    assert not engine.matches(compiled[night.pk], _facts(monday_morning))


def test_actions_set_fields_priority_tags_assignee(world: World) -> None:
    member = make_user("itagent", world.org, teams=(world.it_desk,))
    rule(world, keywords="tulostin", set_team=world.it_desk, set_category=world.category,
         set_type=world.incident, set_impact="high", set_urgency="high",
         add_tags="printer, hw", set_assignee=member)
    t = intake(world)
    assert (t.team_id, t.category_id, t.ticket_type_id) == (
        world.it_desk.pk, world.category.pk, world.incident.pk)
    assert (t.impact, t.urgency, t.priority) == ("high", "high", Priority.CRITICAL)
    assert sorted(t.tags.values_list("name", flat=True)) == ["hw", "printer"]
    assert t.assignee_id == member.pk


def test_assignee_outside_the_team_is_dropped_not_refused(world: World) -> None:
    # a rule with only an assignee, while the ticket lands in a team the agent is not in
    rule(world, keywords="tulostin", set_assignee=world.lead)
    t = intake(world)
    assert t.assignee_id is None and t.team_id == world.service_point.pk


def test_notify_emits_an_outbox_event(world: World) -> None:
    rule(world, keywords="tulostin", set_team=world.it_desk, notify=[world.lead, world.agent])
    t = intake(world)
    event = OutboxEvent.objects.get(topic="routing.notify", aggregate_id=t.pk)
    assert event.payload["rule_name"] == "rule 1"
    assert sorted(event.payload["recipients"]) == sorted([world.lead.pk, world.agent.pk])


def test_work_prevented_raises_urgency(world: World) -> None:
    rule(world, name="work prevented",
         keywords="työ estynyt\ntyö on estynyt\nwork prevented\ncannot work\n"
                  "arbetet förhindrat", set_urgency="high", continue_processing=True)
    assert intake(world, "Kone kaatui, työ estynyt").urgency == Level.HIGH
    assert intake(world, "My work prevented since morning").urgency == Level.HIGH
    assert intake(world, "Tulostin ei toimi").urgency == Level.MEDIUM


def test_an_agents_choices_win(world: World) -> None:
    rule(world, keywords="tulostin", set_team=world.it_desk, set_urgency="low",
         set_impact="high", add_tags="printer")
    t = intake(world, actor=world.agent, team=world.service_point, urgency="high",
               channel="walk_in")
    assert t.team_id == world.service_point.pk  # chosen by the agent
    assert t.urgency == "high"  # never lowered for an agent
    assert t.impact == "high"  # raised
    assert list(t.tags.values_list("name", flat=True)) == ["printer"]
    # what the agent left empty is filled in
    assert intake(world, actor=world.agent, channel="phone").team_id == world.it_desk.pk


def test_follow_ups_are_not_routed(world: World) -> None:
    first = intake(world)
    rule(world, keywords="tulostin", set_team=world.it_desk)
    result = receive(Intake(organisation=world.org, channel="email",
                            subject=f"Re: {first.number}", body="Tulostin yhä rikki",
                            customer=CustomerIdentity(email="maija@example.fi")))
    assert not result.created
    assert Ticket.objects.get(pk=first.pk).team_id == world.service_point.pk


def test_a_rule_change_is_seen_at_once_and_rules_are_cached(world: World) -> None:
    r = rule(world, keywords="tulostin", set_team=world.it_desk)
    assert intake(world).team_id == world.it_desk.pk
    r.set_team = world.specialists
    r.save()
    assert intake(world).team_id == world.specialists.pk
    r.delete()
    assert intake(world).team_id == world.service_point.pk


def test_rules_add_no_queries_per_intake_after_warm_up(world: World) -> None:
    for i in range(50):
        rule(world, name=f"r{i}", position=i, keywords=f"sana{i}\nkoira{i}*",
             set_team=world.it_desk)
    intake(world, "lämmittely")  # warm-up: the rules are compiled once

    def queries(text: str) -> list[str]:
        with CaptureQueriesContext(connection) as ctx:
            intake(world, text)
        return [q["sql"] for q in ctx.captured_queries]

    routed = queries("Ei osumaa mihinkään")
    assert not [q for q in routed if "routing_" in q]
    RoutingRule.objects.all().delete()
    intake(world, "lämmittely taas")
    assert len(queries("Ei osumaa mihinkään")) == len(routed)
