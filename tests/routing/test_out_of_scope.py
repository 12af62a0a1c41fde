"""Out-of-scope rules: the customer gets the redirect text in their language as a public
reply (sent by the email channel through the outbox), and the ticket is closed, forwarded
by email or moved to another team."""

from __future__ import annotations

from typing import Any

import pytest

from kapula.core.actions import CustomerIdentity
from kapula.intake.actions import Intake, receive
from kapula.intake.mail.models import Mailbox, OutboundEmail, OutboundKind
from kapula.routing.models import RoutingRule
from kapula.tickets.models import HistoryEntry, Message, MessageKind, Status, Ticket
from tests.conftest import World
from tests.mail.test_ingest import deliver_events

REPLIES = {
    "fi": "Kiinteistöjen viat kuuluvat kiinteistöhuollolle: soita 010 123 4567.",
    "sv": "Fastighetsfel sköts av fastighetsservicen: ring 010 123 4567.",
    "en": "Building faults belong to property maintenance: call 010 123 4567.",
}


@pytest.fixture
def mailbox(world: World) -> Mailbox:
    return Mailbox.objects.create(organisation=world.org, name="Palvelu",
                                  address="palvelu@tre.example.fi", kind="lmtp")


def oos(world: World, **kw: Any) -> RoutingRule:
    r = RoutingRule(organisation=world.org, name="building faults", kind="out_of_scope",
                    keywords="vesivuoto\nläcka\nwater leak\nhissi*", reply_fi=REPLIES["fi"],
                    reply_sv=REPLIES["sv"], reply_en=REPLIES["en"], **kw)
    r.full_clean()
    r.save()
    return r


def contact(world: World, text: str, language: str, **kw: Any) -> Ticket:
    return receive(Intake(organisation=world.org, channel="email", subject=text, body=text,
                          language=language, customer=CustomerIdentity(
                              name="Maija", email="maija@example.fi"), **kw)).ticket


@pytest.mark.parametrize(("language", "text"), [
    ("fi", "Vesivuoto kellarissa"), ("sv", "Läcka i källaren"), ("en", "Water leak downstairs"),
])
def test_answer_in_the_customers_language_and_close(world: World, mailbox: Mailbox,
                                                     language: str, text: str) -> None:
    oos(world)
    t = contact(world, text, language)
    t.refresh_from_db()
    assert t.status == Status.CLOSED and t.resolved_at is not None
    reply = Message.objects.get(ticket=t, kind=MessageKind.REPLY)
    assert reply.body_text == REPLIES[language]
    assert reply.author_kind == "system"
    assert HistoryEntry.objects.filter(ticket=t, field="resolution",
                                       new="out of scope: building faults").exists()
    assert HistoryEntry.objects.get(ticket=t, field="routing").new == "building faults"
    deliver_events()
    mails = list(OutboundEmail.objects.filter(ticket=t))
    # only the answer: no acknowledgment, no separate resolution notice
    assert [m.kind for m in mails] == [OutboundKind.REPLY]
    assert mails[0].to == ["maija@example.fi"] and REPLIES[language] in mails[0].body_text
    assert mails[0].language == language


def test_forward_by_email_adds_a_note_and_mails_the_address(world: World,
                                                            mailbox: Mailbox) -> None:
    oos(world, out_of_scope_action="forward_email", forward_email="huolto@kiinteisto.example")
    t = contact(world, "Hissi jumissa", "fi")
    t.refresh_from_db()
    assert t.status == Status.CLOSED
    note = Message.objects.get(ticket=t, kind=MessageKind.NOTE)
    assert "huolto@kiinteisto.example" in note.body_text
    deliver_events()
    forwarded = OutboundEmail.objects.get(ticket=t, to=["huolto@kiinteisto.example"])
    assert "Hissi jumissa" in forwarded.body_text and t.number in forwarded.subject
    customer = OutboundEmail.objects.get(ticket=t, to=["maija@example.fi"])
    assert customer.body_text.count(REPLIES["fi"]) == 1
    deliver_events()  # a second run sends nothing twice
    assert OutboundEmail.objects.filter(ticket=t).count() == 2


def test_forward_to_a_team_keeps_the_ticket_open(world: World, mailbox: Mailbox) -> None:
    oos(world, out_of_scope_action="forward_team", set_team=world.specialists)
    t = contact(world, "Water leak in room 3", "en")
    t.refresh_from_db()
    assert t.team_id == world.specialists.pk
    assert t.status == Status.OPEN  # answered, and waits in the other team's queue
    assert Message.objects.filter(ticket=t, kind=MessageKind.REPLY).count() == 1


def test_an_agent_recording_a_contact_is_not_answered_by_the_rule(world: World) -> None:
    oos(world)
    t = receive(Intake(organisation=world.org, channel="walk_in", subject="Vesivuoto",
                       body="Vesivuoto kellarissa", actor=world.agent)).ticket
    assert t.status == Status.NEW
    assert not Message.objects.filter(ticket=t, kind=MessageKind.REPLY).exists()


def test_out_of_scope_ends_the_rules(world: World) -> None:
    oos(world, position=1)
    RoutingRule.objects.create(organisation=world.org, name="later", position=2,
                               keywords="vesivuoto", set_urgency="high")
    t = contact(world, "Vesivuoto", "fi")
    assert t.urgency == "medium"
