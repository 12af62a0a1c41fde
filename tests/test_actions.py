"""Ticket actions: creation, conversation, status machine, routing, links, merge."""

from __future__ import annotations

import pytest

from kapula.core.errors import Conflict, Forbidden, TooLarge, ValidationFailed
from kapula.core.models import OutboxEvent
from kapula.tickets import actions as A
from kapula.tickets import config
from kapula.tickets.attachments import AttachmentInput
from kapula.tickets.models import (
    CustomField,
    HistoryEntry,
    Message,
    PriorityRule,
    Status,
    Ticket,
    TicketLink,
)


def new_ticket(world, **kw) -> Ticket:
    args = {"actor": world.agent, "organisation": world.org, "title": "Katuvalo rikki",
            "body": "Hämeenkadun katuvalo on pimeänä.", "channel": "walk_in"}
    args.update(kw)
    return A.create_ticket(**args)


def snapshot(ticket: Ticket) -> tuple:
    ticket = Ticket.objects.get(pk=ticket.pk)
    return (ticket.status, ticket.version, ticket.team_id, ticket.assignee_id, ticket.title,
            Message.objects.filter(ticket=ticket).count(),
            HistoryEntry.objects.filter(ticket=ticket).count(), OutboxEvent.objects.count())


def test_create_numbers_language_and_events(world):
    t1 = new_ticket(world)
    t2 = new_ticket(world, title="Broken street light", body="The light on Main street is out.")
    assert t1.number.startswith("TRE-") and t1.number.endswith("000001")
    assert t2.number.endswith("000002")
    assert t1.language == "fi" and t2.language == "en"
    assert t1.team == world.service_point  # organisation's default team
    topics = list(OutboxEvent.objects.filter(aggregate_id=t1.pk).values_list("topic", flat=True))
    assert "ticket.created" in topics and "message.added" in topics
    assert HistoryEntry.objects.filter(ticket=t1, field="created").exists()


def test_numbers_are_per_organisation(world):
    mine = new_ticket(world)
    theirs = A.create_ticket(actor=world.other_agent, organisation=world.other_org, title="x",
                             body="y", channel="phone")
    assert mine.number.endswith("000001") and theirs.number == mine.number.replace("TRE", "OUL")


def test_actor_cannot_create_in_other_org(world):
    with pytest.raises(Forbidden):
        A.create_ticket(actor=world.agent, organisation=world.other_org, title="x", body="y",
                        channel="phone")
    assert Ticket.objects.count() == 0


def test_priority_from_matrix(world):
    assert new_ticket(world, impact="high", urgency="high").priority == 1
    PriorityRule.objects.create(organisation=world.org, impact="low", urgency="low", priority=2)
    config.invalidate(world.org.pk)  # the admin does this when the matrix is edited
    assert new_ticket(world, impact="low", urgency="low").priority == 2
    t = new_ticket(world)
    t = A.set_priority(actor=world.agent, ticket=t, impact="high", urgency="medium")
    assert t.priority == 2


def test_reply_sets_first_response_and_opens(world):
    t = new_ticket(world)
    A.add_message(actor=world.agent, ticket=t, kind="reply", body="Korjataan.")
    t.refresh_from_db()
    assert t.status == Status.OPEN and t.first_response_at is not None
    assert t.message_count == 2 and t.version == 2


def test_note_is_internal_and_keeps_status(world):
    t = new_ticket(world)
    m = A.add_message(actor=world.agent, ticket=t, kind="note", body="Soitin asiakkaalle.")
    t.refresh_from_db()
    assert not m.is_public and t.status == Status.NEW and t.first_response_at is None


def test_status_machine(world):
    t = new_ticket(world)
    t = A.change_status(actor=world.agent, ticket=t, status="open")
    t = A.change_status(actor=world.agent, ticket=t, status="resolved")
    assert t.resolved_at is not None
    before = snapshot(t)
    with pytest.raises(ValidationFailed) as err:
        A.change_status(actor=world.agent, ticket=t, status="pending_customer")
    assert err.value.code == "invalid_transition"
    assert snapshot(t) == before
    t = A.change_status(actor=world.agent, ticket=t, status="closed")
    assert t.closed_at is not None
    t = A.change_status(actor=world.agent, ticket=t, status="open")  # reopen
    assert t.resolved_at is None and t.closed_at is None


def test_inbound_reopens_resolved(world):
    t = new_ticket(world)
    A.change_status(actor=world.agent, ticket=t, status="resolved")
    A.add_message(actor=None, ticket=t, kind="inbound", body="Valo on yhä rikki!")
    t.refresh_from_db()
    assert t.status == Status.OPEN


def test_stale_version_conflicts_and_changes_nothing(world):
    t = new_ticket(world)
    A.update_ticket(actor=world.agent, ticket=t, changes={"title": "Uusi otsikko"},
                    expected_version=1)
    before = snapshot(t)
    with pytest.raises(Conflict) as err:
        A.update_ticket(actor=world.agent, ticket=t, changes={"title": "Toinen"},
                        expected_version=1)
    assert err.value.code == "stale_version"
    assert snapshot(t) == before


def test_assign_checks_membership_and_visibility(world):
    t = new_ticket(world)
    with pytest.raises(ValidationFailed):
        A.assign(actor=world.agent, ticket=t, assignee=world.lead)  # not in service point
    t = A.assign(actor=world.agent, ticket=t, team=world.it_desk, assignee=world.lead)
    assert t.team == world.it_desk and t.assignee == world.lead
    assert OutboxEvent.objects.filter(topic="ticket.assigned", aggregate_id=t.pk).exists()
    # the service-point agent no longer sees the ticket and cannot change it
    with pytest.raises(Forbidden):
        A.change_status(actor=world.agent, ticket=t, status="open")


def test_moving_team_frees_assignee_outside_new_team(world):
    t = new_ticket(world, assignee=world.agent)
    t = A.assign(actor=world.agent, ticket=t, team=world.it_desk)
    assert t.assignee is None


def test_custom_fields_typed(world):
    CustomField.objects.create(organisation=world.org, key="pole", name_fi="Pylväs",
                               kind="integer", required=True)
    config.invalidate(world.org.pk)
    with pytest.raises(ValidationFailed) as err:
        new_ticket(world)
    assert err.value.code == "custom_field_required"
    with pytest.raises(ValidationFailed):
        new_ticket(world, custom_fields={"pole": "kolme"})
    with pytest.raises(ValidationFailed) as err:
        new_ticket(world, custom_fields={"pole": 3, "nope": 1})
    assert err.value.code == "unknown_custom_field"
    assert Ticket.objects.count() == 0
    t = new_ticket(world, custom_fields={"pole": "42"})
    assert t.field_values.get().value == 42


def test_location_both_systems(world):
    t = new_ticket(world, location=A.Location(latitude=61.4981, longitude=23.7610,
                                              address="Hämeenkatu 1"))
    assert 6_800_000 < t.etrs_n < 6_830_000 and 320_000 < t.etrs_e < 340_000
    t2 = new_ticket(world, location=A.Location(northing=t.etrs_n, easting=t.etrs_e))
    assert abs(t2.latitude - 61.4981) < 1e-4
    with pytest.raises(ValidationFailed):
        new_ticket(world, location=A.Location(latitude=23.76, longitude=61.49))  # swapped


def test_html_is_sanitised(world):
    t = new_ticket(world, body="", body_html='<p onclick="x()">Hei<script>alert(1)</script>'
                                             '<a href="javascript:alert(1)">linkki</a></p>')
    m = t.messages.get()
    assert "script" not in m.body_html and "onclick" not in m.body_html
    assert "javascript" not in m.body_html and "Hei" in m.body_text


def test_huge_body_refused(world, settings):
    settings.KAPULA_MAX_BODY_CHARS = 1000
    with pytest.raises(TooLarge):
        new_ticket(world, body="x" * 1001)
    assert Ticket.objects.count() == 0


def test_attachments_checked_before_write(world, settings):
    settings.KAPULA_MAX_ATTACHMENT_BYTES = 100
    t = new_ticket(world)
    before = snapshot(t)
    with pytest.raises(TooLarge):
        A.add_message(actor=world.agent, ticket=t, kind="note", body="liite",
                      attachments=[AttachmentInput("a.pdf", b"x" * 101, "application/pdf")])
    with pytest.raises(ValidationFailed) as err:
        A.add_message(actor=world.agent, ticket=t, kind="note", body="liite",
                      attachments=[AttachmentInput("a.exe", b"MZ", "application/pdf")])
    assert err.value.code == "attachment_type_forbidden"
    assert snapshot(t) == before
    m = A.add_message(actor=world.agent, ticket=t, kind="note", body="liite",
                      attachments=[AttachmentInput("kuva.png", b"\x89PNG", "image/png")])
    a = m.attachments.get()
    assert a.size == 4 and len(a.sha256) == 64 and a.file.read() == b"\x89PNG"


def test_links_and_cycles(world):
    a, b, c = new_ticket(world), new_ticket(world), new_ticket(world)
    A.link(actor=world.agent, ticket=a, other=b, kind="related")
    assert TicketLink.objects.filter(source=a, target=b).exists()
    with pytest.raises(Conflict):
        A.link(actor=world.agent, ticket=b, other=a, kind="related")
    A.link(actor=world.agent, ticket=b, other=a, kind="parent")  # a is b's parent
    A.link(actor=world.agent, ticket=c, other=b, kind="parent")  # b is c's parent
    with pytest.raises(ValidationFailed) as err:
        A.link(actor=world.agent, ticket=Ticket.objects.get(pk=a.pk), other=c, kind="parent")
    assert err.value.code == "link_cycle"


def test_merge_moves_conversation(world):
    a = new_ticket(world)
    b = new_ticket(world, body="Sama valo, eri ilmoittaja.")
    A.add_message(actor=world.agent, ticket=a, kind="note", body="muistiinpano")
    target = A.merge(actor=world.agent, source=a, target=b)
    a.refresh_from_db()
    assert a.merged_into == b and a.status == Status.CLOSED
    texts = list(target.messages.values_list("body_text", flat=True))
    assert "muistiinpano" in texts and "Sama valo, eri ilmoittaja." in texts
    with pytest.raises(Conflict):
        A.merge(actor=world.agent, source=a, target=b)


def test_history_is_append_only(world):
    t = new_ticket(world)
    entry = HistoryEntry.objects.filter(ticket=t).first()
    entry.new = "tampered"
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()


def test_failed_action_writes_nothing(world):
    """An error half-way (after the ticket row) rolls everything back, events included."""
    events = OutboxEvent.objects.count()
    with pytest.raises(ValidationFailed):
        new_ticket(world, attachments=[AttachmentInput("x.sh", b"rm -rf", "text/plain")])
    assert Ticket.objects.count() == 0 and OutboxEvent.objects.count() == events
