"""Concurrent retries with one Idempotency-Key create exactly one ticket (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from kapula.tickets.models import Ticket
from tests.api.conftest import client_for

BODY = {"title": "Samanaikainen", "body": "Sama pyyntö monta kertaa.", "channel": "api"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_create_one_ticket(world) -> None:  # type: ignore[no-untyped-def]
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    client = client_for(world.agent)
    results: list[tuple[int, dict]] = []  # type: ignore[type-arg]
    barrier = threading.Barrier(6)

    def attempt() -> None:
        try:
            barrier.wait()
            response = client.post("/tickets", BODY, headers={"Idempotency-Key": "race"})
            results.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Ticket.objects.count() == 1
    assert {status for status, _ in results} == {201}
    assert len({body["number"] for _, body in results}) == 1
