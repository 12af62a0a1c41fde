"""Demo data (``kapula demo_data``) and bulk load data (``kapula generate_load_data``)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from kapula.core import demo_content
from kapula.core.models import Customer, Organisation, OutboxEvent, Role, User
from kapula.intake.actions import Intake, receive
from kapula.tickets.models import (
    Channel,
    HistoryEntry,
    Language,
    Message,
    MessageKind,
    Status,
    Ticket,
)
from kapula.tickets.queries import search_tickets


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(), "tickets": Ticket.objects.count(),
        "messages": Message.objects.count(), "history": HistoryEntry.objects.count(),
        "events": OutboxEvent.objects.count(), "customers": Customer.objects.count(),
        "organisations": Organisation.objects.count(),
    }


@pytest.mark.django_db
def test_demo_data_is_complete_and_idempotent() -> None:
    call_command("demo_data", stdout=StringIO())
    org = Organisation.objects.get(slug=demo_content.ORG_SLUG)
    users = User.objects.filter(organisation=org)
    assert {u.role for u in users} == set(Role.values)
    admin = users.get(role=Role.ORG_ADMIN)
    assert admin.is_staff
    assert Client().login(username="aino", password=demo_content.DEMO_PASSWORD)

    tickets = Ticket.objects.filter(organisation=org)
    assert tickets.count() == 300
    # the portal continues tickets, it never opens one
    opening = set(Channel.values) - {"internal", "portal"}
    assert set(tickets.values_list("channel", flat=True)) >= opening
    assert set(tickets.values_list("language", flat=True)) == set(Language.values)
    assert set(tickets.values_list("status", flat=True)) == set(Status.values)
    assert tickets.filter(etrs_n__isnull=False, latitude__isnull=False).exists()
    assert tickets.filter(tags__isnull=False).exists()
    assert tickets.filter(first_contact_resolution=True).exists()
    kinds = set(Message.objects.filter(ticket__organisation=org).values_list("kind", flat=True))
    assert {MessageKind.INBOUND, MessageKind.REPLY, MessageKind.NOTE} <= kinds
    # timestamps spread over the past months, conversation in order
    created = sorted(tickets.values_list("created_at", flat=True))
    assert (created[-1] - created[0]).days > 60
    for t in tickets.filter(status=Status.CLOSED)[:20]:
        times = list(t.messages.values_list("created_at", flat=True))
        assert times == sorted(times) and times[0] >= t.created_at
        assert t.closed_at is not None and t.closed_at >= t.created_at
    # searchable through the real index
    aino = User.objects.get(username="aino")
    assert search_tickets(aino, "uimahalli", widen=True).tickets

    before = counts()
    call_command("demo_data", stdout=StringIO())
    assert counts() == before


@pytest.mark.django_db
def test_logins_only_prints() -> None:
    out = StringIO()
    call_command("demo_data", logins=True, stdout=out)
    text = out.getvalue()
    for spec in demo_content.USERS:
        assert spec.username in text
    assert demo_content.DEMO_PASSWORD in text
    assert Organisation.objects.count() == 0


@pytest.mark.django_db
def test_generate_load_data_is_searchable_and_numbers_do_not_collide() -> None:
    call_command("generate_load_data", tickets=400, batch=150, years=0.1, stdout=StringIO())
    org = Organisation.objects.get(slug=demo_content.ORG_SLUG)
    tickets = Ticket.objects.filter(organisation=org)
    assert tickets.count() == 400
    assert Message.objects.filter(ticket__organisation=org).count() > 400
    assert HistoryEntry.objects.filter(ticket__organisation=org).count() >= 400
    statuses = set(tickets.values_list("status", flat=True))
    assert Status.CLOSED in statuses and len(statuses) >= 3
    assert len(set(tickets.values_list("language", flat=True))) == 3

    admin = User.objects.get(username="helena")
    found = search_tickets(admin, "salasana", widen=True).tickets
    assert found and all(t.organisation_id == org.pk for t in found)
    one = tickets.order_by("?").first()
    assert search_tickets(admin, one.number).exact == one

    generated = set(tickets.values_list("number", flat=True))
    new = [receive(Intake(organisation=org, channel="email", subject=f"Uusi asia {i}",
                          body="Katuvalo on rikki.", language="fi")).ticket
           for i in range(3)]
    numbers = [t.number for t in new]
    assert len(set(numbers)) == 3 and not set(numbers) & generated
    this_year = sorted(n for n in generated if n.split("-")[1] == numbers[0].split("-")[1])
    assert numbers[0] > this_year[-1]



def test_fast_choice_labels_match_djangos() -> None:
    """The cheaper get_FOO_display() overrides (docs/performance.md) give Django's labels."""
    from django.utils import translation

    from kapula.tickets.models import Priority

    ticket = Ticket(status=Status.PENDING_CUSTOMER, priority=Priority.HIGH, channel="walk_in",
                    language="sv", impact="high", urgency="low")
    message = Message(kind=MessageKind.NOTE, author_kind="agent", channel="internal",
                      language="")
    for lang in ("fi", "sv", "en"):
        with translation.override(lang):
            assert ticket.get_status_display() == str(Status.PENDING_CUSTOMER.label)
            assert ticket.get_priority_display() == str(Priority.HIGH.label)
            assert ticket.get_channel_display() == str(Channel.WALK_IN.label)
            assert ticket.get_language_display() == str(Language.SV.label)
            assert message.get_kind_display() == str(MessageKind.NOTE.label)
            assert message.get_language_display() == ""
    ticket.status = "no-such-status"
    assert ticket.get_status_display() == "no-such-status"
