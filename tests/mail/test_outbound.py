"""Outgoing mail through a real SMTP server (aiosmtpd): headers, templates per language,
retries while the server is down, nothing sent twice."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from django.utils import timezone

from kapula.intake.mail import outbound
from kapula.intake.mail.ingest import ingest
from kapula.intake.mail.models import (
    EmailTemplate,
    Mailbox,
    OutboundEmail,
    OutboundKind,
    OutboundStatus,
)
from kapula.sla.calendars import expected_due
from kapula.sla.models import Calendar, ServiceHours
from kapula.tickets import actions as A
from kapula.tickets.attachments import AttachmentInput
from kapula.tickets.models import MessageKind, Status, Ticket
from tests.mail.test_ingest import EN_TEXT, SV_TEXT, deliver_events, mail


@pytest.fixture
def mailbox(world):
    return Mailbox.objects.create(organisation=world.org, name="Palvelu",
                                  address="palvelu@tre.example.fi", kind="lmtp",
                                  team=world.service_point, expected_handling_days=3)


def parsed(raw: bytes):  # type: ignore[no-untyped-def]
    return message_from_bytes(raw, policy=policy.default)


def test_acknowledgment_goes_out_with_threading_headers(world, mailbox, smtp_sink):
    result = ingest(mail(), mailbox=mailbox)
    deliver_events()
    assert outbound.send_due() == (1, 0)
    _mail_from, rcpts, raw = smtp_sink.wait_for(1)[0]
    assert rcpts == ["maija@example.fi"]
    msg = parsed(raw)
    ticket = Ticket.objects.get(number=result.ticket_number)
    sent = OutboundEmail.objects.get(ticket=ticket)
    assert msg["Message-ID"] == sent.msgid and sent.status == OutboundStatus.SENT
    assert ticket.number in msg["Subject"]
    assert msg["Reply-To"] == "palvelu@tre.example.fi"
    assert "palvelu@tre.example.fi" in msg["From"]
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Kapula-Ticket"] == ticket.number
    assert msg["In-Reply-To"] == InboundEmail_msgid(ticket)
    body = msg.get_content()
    assert ticket.number in body and "3 arkipäivän" in body
    # the date by the team's calendar (kapula/sla; none here: every day counts)
    due = timezone.localtime(expected_due(organisation_id=ticket.organisation_id,
                                          team_id=ticket.team_id, business_days=3,
                                          start=ticket.created_at))
    assert f"viimeistään {due:%-d.%-m.%Y}." in body
    # the matter in the customer portal (a login link is asked for there)
    assert f"/portal/tre/tickets/{ticket.number}/" in body


def test_acknowledgment_date_follows_the_service_calendar(world, mailbox, smtp_sink):
    calendar = Calendar.objects.create(organisation=world.org, name="Arkisin")
    for day in range(5):
        ServiceHours.objects.create(calendar=calendar, weekday=day, start=dt.time(8),
                                    end=dt.time(16))
    result = ingest(mail(), mailbox=mailbox)
    deliver_events()
    outbound.send_due()
    body = parsed(smtp_sink.wait_for(1)[0][2]).get_content()
    ticket = Ticket.objects.get(number=result.ticket_number)
    due = timezone.localtime(expected_due(organisation_id=ticket.organisation_id,
                                          team_id=ticket.team_id, business_days=3,
                                          start=ticket.created_at))
    assert due.weekday() < 5 and f"viimeistään {due:%-d.%-m.%Y}." in body


def InboundEmail_msgid(ticket: Ticket) -> str:
    from kapula.intake.mail.models import InboundEmail

    return InboundEmail.objects.get(ticket=ticket).msgid


@pytest.mark.parametrize(("text", "expected"), [
    (SV_TEXT, "Ditt ärende har registrerats"), (EN_TEXT, "Your request has been registered")])
def test_acknowledgment_in_the_customers_language(world, mailbox, smtp_sink, text, expected):
    ingest(mail(body=text, subject="Street light"), mailbox=mailbox)
    deliver_events()
    outbound.send_due()
    msg = parsed(smtp_sink.wait_for(1)[0][2])
    assert expected in msg.get_content()


def test_agent_reply_threads_and_carries_attachments_and_cc(world, mailbox, smtp_sink):
    result = ingest(mail(cc="naapuri@example.fi"), mailbox=mailbox)
    ticket = Ticket.objects.get(number=result.ticket_number)
    deliver_events()
    outbound.send_due()
    smtp_sink.clear()
    message = A.add_message(actor=world.agent, ticket=ticket, kind=MessageKind.REPLY,
                            body="Valo korjataan torstaina.",
                            attachments=[AttachmentInput("kartta.pdf", b"%PDF-1.4 x",
                                                         "application/pdf")])
    deliver_events()
    assert outbound.send_due() == (1, 0)
    _from, rcpts, raw = smtp_sink.wait_for(1)[0]
    assert sorted(rcpts) == ["maija@example.fi", "naapuri@example.fi"]
    msg = parsed(raw)
    assert msg["Auto-Submitted"] is None
    assert "Valo korjataan torstaina." in msg.get_body(("plain",)).get_content()
    assert [p.get_filename() for p in msg.iter_attachments()] == ["kartta.pdf"]
    ack = OutboundEmail.objects.get(ticket=ticket, kind=OutboundKind.ACKNOWLEDGMENT)
    assert ack.msgid in msg["References"]
    message.refresh_from_db()
    assert message.external_id == msg["Message-ID"]
    # the customer's answer to the reply continues the ticket
    answer = ingest(mail(subject="Re: Katuvalo", body="Kiitos tiedosta!",
                         in_reply_to=msg["Message-ID"]), mailbox=mailbox)
    assert answer.outcome == "appended" and answer.ticket_number == ticket.number


def test_notes_are_never_mailed(world, mailbox, smtp_sink):
    result = ingest(mail(), mailbox=mailbox)
    ticket = Ticket.objects.get(number=result.ticket_number)
    A.add_message(actor=world.agent, ticket=ticket, kind=MessageKind.NOTE, body="Sisäinen")
    deliver_events()
    assert list(OutboundEmail.objects.values_list("kind", flat=True)) == ["ack"]


def test_resolution_notice(world, mailbox, smtp_sink):
    result = ingest(mail(), mailbox=mailbox)
    ticket = Ticket.objects.get(number=result.ticket_number)
    A.change_status(actor=world.agent, ticket=ticket, status=Status.RESOLVED)
    deliver_events()
    outbound.send_due()
    kinds = [parsed(raw)["Subject"] for _f, _r, raw in smtp_sink.wait_for(2)]
    assert any("ratkaistu" in k for k in kinds)


def test_smtp_down_mail_waits_and_goes_out_once(world, mailbox, smtp_sink):
    ingest(mail(), mailbox=mailbox)
    deliver_events()
    smtp_sink.stop()
    assert outbound.send_due() == (0, 1)
    queued = OutboundEmail.objects.get()
    assert queued.status == OutboundStatus.QUEUED and queued.attempts == 1
    assert queued.last_error and queued.next_attempt_at > timezone.now()
    assert outbound.send_due() == (0, 0)  # not due yet
    smtp_sink.start()
    smtp_sink.fail_with(451)
    OutboundEmail.objects.update(next_attempt_at=timezone.now())
    assert outbound.send_due() == (0, 1)
    smtp_sink.fail_with(None)
    OutboundEmail.objects.update(next_attempt_at=timezone.now())
    assert outbound.send_due() == (1, 0)
    assert outbound.send_due() == (0, 0)
    assert len(smtp_sink.wait_for(1)) == 1
    queued.refresh_from_db()
    assert queued.status == OutboundStatus.SENT and queued.attempts == 3


def test_gives_up_after_the_last_attempt_and_admin_can_retry(world, mailbox, smtp_sink,
                                                             settings):
    settings.KAPULA_MAIL_MAX_ATTEMPTS = 2
    ingest(mail(), mailbox=mailbox)
    deliver_events()
    smtp_sink.fail_with(550)
    outbound.send_due()
    OutboundEmail.objects.update(next_attempt_at=timezone.now())
    outbound.send_due()
    failed = OutboundEmail.objects.get()
    assert failed.status == OutboundStatus.FAILED
    smtp_sink.fail_with(None)
    assert outbound.retry_now(OutboundEmail.objects.all()) == 1
    assert outbound.send_due() == (1, 0)


def test_custom_template_and_broken_template_fallback(world, mailbox, smtp_sink):
    EmailTemplate.objects.create(organisation=world.org, kind=OutboundKind.ACKNOWLEDGMENT,
                                 language="fi", subject="Kiitos viestistä",
                                 body="Numero {{ number }}, {{ organisation }}.")
    result = ingest(mail(), mailbox=mailbox)
    deliver_events()
    sent = OutboundEmail.objects.get()
    assert sent.subject == f"[{result.ticket_number}] Kiitos viestistä"
    assert sent.body_text == f"Numero {result.ticket_number}, Tampere."
    EmailTemplate.objects.update(body="{% if %}")
    _subject, body = outbound.render(world.org.pk, OutboundKind.ACKNOWLEDGMENT, "fi",
                                    {"number": "TRE-1", "title": "x", "organisation": "T",
                                     "customer_name": "", "expected_days": 5})
    assert "TRE-1" in body and "kirjattu" in body


def test_loop_guard_limits_automatic_mail_per_address(world, mailbox, settings):
    settings.KAPULA_MAIL_AUTOMATIC_PER_HOUR = 2
    for i in range(4):
        ingest(mail(subject=f"Uusi asia {i}"), mailbox=mailbox)
    deliver_events()
    assert OutboundEmail.objects.filter(kind=OutboundKind.ACKNOWLEDGMENT).count() == 2
    OutboundEmail.objects.update(created_at=timezone.now() - timedelta(hours=2))
    ingest(mail(subject="Myöhemmin"), mailbox=mailbox)
    deliver_events()
    assert OutboundEmail.objects.filter(kind=OutboundKind.ACKNOWLEDGMENT).count() == 3


def test_no_acknowledgment_when_the_mailbox_says_so(world, mailbox):
    mailbox.send_acknowledgment = False
    mailbox.save()
    ingest(mail(), mailbox=mailbox)
    deliver_events()
    assert not OutboundEmail.objects.exists()


def test_a_phone_ticket_reply_goes_by_mail_from_the_default_sender(world, mailbox,
                                                                   smtp_sink):
    from kapula.core.actions import CustomerIdentity
    from kapula.intake.actions import Intake, receive

    ticket = receive(Intake(organisation=world.org, channel="phone", subject="Soitto",
                            body="Asiakas soitti.", actor=world.agent,
                            customer=CustomerIdentity(name="Liisa",
                                                      email="liisa@example.fi"))).ticket
    A.add_message(actor=world.agent, ticket=ticket, kind=MessageKind.REPLY,
                  body="Palaamme asiaan.")
    deliver_events()
    outbound.send_due()
    _f, rcpts, raw = smtp_sink.wait_for(1)[0]
    assert rcpts == ["liisa@example.fi"]
    assert "palvelu@tre.example.fi" in parsed(raw)["From"]
