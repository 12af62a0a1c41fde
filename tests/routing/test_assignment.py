"""Assignment within a team: manual, round robin and least loaded, honouring availability;
on new tickets and when a ticket moves to another team; safe under concurrency."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from kapula.core.actions import CustomerIdentity
from kapula.core.models import User
from kapula.intake.actions import Intake, receive
from kapula.routing.actions import set_availability
from kapula.routing.models import Availability, RoutingRule, TeamRouting
from kapula.tickets import actions as A
from kapula.tickets.models import Ticket
from tests.conftest import World, make_user


def new(world: World, team_id: int | None = None, text: str = "Apua") -> Ticket:
    team = world.it_desk if team_id is None else None
    return receive(Intake(organisation=world.org, channel="email", subject=text, body=text,
                          team=team, customer=CustomerIdentity(email="m@example.fi"))).ticket


def agents(world: World, n: int) -> list[User]:
    return [make_user(f"it{i}", world.org, teams=(world.it_desk,)) for i in range(n)]


def mode(world: World, value: str) -> None:
    TeamRouting.objects.update_or_create(team=world.it_desk, defaults={"mode": value})


def test_manual_leaves_tickets_unassigned(world: World) -> None:
    agents(world, 2)
    assert new(world).assignee_id is None
    mode(world, "manual")
    assert new(world).assignee_id is None


def test_round_robin_takes_turns_and_skips_the_away(world: World) -> None:
    a, b, c = agents(world, 3)
    lead = world.lead  # also a member of the IT desk
    mode(world, "round_robin")
    order = sorted([a, b, c, lead], key=lambda u: u.pk)
    got = [new(world).assignee_id for _ in range(5)]
    assert got == [u.pk for u in order] + [order[0].pk]
    set_availability(actor=b, user=b, available=False)
    got = [new(world).assignee_id for _ in range(3)]
    assert b.pk not in got and len(set(got)) == 3


def test_away_until_a_past_time_counts_as_available(world: World) -> None:
    (a,) = agents(world, 1)
    world.lead.memberships.all().delete()
    mode(world, "round_robin")
    Availability.objects.create(user=a, status="away",
                                away_until=timezone.now() - dt.timedelta(minutes=1))
    assert new(world).assignee_id == a.pk
    Availability.objects.filter(user=a).update(away_until=timezone.now()
                                               + dt.timedelta(hours=1))
    assert new(world).assignee_id is None


def test_nobody_available_leaves_the_ticket_in_the_queue(world: World) -> None:
    mode(world, "least_loaded")
    for u in User.objects.filter(memberships__team=world.it_desk):
        set_availability(actor=u, user=u, available=False)
    t = new(world)
    assert t.assignee_id is None and t.team_id == world.it_desk.pk


def test_least_loaded_counts_open_tickets(world: World) -> None:
    a, b = agents(world, 2)
    world.lead.memberships.all().delete()
    for _ in range(2):
        t = new(world)
        A.update_ticket(actor=None, ticket=t, changes={"assignee": a})
    done = new(world)
    A.update_ticket(actor=None, ticket=done, changes={"assignee": b, "status": "resolved"})
    mode(world, "least_loaded")
    assert new(world).assignee_id == b.pk  # b: 0 open, a: 2
    assert new(world).assignee_id == b.pk  # b: 1 open
    assert new(world).assignee_id in (a.pk, b.pk)


def test_moving_to_a_team_without_an_assignee_assigns(world: World) -> None:
    (a,) = agents(world, 1)
    world.lead.memberships.all().delete()
    mode(world, "round_robin")
    t = receive(Intake(organisation=world.org, channel="email", subject="x", body="x")).ticket
    assert t.team_id == world.service_point.pk and t.assignee_id is None
    moved = A.assign(actor=world.org_admin, ticket=t, team=world.it_desk)
    assert moved.team_id == world.it_desk.pk and moved.assignee_id == a.pk
    # the history says who decided
    assert t.history.filter(field="assignee", actor_label="routing").exists()


def test_a_rule_routes_then_the_team_assigns(world: World) -> None:
    (a,) = agents(world, 1)
    world.lead.memberships.all().delete()
    mode(world, "round_robin")
    RoutingRule.objects.create(organisation=world.org, name="printers", keywords="tulostin",
                               set_team=world.it_desk)
    t = receive(Intake(organisation=world.org, channel="email", subject="Tulostin",
                       body="Tulostin rikki")).ticket
    assert (t.team_id, t.assignee_id) == (world.it_desk.pk, a.pk)


def test_resolved_walk_in_contacts_are_not_assigned(world: World) -> None:
    agents(world, 1)
    mode(world, "round_robin")
    t = receive(Intake(organisation=world.org, channel="walk_in", subject="x", body="x",
                       team=world.it_desk, actor=world.lead, status="resolved",
                       first_contact_resolution=True)).ticket
    assert t.assignee_id is None


@pytest.mark.django_db(transaction=True)
def test_round_robin_under_concurrency(world: World) -> None:
    """Parallel intakes each take their own turn (the team's row is locked)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    members = agents(world, 3)
    world.lead.memberships.all().delete()
    mode(world, "round_robin")
    results: list[int | None] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def worker() -> None:
        try:
            barrier.wait()
            results.append(new(world).assignee_id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    counts = {m.pk: results.count(m.pk) for m in members}
    assert counts == {m.pk: 2 for m in members}
