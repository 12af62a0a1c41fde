"""Races that only a real multi-writer database shows (PostgreSQL): two senders never send
one mail twice; one message taken in by two fetchers at once is one ticket."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

from kapula.intake.mail import outbound
from kapula.intake.mail.ingest import ingest
from kapula.intake.mail.models import InboundEmail, Mailbox, OutboundEmail, OutboundStatus
from kapula.tickets.models import Ticket
from tests.mail.test_ingest import deliver_events, mail


def race(target: Callable[[], object], n: int) -> list[object]:
    results: list[object] = []
    barrier = threading.Barrier(n)

    def run() -> None:
        try:
            barrier.wait()
            results.append(target())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture
def postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")


@pytest.mark.django_db(transaction=True)
def test_two_senders_send_each_mail_once(world, smtp_sink, postgres_only) -> None:  # type: ignore[no-untyped-def]
    mailbox = Mailbox.objects.create(organisation=world.org, name="Palvelu",
                                     address="palvelu@tre.example.fi", kind="lmtp")
    for i in range(12):
        ingest(mail(sender=f"asukas{i}@example.fi", subject=f"Asia {i}"), mailbox=mailbox)
    deliver_events()
    assert OutboundEmail.objects.filter(status=OutboundStatus.QUEUED).count() == 12
    results = race(outbound.send_due, 3)
    assert sum(sent for sent, _failed in results) == 12  # type: ignore[misc]
    assert len(smtp_sink.wait_for(12)) == 12
    assert sorted(r[1][0] for r in smtp_sink.messages) == sorted(
        f"asukas{i}@example.fi" for i in range(12))
    assert OutboundEmail.objects.filter(status=OutboundStatus.SENT).count() == 12


@pytest.mark.django_db(transaction=True)
def test_one_message_fetched_twice_at_once_is_one_ticket(world, postgres_only) -> None:  # type: ignore[no-untyped-def]
    mailbox = Mailbox.objects.create(organisation=world.org, name="Palvelu",
                                     address="palvelu@tre.example.fi", kind="lmtp")
    raw = mail()
    results = race(lambda: ingest(raw, mailbox=mailbox), 4)
    outcomes = sorted(r.outcome for r in results)  # type: ignore[attr-defined]
    assert outcomes == ["created", "duplicate", "duplicate", "duplicate"]
    assert Ticket.objects.filter(organisation=world.org).count() == 1
    assert InboundEmail.objects.count() == 1
