"""Admin of suppliers and the hand-over log: org admins see and change only their own
organisation; bad configuration is a form error."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kapula.suppliers.models import Supplier

ADD = "admin:suppliers_supplier_add"


def post(client, **data):  # type: ignore[no-untyped-def]
    base = {"name": "Verkko Oy", "channel": "email", "email": "tuki@verkko.example",
            "is_active": "on", "language": "", "reference_pattern": ""}
    return client.post(reverse(ADD), {**base, **data})


@pytest.mark.parametrize("page", ["suppliers_supplier", "suppliers_supplierengagement",
                                  "suppliers_escalation"])
def test_org_admin_lists_only_own_rows(client, world, page):
    Supplier.objects.create(organisation=world.other_org, name="Oulun toimittaja",
                            email="t@oulu.example")
    client.force_login(world.org_admin)
    response = client.get(reverse(f"admin:{page}_changelist"))
    assert response.status_code == 200
    assert b"Oulun toimittaja" not in response.content


def test_org_admin_adds_a_supplier_in_own_org(client, world):
    client.force_login(world.org_admin)
    response = post(client, teams=[world.it_desk.pk], response_hours=4,
                    reference_pattern=r"INC(\d+)")
    assert response.status_code == 302, response.content[:500]
    supplier = Supplier.objects.get(name="Verkko Oy")
    assert supplier.organisation == world.org and list(supplier.teams.all()) == [world.it_desk]
    assert supplier.reference_in("Re: [TRE-2026-000001] INC0042 avattu") == "0042"


@pytest.mark.parametrize("data", [
    {"teams": ["OTHER"]}, {"reference_pattern": "INC(("}, {"reference_pattern": "(a)(b)"},
    {"email": ""}, {"channel": "webhook", "webhook_url": ""},
    {"channel": "webhook", "webhook_url": "ftp://verkko.example/x"},
])
def test_bad_configuration_is_a_form_error(client, world, data):
    if data.get("teams") == ["OTHER"]:
        data = {"teams": [world.other_team.pk]}
    client.force_login(world.org_admin)
    response = post(client, **data)
    assert response.status_code == 200 and b"errorlist" in response.content
    assert not Supplier.objects.exists()


def test_the_log_is_read_only_and_others_are_kept_out(client, world):
    client.force_login(world.org_admin)
    assert client.get(reverse("admin:suppliers_escalation_add")).status_code == 403
    client.force_login(world.agent)
    assert client.get(reverse("admin:suppliers_supplier_changelist")).status_code == 302
