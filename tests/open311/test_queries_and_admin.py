"""Query counts of the Open311 endpoints (fixed, whatever the number of requests), the
admin of client applications, and the command that creates a client."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kapula.catalogue.actions import Submission, submit
from kapula.core.errors import Forbidden
from kapula.core.models import hash_token
from kapula.intake.open311.actions import create_client, find_client
from kapula.intake.open311.models import Open311Client
from kapula.tickets import actions as A
from kapula.tickets.actions import Location
from kapula.tickets.attachments import AttachmentInput
from tests.open311.conftest import PNG

PATHS = [
    "/open311/v2/requests.json?jurisdiction_id=tre",
    "/open311/v2/requests.xml?jurisdiction_id=tre&extensions=true",
    "/open311/v2/requests.json?jurisdiction_id=tre&status=open&service_code=katuvalo",
    "/open311/v2/services.json?jurisdiction_id=tre",
    "/open311/v2/services/katuvalo.json?jurisdiction_id=tre",
]


def _grow(o311, n: int) -> None:
    for i in range(n):
        ticket = submit(Submission(
            service=o311.fault, channel="mobile_app", language="fi",
            description=f"Valo {i} ei pala", values={"vika": "pimea"},
            files={"kuva": [AttachmentInput(f"kuva{i}.png", PNG, "image/png")]},
            location=Location(latitude=61.5, longitude=23.76))).ticket
        A.add_message(actor=o311.world.org_admin, ticket=ticket, kind="reply",
                      body=f"Vastaus {i}")


def _count(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow_with_requests(o311):
    client = Client()
    _grow(o311, 2)
    few = [_count(client, p) for p in PATHS]
    _grow(o311, 10)
    many = [_count(client, p) for p in PATHS]
    assert few == many
    # organisation, listed services, the page; the extensions add history and images
    assert many[0] == 3 and many[1] == 5 and many[2] == 3
    assert client.get(PATHS[0]).json()[0]["media_url"]


def test_the_command_prints_a_key_that_works(o311):
    out, err = io.StringIO(), io.StringIO()
    call_command("open311_client", "--org", "tre", "--name", "Karttapalvelu", stdout=out,
                 stderr=err)
    raw = out.getvalue().strip()
    client = Open311Client.objects.get(name="Karttapalvelu")
    assert raw.startswith("o311_") and client.key_hash == hash_token(raw)
    assert client.organisation == o311.world.org and raw not in client.prefix + client.name
    with pytest.raises(Exception, match="nosuch"):
        call_command("open311_client", "--org", "nosuch", "--name", "X")


def test_only_org_admins_create_clients(world):
    with pytest.raises(Forbidden):
        create_client(actor=world.unit_admin, organisation=world.org, name="X")
    with pytest.raises(Forbidden):
        create_client(actor=world.other_agent, organisation=world.org, name="X")
    client, raw = create_client(actor=world.org_admin, organisation=world.org, name="Y")
    assert client.key_hash == hash_token(raw)


def test_admin_shows_the_key_once_and_only_own_clients(world):
    create_client(actor=None, organisation=world.other_org, name="Oulun sovellus")
    admin = Client()
    admin.force_login(world.org_admin)
    response = admin.post("/admin/open311/open311client/add/",
                          {"name": "Kuntasovellus", "notes": "Toimittaja Oy", "is_active": "on"},
                          follow=True)
    assert response.status_code == 200
    client = Open311Client.objects.get(name="Kuntasovellus")
    assert client.organisation == world.org
    page = response.content.decode()
    key = page.split("o311_", 1)[1].split("<", 1)[0].split()[0]
    assert hash_token("o311_" + key) == client.key_hash
    listing = admin.get("/admin/open311/open311client/").content.decode()
    assert "Kuntasovellus" in listing and "Oulun sovellus" not in listing
    assert "o311_" + key not in listing  # never shown again
    unit_admin = Client()
    unit_admin.force_login(world.unit_admin)
    assert unit_admin.get("/admin/open311/open311client/").status_code in (302, 403)


def test_the_admin_change_page_and_deactivation(world):
    client, raw = create_client(actor=None, organisation=world.org, name="Vanha sovellus")
    assert find_client(raw) is not None  # now cached in this process
    admin = Client()
    admin.force_login(world.org_admin)
    page = admin.get(f"/admin/open311/open311client/{client.pk}/change/")
    assert page.status_code == 200 and client.key_hash not in page.content.decode()
    response = admin.post(f"/admin/open311/open311client/{client.pk}/change/",
                          {"name": "Vanha sovellus", "notes": ""})  # is_active unticked
    assert response.status_code == 302
    client.refresh_from_db()
    assert client.is_active is False and client.organisation == world.org
    assert find_client(raw) is None  # refused at once


def test_the_demo_client_comes_from_the_environment(world, monkeypatch):
    from kapula.intake.open311.demo import ENV_KEY, ensure_demo_client, login_lines

    monkeypatch.delenv(ENV_KEY, raising=False)
    assert ensure_demo_client(world.org) is None
    assert "open311_client --org tre" in login_lines("tre")[0]
    monkeypatch.setenv(ENV_KEY, "local-demo-key-123456")
    first = ensure_demo_client(world.org)
    assert first is not None and first.key_hash == hash_token("local-demo-key-123456")
    monkeypatch.setenv(ENV_KEY, "another-demo-key-98765")
    again = ensure_demo_client(world.org)
    assert again is not None and again.pk == first.pk
    assert again.key_hash == hash_token("another-demo-key-98765")
    assert ENV_KEY in login_lines("tre")[0]
