"""Inputs found in review that once caused a 500: each must be a clear 4xx (or a normal
page), and nothing may be written."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client

from kapula.core.actions import create_api_token
from kapula.tickets import config
from kapula.tickets.models import CustomField, Ticket


def api(world):
    _token, raw = create_api_token(actor=None, user=world.org_admin, name="bad")
    client = Client()
    return client, {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.parametrize("query", ["created_to=9999-12-31", "created_from=0001-01-01",
                                   "created_from=0001-01-01&created_to=9999-12-31"])
def test_extreme_dates_in_queue_filters(world, query):
    client = Client()
    client.force_login(world.agent)
    assert client.get(f"/?{query}").status_code == 200


def test_cursor_with_non_integer_id(world):
    client, auth = api(world)
    raw = json.dumps(["2026-01-01T00:00:00+00:00", float("inf")]).replace("Infinity", "1e999")
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    response = client.get(f"/api/v1/tickets?cursor={cursor}", **auth)
    assert response.status_code == 422 and response.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize("path", ["/api/v1/tickets/²", "/api/v1/tickets?assignee=²",
                                  "/api/v1/customers?cursor=²"])
def test_unicode_digits(world, path):
    client, auth = api(world)
    response = client.get(path, **auth)
    assert 400 <= response.status_code < 500
    assert response.json()["code"]


def test_decimal_custom_field_beyond_the_column(world):
    CustomField.objects.create(organisation=world.org, key="cost", name_fi="Hinta",
                               kind="decimal")
    config.invalidate(world.org.pk)
    client, auth = api(world)
    response = client.post("/api/v1/tickets", json.dumps({
        "title": "Hinta", "body": "Kallis", "channel": "api",
        "custom_fields": {"cost": "999999999999.9999999"}}),
        content_type="application/json", **auth)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_custom_field"
    assert Ticket.objects.count() == 0
