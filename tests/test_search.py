"""Search: number, customer contact, ranked full text with stemming; scoped by default."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from kapula.core.actions import CustomerIdentity
from kapula.intake.actions import Intake, receive
from kapula.tickets.models import Ticket
from kapula.tickets.queries import search_tickets


def add(world, subject, body, team=None, email="a@example.fi", phone=""):
    return receive(Intake(organisation=world.org, channel="email", subject=subject, body=body,
                          team=team, customer=CustomerIdentity(name="Asiakas", email=email,
                                                               phone=phone))).ticket


def test_number_email_phone(world):
    t = add(world, "Katuvalo", "Katuvalo on rikki", phone="040 555 1234")
    user = world.agent
    assert search_tickets(user, t.number.lower()).exact == t
    assert search_tickets(user, "A@EXAMPLE.FI").tickets == [t]
    assert search_tickets(user, "+358405551234").tickets == [t]


def test_stemmed_words_in_three_languages(world):
    fi = add(world, "Katuvalo rikki", "Hämeenkadun katuvalot ovat sammuneet.")
    sv = add(world, "Gatlampa", "Gatlamporna på Storgatan lyser inte.", email="b@example.fi")
    en = add(world, "Street lights", "The street lights are broken again.", email="c@example.fi")
    user = world.agent
    assert fi in search_tickets(user, "katuvaloa").tickets
    assert sv in search_tickets(user, "gatlampan").tickets
    assert en in search_tickets(user, "light").tickets
    assert search_tickets(user, "nonexistentword").tickets == []


def test_scoped_to_own_teams_and_recent_unless_widened(world):
    mine = add(world, "Lumityöt", "Lumityöt tekemättä")
    other_team = add(world, "Lumityöt", "Lumityöt tekemättä IT", team=world.it_desk)
    old = add(world, "Lumityöt", "Vanha lumityöt")
    Ticket.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=900))
    from kapula.tickets import actions as A

    A.reindex([Ticket.objects.get(pk=old.pk)])
    assert search_tickets(world.agent, "lumityöt").tickets == [mine]
    widened = {t.pk for t in search_tickets(world.agent, "lumityöt", widen=True).tickets}
    assert widened == {mine.pk, old.pk}  # other team still invisible to this agent
    org_wide = {t.pk for t in search_tickets(world.org_admin, "lumityöt", widen=True).tickets}
    assert org_wide == {mine.pk, other_team.pk, old.pk}


def test_other_organisation_never_found(world):
    t = add(world, "Salainen", "Salainen asia")
    assert search_tickets(world.other_agent, "salainen").tickets == []
    assert search_tickets(world.other_agent, t.number).tickets == []


def test_reindex_command_rebuilds_the_index(world):
    from django.core.management import call_command
    from django.db import connection

    t = add(world, "Katuvalo", "Hämeenkadun katuvalo on rikki")
    with connection.cursor() as cur:
        cur.execute("DELETE FROM tickets_search")
    assert search_tickets(world.agent, "katuvalo").tickets == []
    call_command("reindex_search", verbosity=0)
    assert search_tickets(world.agent, "katuvalo").tickets == [t]
