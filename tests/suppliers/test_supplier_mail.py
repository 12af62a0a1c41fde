"""Escalation to an email supplier through a real SMTP server, and the supplier's answers
threading back into the ticket as internal notes."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from kapula.core.errors import Conflict, ValidationFailed
from kapula.core.models import Customer
from kapula.intake.mail import outbound
from kapula.intake.mail.ingest import ingest
from kapula.intake.mail.models import OutboundEmail, OutboundKind
from kapula.suppliers import actions as S
from kapula.suppliers.models import EngagementState, SupplierEngagement
from kapula.tickets.models import AuthorKind, Message, MessageKind, Status, Ticket
from tests.mail.test_ingest import deliver_events, mail


def escalated(world, mailbox, supplier):  # type: ignore[no-untyped-def]
    """A customer's mail, acknowledged; then the ticket is sent to the supplier."""
    result = ingest(mail(subject="Tulostin jumissa",
                         body="Kerroksen 3 tulostin ei tulosta mitään."), mailbox=mailbox)
    ticket = Ticket.objects.get(number=result.ticket_number)
    deliver_events()
    outbound.send_due()
    esc = S.escalate(actor=world.org_admin, ticket=ticket, supplier=supplier,
                     reason="Laitteistovika", note="Tulostin HP-3 näyttää virhettä 49.")
    deliver_events()
    return ticket, esc


def test_supplier_gets_a_threaded_mail_and_the_customer_nothing(world, mailbox, supplier,
                                                                smtp_sink):
    ticket, esc = escalated(world, mailbox, supplier)
    smtp_sink.clear()
    assert outbound.send_due() == (1, 0)
    (_from, rcpts, raw), = smtp_sink.wait_for(1)
    assert rcpts == ["tuki@datakeskus.example"]
    msg = message_from_bytes(raw, policy=policy.default)
    sent = OutboundEmail.objects.get(recipient="tuki@datakeskus.example")
    assert msg["Message-ID"] == sent.msgid and ticket.number in msg["Subject"]
    assert msg["Reply-To"] == "palvelu@tre.example.fi"
    assert msg["X-Kapula-Ticket"] == ticket.number and msg["Auto-Submitted"] is None
    body = msg.get_content()
    assert "Tulostin HP-3 näyttää virhettä 49." in body and "Laitteistovika" in body
    assert "maija@example.fi" not in body  # no customer details unless the agent writes them
    assert sent.message_id == esc.message_id  # shown on the escalation note in the desk
    # the customer got the acknowledgment only
    assert list(OutboundEmail.objects.filter(recipient="maija@example.fi")
                .values_list("kind", flat=True)) == [OutboundKind.ACKNOWLEDGMENT]
    # and the event is not mailed twice
    deliver_events()
    assert OutboundEmail.objects.filter(recipient="tuki@datakeskus.example").count() == 1


def test_supplier_reply_becomes_an_internal_note(world, mailbox, supplier, smtp_sink):
    ticket, _esc = escalated(world, mailbox, supplier)
    outbound.send_due()
    sent = OutboundEmail.objects.get(recipient="tuki@datakeskus.example")
    customers = Customer.objects.count()
    result = ingest(mail(sender="tuki@datakeskus.example", name="Datakeskus tuki",
                         subject=f"Re: [{ticket.number}] Tulostin jumissa (DK-4711)",
                         body="Huoltomies tulee huomenna klo 9.", in_reply_to=sent.msgid),
                    mailbox=mailbox)
    assert result.outcome == "appended" and result.ticket_number == ticket.number
    note = Message.objects.filter(ticket=ticket).order_by("-id").first()
    assert note is not None and note.kind == MessageKind.NOTE
    assert note.author_kind == AuthorKind.PARTNER and note.author_name == "Datakeskus Oy"
    assert "Huoltomies tulee huomenna klo 9." in note.body_text
    eng = SupplierEngagement.objects.get(ticket=ticket)
    assert eng.state == EngagementState.ANSWERED and eng.responded_at is not None
    assert eng.response_met is True and eng.reference == "4711"
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN  # the team sees that the ball is back
    assert Customer.objects.count() == customers  # the supplier is not a customer
    assert not Message.objects.filter(ticket=ticket, kind=MessageKind.INBOUND,
                                      body_text__contains="Huoltomies").exists()
    # nothing of it goes to the customer
    deliver_events()
    assert OutboundEmail.objects.filter(recipient="maija@example.fi").count() == 1


def test_supplier_mail_threads_by_the_number_in_the_subject(world, mailbox, supplier,
                                                            smtp_sink):
    ticket, _esc = escalated(world, mailbox, supplier)
    result = ingest(mail(sender="tuki@datakeskus.example", subject=f"Tiketti {ticket.number}",
                         body="Osat tilattu."), mailbox=mailbox)
    assert result.ticket_number == ticket.number
    assert Message.objects.filter(ticket=ticket, kind=MessageKind.NOTE,
                                  body_text__contains="Osat tilattu.").exists()


def test_supplier_auto_reply_is_a_note_but_not_an_answer(world, mailbox, supplier, smtp_sink):
    ticket, _esc = escalated(world, mailbox, supplier)
    outbound.send_due()
    sent = OutboundEmail.objects.get(recipient="tuki@datakeskus.example")
    ingest(mail(sender="tuki@datakeskus.example", subject="Automaattinen vastaus",
                body="Olemme lomalla.", in_reply_to=sent.msgid,
                headers={"Auto-Submitted": "auto-replied"}), mailbox=mailbox)
    note = Message.objects.filter(ticket=ticket).order_by("-id").first()
    assert note is not None and note.kind == MessageKind.NOTE and "lomalla" in note.body_text
    eng = SupplierEngagement.objects.get(ticket=ticket)
    assert eng.state == EngagementState.OPEN and eng.responded_at is None


def test_mail_from_other_senders_is_untouched(world, mailbox, supplier, smtp_sink):
    ticket, _esc = escalated(world, mailbox, supplier)
    outbound.send_due()
    sent = OutboundEmail.objects.get(recipient="tuki@datakeskus.example")
    # the customer answering in the same thread is still the customer's message
    result = ingest(mail(subject=f"Re: [{ticket.number}]", body="Joko korjataan?",
                         in_reply_to=sent.msgid), mailbox=mailbox)
    assert result.ticket_number == ticket.number
    last = Message.objects.filter(ticket=ticket).order_by("-id").first()
    assert last is not None and last.kind == MessageKind.INBOUND
    # the supplier writing about a ticket it never had: an ordinary contact
    other = ingest(mail(sender="tuki@datakeskus.example", subject="Uusi tarjous",
                        body="Tarjoamme uusia tulostimia."), mailbox=mailbox)
    assert other.outcome == "created" and other.ticket_number != ticket.number


def test_agent_writes_to_the_supplier_again_in_the_same_thread(world, mailbox, supplier,
                                                               smtp_sink):
    ticket, _esc = escalated(world, mailbox, supplier)
    outbound.send_due()
    first = OutboundEmail.objects.get(recipient="tuki@datakeskus.example")
    eng = SupplierEngagement.objects.get(ticket=ticket)
    note = S.message_supplier(actor=world.org_admin, engagement=eng,
                              body="Onko huoltomiehellä arviota?")
    assert note.kind == MessageKind.NOTE
    deliver_events()
    smtp_sink.clear()
    assert outbound.send_due() == (1, 0)
    (_from, rcpts, raw), = smtp_sink.wait_for(1)
    msg = message_from_bytes(raw, policy=policy.default)
    assert rcpts == ["tuki@datakeskus.example"] and ticket.number in msg["Subject"]
    assert msg["In-Reply-To"] == first.msgid
    assert msg.get_content().startswith("Onko huoltomiehellä arviota?")
    assert "Message to the supplier" not in msg.get_content()
    assert OutboundEmail.objects.filter(recipient="maija@example.fi").count() == 1
    # nothing to write to once the engagement ended
    S.update_engagement(actor=world.org_admin, engagement=eng, state=EngagementState.CANCELLED)
    with pytest.raises(Conflict):
        S.message_supplier(actor=world.org_admin, engagement=eng, body="Vielä?")
    with pytest.raises(ValidationFailed):
        S.message_supplier(actor=world.org_admin, engagement=eng, body="  ")
