"""The routing admin: org admins edit their own organisation's rules, validated on save."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from kapula.routing.models import RoutingRule, TeamRouting
from tests.conftest import World


def form(**kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Tulostimet", "position": "10", "enabled": "on", "kind": "route",
        "keywords": "tulostin\ntulost*", "pattern": "", "customer_organisation": "",
        "add_tags": "", "reply_fi": "", "reply_sv": "", "reply_en": "",
        "out_of_scope_action": "close", "forward_email": "", "set_impact": "",
        "set_urgency": "high",
    }
    data.update(kw)
    return data


@pytest.fixture
def admin(world: World) -> Client:
    c = Client()
    c.force_login(world.org_admin)
    return c


def test_org_admin_adds_a_rule_in_own_org(admin: Client, world: World) -> None:
    r = admin.post(reverse("admin:routing_routingrule_add"),
                   form(set_team=str(world.it_desk.pk), channels=["email", "web_form"],
                        weekdays=["0", "4"]))
    assert r.status_code == 302, r.content[:2000]
    rule = RoutingRule.objects.get(name="Tulostimet")
    assert rule.organisation == world.org
    assert rule.channels == ["email", "web_form"] and rule.weekdays == [0, 4]
    listing = admin.get(reverse("admin:routing_routingrule_changelist"))
    assert listing.status_code == 200 and b"Tulostimet" in listing.content


@pytest.mark.parametrize(("field", "value"), [
    ("pattern", "(a+)+"), ("pattern", "[unclosed"), ("keywords", "tulostin (hp)"),
    ("set_team", "other"),
])
def test_invalid_rules_are_refused(admin: Client, world: World, field: str,
                                   value: str) -> None:
    if value == "other":
        value = str(world.other_team.pk)
    r = admin.post(reverse("admin:routing_routingrule_add"), form(**{field: value}))
    assert r.status_code == 200
    assert not RoutingRule.objects.exists()


def test_other_organisations_rules_are_hidden(admin: Client, world: World) -> None:
    other = RoutingRule.objects.create(organisation=world.other_org, name="Oulun sääntö")
    listing = admin.get(reverse("admin:routing_routingrule_changelist"))
    assert b"Oulun s" not in listing.content
    change = admin.get(reverse("admin:routing_routingrule_change", args=[other.pk]))
    assert change.status_code in (302, 404)


def test_team_mode_in_admin(admin: Client, world: World) -> None:
    r = admin.post(reverse("admin:routing_teamrouting_add"),
                   {"team": str(world.it_desk.pk), "mode": "round_robin"})
    assert r.status_code == 302
    assert TeamRouting.objects.get(team=world.it_desk).mode == "round_robin"
    r = admin.post(reverse("admin:routing_teamrouting_add"),
                   {"team": str(world.other_team.pk), "mode": "round_robin"})
    assert r.status_code == 200
    assert admin.get(reverse("admin:routing_availability_changelist")).status_code == 200
