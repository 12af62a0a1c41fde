"""Idempotency-Key: a retry replays the first answer and creates nothing."""

from __future__ import annotations

import pytest

from kapula.core.models import Customer, IdempotencyRecord, OutboxEvent
from kapula.tickets.models import Message, Ticket
from tests.api.conftest import client_for, new_ticket

pytestmark = pytest.mark.django_db

BODY = {"title": "Vesivuoto", "body": "Kellarissa vuotaa vettä.", "channel": "api"}


def test_retry_returns_the_same_ticket(world, api) -> None:  # type: ignore[no-untyped-def]
    first = api.post("/tickets", BODY, headers={"Idempotency-Key": "abc-1"})
    assert first.status_code == 201
    events = OutboxEvent.objects.count()
    for _ in range(3):
        again = api.post("/tickets", BODY, headers={"Idempotency-Key": "abc-1"})
        assert again.status_code == 201
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"
    assert Ticket.objects.count() == 1
    assert Message.objects.count() == 1
    assert OutboxEvent.objects.count() == events


def test_same_key_different_body_is_422(world, api) -> None:  # type: ignore[no-untyped-def]
    api.post("/tickets", BODY, headers={"Idempotency-Key": "abc-2"})
    response = api.post("/tickets", {**BODY, "title": "Toinen"},
                        headers={"Idempotency-Key": "abc-2"})
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    # the same key on another path is another request too
    response = api.post("/customers", {"name": "X"}, headers={"Idempotency-Key": "abc-2"})
    assert response.json()["code"] == "idempotency_key_reused"
    assert Ticket.objects.count() == 1
    assert Customer.objects.count() == 0


def test_keys_are_per_user(world, api, admin_api) -> None:  # type: ignore[no-untyped-def]
    a = api.post("/tickets", BODY, headers={"Idempotency-Key": "shared"})
    b = admin_api.post("/tickets", BODY, headers={"Idempotency-Key": "shared"})
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


def test_failed_request_is_not_stored(world, api) -> None:  # type: ignore[no-untyped-def]
    bad = api.post("/tickets", {**BODY, "channel": "pigeon"}, headers={"Idempotency-Key": "k"})
    assert bad.status_code == 422
    assert IdempotencyRecord.objects.count() == 0
    good = api.post("/tickets", {**BODY, "channel": "pigeon"} | {"channel": "api"},
                    headers={"Idempotency-Key": "k2"})
    assert good.status_code == 201


def test_message_and_status_retries(world, api) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(api)
    path = f"/tickets/{data['id']}/messages"
    one = api.post(path, {"kind": "note", "body": "kerran"}, headers={"Idempotency-Key": "m1"})
    two = api.post(path, {"kind": "note", "body": "kerran"}, headers={"Idempotency-Key": "m1"})
    assert one.json() == two.json()
    assert Message.objects.filter(ticket_id=data["id"]).count() == 2
    path = f"/tickets/{data['id']}/status"
    one = api.post(path, {"status": "resolved"}, headers={"Idempotency-Key": "s1"})
    two = api.post(path, {"status": "resolved"}, headers={"Idempotency-Key": "s1"})
    assert one.status_code == two.status_code == 200
    assert one.json() == two.json()


def test_invalid_key(world, api) -> None:  # type: ignore[no-untyped-def]
    response = api.post("/tickets", BODY, headers={"Idempotency-Key": "x" * 300})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_idempotency_key"
    assert Ticket.objects.count() == 0


def test_create_query_count(world, django_assert_max_num_queries
                            ) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world.org_admin)
    new_ticket(client)  # warms the token's last_used_at and the number sequence
    with django_assert_max_num_queries(20):
        new_ticket(client)
    with django_assert_max_num_queries(22):
        response = client.post("/tickets", BODY, headers={"Idempotency-Key": "q1"})
        assert response.status_code == 201
    # a replay: token, the failing insert (in a savepoint), the stored record
    with django_assert_max_num_queries(6):
        client.post("/tickets", BODY, headers={"Idempotency-Key": "q1"})
