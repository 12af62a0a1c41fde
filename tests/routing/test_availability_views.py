"""The desk's availability control and the team availability page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kapula.core.models import OutboxEvent, User
from kapula.routing.models import Availability
from tests.conftest import World, make_user


def client_for(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_header_shows_and_toggles_availability(world: World) -> None:
    c = client_for(world.agent)
    page = c.get("/").content.decode()
    assert "Mark me away" in page or "Merkitse" in page or 'value="away"' in page
    r = c.post("/availability/", {"status": "away", "next": "/search/"})
    assert r.status_code == 302 and r["Location"] == "/search/"
    row = Availability.objects.get(user=world.agent)
    assert row.status == "away" and row.away_until is None
    assert OutboxEvent.objects.filter(topic="agent.availability_changed").count() == 1
    page = c.get("/").content.decode()
    assert 'name="status" value="available"' in page
    c.post("/availability/", {"status": "available"})
    assert Availability.objects.get(user=world.agent).status == "available"


def test_away_for_hours_and_bad_input(world: World) -> None:
    c = client_for(world.agent)
    c.post("/availability/", {"status": "away", "hours": "2"})
    row = Availability.objects.get(user=world.agent)
    assert row.away_until is not None
    for bad in ({"status": "lunch"}, {"status": "away", "hours": "99"}, {}):
        r = c.post("/availability/", bad)
        assert r.status_code == 302
    assert Availability.objects.get(user=world.agent).away_until == row.away_until
    # an outside redirect target is not followed
    r = c.post("/availability/", {"status": "available", "next": "https://evil.example/"})
    assert r["Location"] == "/"


def test_get_is_not_allowed_and_login_is_required(world: World) -> None:
    assert Client().post("/availability/", {"status": "away"}).status_code == 302
    assert not Availability.objects.exists()
    assert client_for(world.agent).get("/availability/").status_code == 405


def test_leads_see_their_team_members(world: World) -> None:
    member = make_user("member", world.org, teams=(world.it_desk,))
    Availability.objects.create(user=member, status="away")
    page = client_for(world.lead).get("/availability/team/").content.decode()
    assert "IT-tuki" in page and "Member" in page and "Lead" in page
    assert "Palvelupiste" not in page  # not the lead's team
    # an agent who leads nothing sees only their own control
    page = client_for(world.agent).get("/availability/team/").content.decode()
    assert "IT-tuki" not in page
    # org admins see every team
    page = client_for(world.org_admin).get("/availability/team/").content.decode()
    assert "IT-tuki" in page and "Palvelupiste" in page


@pytest.mark.parametrize("members", [1, 20])
def test_team_page_query_count_is_flat(world: World, members: int) -> None:
    for i in range(members):
        u = make_user(f"m{i}", world.org, teams=(world.it_desk, world.service_point))
        Availability.objects.create(user=u, status="away" if i % 2 else "available")
    c = client_for(world.org_admin)
    c.get("/availability/team/")
    with CaptureQueriesContext(connection) as ctx:
        assert c.get("/availability/team/").status_code == 200
    assert len(ctx.captured_queries) <= 5, [q["sql"] for q in ctx.captured_queries]
