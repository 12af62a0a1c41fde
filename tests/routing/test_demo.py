"""The demo city's routing rules do what the demo promises."""

from __future__ import annotations

from kapula.core.actions import CustomerIdentity
from kapula.intake.actions import Intake, receive
from kapula.routing.demo import ensure_demo_routing
from kapula.routing.models import RoutingRule, TeamRouting
from kapula.tickets.models import Status, Ticket
from tests.conftest import World


def test_demo_rules(world: World) -> None:
    teams = {"it-tuki": world.it_desk, "katujen-kunnossapito": world.specialists}
    ensure_demo_routing(world.org, teams, {"tulostus": None, "katuvalot": world.category})
    ensure_demo_routing(world.org, teams, {})  # idempotent
    assert RoutingRule.objects.filter(organisation=world.org).count() == 4
    assert TeamRouting.objects.get(team=world.it_desk).mode == "round_robin"

    def send(text: str, language: str = "fi") -> Ticket:
        return receive(Intake(organisation=world.org, channel="email", subject=text,
                              body=text, language=language,
                              customer=CustomerIdentity(email="a@example.fi"))).ticket

    urgent = send("Tulostin rikki, työ estynyt")
    assert (urgent.urgency, urgent.team_id) == ("high", world.it_desk.pk)
    assert urgent.assignee_id == world.lead.pk  # round robin: the only IT desk member
    assert send("Vattenläcka i trapphuset", "sv").status == Status.CLOSED
    assert send("Katuvalo pimeänä").team_id == world.specialists.pk
    assert send("Arbetet förhindrat, skärmen svart", "sv").urgency == "high"
