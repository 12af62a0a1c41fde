"""List pages and list endpoints not covered elsewhere: their query count does not grow
with the number of rows."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kapula.core.actions import create_api_token, create_customer
from kapula.tickets.models import Category, TicketType


def count(client: Client, path: str, **headers: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, **headers)
    assert response.status_code == 200, response.content[:200]
    return len(ctx.captured_queries)


def grow(world, start: int, n: int) -> None:
    for i in range(start, start + n):
        create_api_token(actor=None, user=world.agent, name=f"t{i}")
        create_customer(actor=None, organisation=world.org, name=f"Maija {i}",
                        emails=[f"maija{i}@example.fi"], phones=[f"040 555 {1000 + i}"])
        TicketType.objects.create(organisation=world.org, code=f"type{i}", name_fi=f"Tyyppi {i}")
        Category.objects.create(organisation=world.org, name_fi=f"Luokka {i}",
                                parent=world.category)


def test_list_pages_and_endpoints_do_not_grow_with_rows(world):
    desk = Client()
    desk.force_login(world.agent)
    _token, raw = create_api_token(actor=None, user=world.agent, name="counter")
    api = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    paths = [("/tokens/", desk, {}),
             ("/customers/search/?customer_q=Maija", desk, {"HTTP_HX_REQUEST": "true"}),
             ("/api/v1/categories", api, auth), ("/api/v1/types", api, auth),
             ("/api/v1/teams", api, auth), ("/api/v1/customers?q=Maija", api, auth)]
    grow(world, 0, 2)
    for path, client, headers in paths:  # warm up: token verification, session
        count(client, path, **headers)
    few = [count(client, path, **headers) for path, client, headers in paths]
    grow(world, 2, 12)
    many = [count(client, path, **headers) for path, client, headers in paths]
    assert few == many, list(zip([p for p, _c, _h in paths], few, many, strict=True))
