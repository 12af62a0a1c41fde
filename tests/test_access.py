"""Visibility rules for every role (the full page/endpoint matrix is in test_permissions)."""

from __future__ import annotations

from kapula.core.access import scope_for, visible_tickets
from kapula.tickets import actions as A


def make(world, team, org=None, actor=None):
    return A.create_ticket(actor=actor, organisation=org or world.org, title="t", body="b",
                           channel="phone", team=team)


def test_visibility_per_role(world):
    sp = make(world, world.service_point)
    it = make(world, world.it_desk)
    spec = make(world, world.specialists)
    other = make(world, world.other_team, org=world.other_org)
    ids = lambda user: set(visible_tickets(user).values_list("pk", flat=True))  # noqa: E731
    assert ids(world.agent) == {sp.pk}
    assert ids(world.lead) == {it.pk}
    assert ids(world.unit_admin) == {it.pk, spec.pk}  # the IT unit's teams
    assert ids(world.org_admin) == {sp.pk, it.pk, spec.pk}
    assert ids(world.outsider) == set()
    assert ids(world.other_agent) == {other.pk}


def test_shared_unit_visibility(world):
    it = make(world, world.it_desk)
    spec = make(world, world.specialists)
    world.sub_unit.shared_visibility = True
    world.sub_unit.save()
    lead = type(world.lead).objects.get(pk=world.lead.pk)
    assert set(visible_tickets(lead).values_list("pk", flat=True)) == {it.pk, spec.pk}


def test_assignee_always_sees_own(world):
    t = make(world, world.it_desk)
    A.assign(actor=world.org_admin, ticket=t, assignee=world.lead)
    assert scope_for(type(world.lead).objects.get(pk=world.lead.pk)).can_see(t)
