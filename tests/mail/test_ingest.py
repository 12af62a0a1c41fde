"""Inbound mail through the one intake path: new tickets, threading, automatic replies,
bounces, loops, limits and bad input. Real parsing, real database, no mocks."""

from __future__ import annotations

import json
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from kapula.core import outbox
from kapula.core.models import CustomerContact
from kapula.intake.mail.ingest import ingest, reprocess
from kapula.intake.mail.models import (
    InboundEmail,
    InboundStatus,
    Mailbox,
    OutboundEmail,
    OutboundKind,
    OutboundStatus,
)
from kapula.tickets import actions as A
from kapula.tickets.models import Message, MessageKind, Status, Ticket

FI_TEXT = ("Hei, Hämeenkadun katuvalo on ollut rikki jo viikon ja pyörätie on pimeä. "
           "Voisitteko korjata sen pian?")
SV_TEXT = ("Hej, gatubelysningen på Tavastgatan har varit trasig i en vecka och cykelvägen "
           "är mörk. Kan ni laga den snart?")
EN_TEXT = ("Hello, the street light on the main street has been broken for a week and the "
           "cycle path is dark. Could you fix it soon?")


def mail(*, sender: str = "maija@example.fi", name: str = "Maija Meikäläinen",
         to: str = "palvelu@tre.example.fi", subject: str = "Katuvalo rikki",
         body: str = FI_TEXT, msgid: str | None = None, in_reply_to: str = "",
         references: str = "", cc: str = "", headers: dict[str, str] | None = None,
         attachments: list[tuple[str, bytes, str]] | None = None) -> bytes:
    m = EmailMessage()
    m["From"] = f"{name} <{sender}>" if name else sender
    m["To"] = to
    if cc:
        m["Cc"] = cc
    m["Subject"] = subject
    m["Date"] = format_datetime(timezone.now())
    m["Message-ID"] = msgid or make_msgid(domain="example.fi")
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
    if references:
        m["References"] = references
    for key, value in (headers or {}).items():
        m[key] = value
    m.set_content(body)
    for filename, content, ctype in attachments or []:
        main, sub = ctype.split("/")
        m.add_attachment(content, maintype=main, subtype=sub, filename=filename)
    return m.as_bytes()


@pytest.fixture
def mailbox(world):
    return Mailbox.objects.create(organisation=world.org, name="Palvelu",
                                  address="palvelu@tre.example.fi", kind="lmtp",
                                  team=world.service_point)


def deliver_events() -> None:
    outbox._scheduled_until = 0.0
    while outbox.deliver_pending():
        pass


def ack_of(ticket: Ticket) -> OutboundEmail:
    deliver_events()
    return OutboundEmail.objects.get(ticket=ticket, kind=OutboundKind.ACKNOWLEDGMENT)


def test_new_mail_opens_a_ticket_for_a_new_customer(world, mailbox):
    result = ingest(mail(cc="naapuri@example.fi, palvelu@tre.example.fi"), source="lmtp")
    assert result.outcome == "created" and not result.quarantined
    ticket = Ticket.objects.get(number=result.ticket_number)
    assert ticket.channel == "email" and ticket.team == world.service_point
    assert ticket.title == "Katuvalo rikki" and ticket.language == "fi"
    assert ticket.customer.name == "Maija Meikäläinen"
    assert ticket.customer.emails == ["maija@example.fi"]
    assert ticket.customer.language == "fi"
    row = InboundEmail.objects.get(pk=result.inbound_id)
    assert row.mailbox == mailbox and row.ticket == ticket and row.message is not None
    assert row.cc == ["naapuri@example.fi", "palvelu@tre.example.fi"]
    with row.raw.open("rb") as fh:
        assert b"Katuvalo rikki" in fh.read()


def test_the_same_message_twice_is_one_ticket(world, mailbox):
    raw = mail()
    first = ingest(raw, mailbox=mailbox)
    again = ingest(raw, mailbox=mailbox)
    assert again.outcome == "duplicate" and again.ticket_number == first.ticket_number
    assert Ticket.objects.filter(organisation=world.org).count() == 1
    assert InboundEmail.objects.count() == 1


def test_the_same_message_in_two_mailboxes_is_one_ticket(world, mailbox):
    other = Mailbox.objects.create(organisation=world.org, name="IT",
                                   address="it@tre.example.fi", kind="lmtp")
    raw = mail(to="palvelu@tre.example.fi, it@tre.example.fi")
    first = ingest(raw, mailbox=mailbox)
    second = ingest(raw, mailbox=other)
    assert second.outcome == "duplicate" and second.ticket_number == first.ticket_number
    assert Ticket.objects.count() == 1


def test_a_reply_to_our_acknowledgment_continues_the_ticket(world, mailbox):
    created = ingest(mail(), mailbox=mailbox)
    ticket = Ticket.objects.get(number=created.ticket_number)
    ack = ack_of(ticket)
    assert ack.to == ["maija@example.fi"] and created.ticket_number in ack.subject
    reply = ingest(mail(subject="Re: whatever", body="Lisätietoa: valo vilkkuu.",
                        in_reply_to=ack.msgid, references=ack.msgid), mailbox=mailbox)
    assert reply.outcome == "appended" and reply.ticket_number == ticket.number
    assert ticket.messages.filter(kind=MessageKind.INBOUND).count() == 2


def test_the_number_in_the_subject_counts_only_for_the_same_customer(world, mailbox):
    created = ingest(mail(), mailbox=mailbox)
    number = created.ticket_number
    same = ingest(mail(subject=f"Re: [{number}] Katuvalo", body="Kiitos, odotan."),
                  mailbox=mailbox)
    assert same.outcome == "appended" and same.ticket_number == number
    stranger = ingest(mail(sender="pekka@example.fi", name="Pekka",
                           subject=f"Re: [{number}] Katuvalo", body="Minullakin sama."),
                      mailbox=mailbox)
    assert stranger.outcome == "created" and stranger.ticket_number != number


def test_quoted_text_is_stripped_but_the_original_stays(world, mailbox):
    body = ("Valo on nyt korjattu, kiitos!\n\n"
            "ma 23.11.2026 klo 10.00 Kapula <palvelu@tre.example.fi> kirjoitti:\n"
            "> Asianne on kirjattu numerolla TRE-2026-000001.\n> Terveisin\n")
    result = ingest(mail(body=body), mailbox=mailbox)
    message = InboundEmail.objects.get(pk=result.inbound_id).message
    assert "korjattu" in message.body_text
    assert "kirjattu numerolla" not in message.body_text


def test_automatic_reply_to_our_acknowledgment_creates_nothing(world, mailbox):
    created = ingest(mail(), mailbox=mailbox)
    ticket = Ticket.objects.get(number=created.ticket_number)
    ack = ack_of(ticket)
    A.change_status(actor=world.agent, ticket=ticket, status=Status.RESOLVED)
    ooo = mail(subject=f"Automaattinen vastaus: {ack.subject}",
               body="Olen lomalla 30.11. asti.", in_reply_to=ack.msgid,
               headers={"Auto-Submitted": "auto-replied"})
    result = ingest(ooo, mailbox=mailbox)
    assert result.outcome == "auto_reply" and result.ticket_number == ticket.number
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED  # not reopened
    note = ticket.messages.order_by("-id").first()
    assert note.kind == MessageKind.NOTE and "lomalla" in note.body_text
    assert Ticket.objects.count() == 1
    deliver_events()
    assert OutboundEmail.objects.filter(kind=OutboundKind.ACKNOWLEDGMENT).count() == 1


def test_unthreaded_automatic_mail_is_only_logged(world, mailbox):
    result = ingest(mail(sender="noreply@news.example.com", subject="Uutiskirje",
                         headers={"Precedence": "bulk", "List-Unsubscribe": "<mailto:u@x>"}),
                    mailbox=mailbox)
    assert result.outcome == "auto_reply" and result.ticket_number == ""
    assert Ticket.objects.count() == 0
    assert InboundEmail.objects.get().auto_kind == "bulk"


def test_automated_sender_may_open_a_ticket_without_acknowledgment(world, mailbox):
    mailbox.accept_automated = True
    mailbox.save()
    result = ingest(mail(sender="monitor@tre.example.fi", subject="Levy täynnä",
                         headers={"Auto-Submitted": "auto-generated"}), mailbox=mailbox)
    assert result.outcome == "created"
    deliver_events()
    assert not OutboundEmail.objects.exists()


def bounce_for(original: OutboundEmail, recipient: str) -> bytes:
    m = EmailMessage()
    m["From"] = "Mail Delivery System <MAILER-DAEMON@mx.example.fi>"
    m["To"] = "palvelu@tre.example.fi"
    m["Subject"] = "Undelivered Mail Returned to Sender"
    m["Message-ID"] = make_msgid(domain="mx.example.fi")
    m["Auto-Submitted"] = "auto-replied"
    m.set_content("This is the mail system at host mx.example.fi.\n\n"
                  "I'm sorry to have to inform you that your message could not\n"
                  "be delivered to one or more recipients.\n")
    m.make_mixed()
    report = EmailMessage()
    report.set_content(
        "Reporting-MTA: dns; mx.example.fi\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <x>: Recipient address rejected: User unknown\n",
        subtype="delivery-status")
    del report["MIME-Version"]
    original_headers = (f"From: {original.from_addr}\nTo: {recipient}\n"
                        f"Subject: {original.subject}\nMessage-ID: {original.msgid}\n"
                        f"X-Kapula-Ticket: {original.ticket.number}\n")
    raw = m.as_bytes().decode()
    boundary = m.get_boundary()
    # turn the mixed container into a delivery report with the returned headers
    raw = raw.replace("multipart/mixed", 'multipart/report; report-type=delivery-status', 1)
    tail = f"--{boundary}--"
    extra = (f"--{boundary}\nContent-Type: message/delivery-status\n\n"
             f"Reporting-MTA: dns; mx.example.fi\n\nFinal-Recipient: rfc822; {recipient}\n"
             "Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\n\n"
             f"--{boundary}\nContent-Type: text/rfc822-headers\n\n{original_headers}\n")
    return raw.replace(tail, extra + tail).encode()


def test_a_bounce_lands_on_the_ticket_and_marks_the_address(world, mailbox):
    created = ingest(mail(sender="vanha@example.fi"), mailbox=mailbox)
    ticket = Ticket.objects.get(number=created.ticket_number)
    A.add_message(actor=world.agent, ticket=ticket, kind=MessageKind.REPLY,
                  body="Korjaamme valon huomenna.")
    deliver_events()
    reply_mail = OutboundEmail.objects.get(ticket=ticket, kind=OutboundKind.REPLY)
    result = ingest(bounce_for(reply_mail, "vanha@example.fi"), mailbox=mailbox)
    assert result.outcome == "bounce" and result.ticket_number == ticket.number
    reply_mail.refresh_from_db()
    assert reply_mail.status == OutboundStatus.BOUNCED
    contact = CustomerContact.objects.get(normalised="vanha@example.fi")
    assert contact.failing_since is not None and "5.1.1" in contact.failure_reason
    note = ticket.messages.order_by("-id").first()
    assert note.kind == MessageKind.NOTE and "vanha@example.fi" in note.body_text
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    # an automatic mail is not sent to a failing address
    A.change_status(actor=world.agent, ticket=ticket, status=Status.RESOLVED)
    deliver_events()
    assert not OutboundEmail.objects.filter(kind=OutboundKind.RESOLUTION).exists()
    # the customer writes again from the address: it works again
    ingest(mail(sender="vanha@example.fi", subject=f"Re: [{ticket.number}]",
                body="Osoitteeni toimii taas."), mailbox=mailbox)
    contact.refresh_from_db()
    assert contact.failing_since is None


def test_our_own_mail_coming_back_is_a_loop(world, mailbox):
    looped = ingest(mail(headers={"X-Kapula-Loop": "kapula"}), mailbox=mailbox)
    assert looped.outcome == "rejected" and "loop" in looped.reason
    from_us = ingest(mail(sender="palvelu@tre.example.fi"), mailbox=mailbox)
    assert from_us.outcome == "rejected" and "loop" in from_us.reason
    assert Ticket.objects.count() == 0


def test_sender_rate_limit_quarantines_and_admin_can_release(world, mailbox):
    mailbox.rate_limit_per_hour = 3
    mailbox.save()
    results = [ingest(mail(subject=f"Viesti {i}"), mailbox=mailbox) for i in range(5)]
    assert [r.quarantined for r in results] == [False, False, False, True, True]
    held = InboundEmail.objects.filter(status=InboundStatus.QUARANTINED)
    assert held.count() == 2 and "rate limit" in held.first().reason
    released = reprocess(held.first())
    assert released.outcome in ("created", "appended") and not released.quarantined
    assert InboundEmail.objects.filter(status=InboundStatus.QUARANTINED).count() == 1


def test_attachments_kept_and_forbidden_ones_withheld(world, mailbox):
    pdf = b"%PDF-1.4\n" + b"0" * 2000
    result = ingest(mail(attachments=[("kuva.pdf", pdf, "application/pdf"),
                                      ("virus.exe", b"MZ" + b"0" * 100,
                                       "application/octet-stream")]), mailbox=mailbox)
    ticket = Ticket.objects.get(number=result.ticket_number)
    assert [a.filename for a in ticket.attachments.all()] == ["kuva.pdf"]
    note = ticket.messages.get(kind=MessageKind.NOTE)
    assert "virus.exe" in note.body_text


@pytest.mark.parametrize("raw", [
    b"",
    b"\x00\xff\xfe garbage \x81\x82",
    b"From: x@example.fi\nSubject: no body",
    b"Subject: =?utf-8?B?!!!?=\nContent-Type: multipart/mixed\n\n--x\n",
    b"From: broken <x@example.fi>\nContent-Type: multipart/mixed; boundary=zz\n\n"
    b"--zz\nContent-Type: text/plain; charset=x-klingon\nContent-Transfer-Encoding: base64\n\n"
    b"!!!notbase64\n--zz\nContent-Type: application/pdf; name=a.pdf\n\n%PDF",
])
def test_bad_input_is_stored_never_lost(world, mailbox, raw):
    result = ingest(raw, mailbox=mailbox)
    assert result.inbound_id is not None
    row = InboundEmail.objects.get(pk=result.inbound_id)
    assert row.size == len(raw)
    if result.quarantined:
        assert row.reason
    else:
        assert result.outcome in ("created", "appended")


def test_a_huge_message_is_quarantined(world, mailbox, settings):
    settings.KAPULA_MAX_EMAIL_BYTES = 50_000
    result = ingest(mail(body="x" * 80_000), mailbox=mailbox)
    assert result.quarantined and "too large" in result.reason


def test_language_fixed_by_mailbox_or_detected(world, mailbox):
    sv = ingest(mail(sender="sven@example.se", name="Sven", subject="Gatubelysning",
                     body=SV_TEXT), mailbox=mailbox)
    ticket = Ticket.objects.get(number=sv.ticket_number)
    assert ticket.language == "sv" and ticket.customer.language == "sv"
    assert ack_of(ticket).language == "sv"
    assert "ärende" in ack_of(ticket).body_text
    # a short unclear follow-up does not change what we know of the customer
    ingest(mail(sender="sven@example.se", subject=f"Re: [{ticket.number}]", body="OK!"),
           mailbox=mailbox)
    ticket.customer.refresh_from_db()
    assert ticket.customer.language == "sv"
    # a confident English follow-up does
    ingest(mail(sender="sven@example.se", subject=f"Re: [{ticket.number}]", body=EN_TEXT),
           mailbox=mailbox)
    ticket.customer.refresh_from_db()
    ticket.refresh_from_db()
    assert ticket.customer.language == "en" and ticket.language == "en"
    # a Swedish-language mailbox fixes the ticket's language whatever the text
    swedish = Mailbox.objects.create(organisation=world.org, name="Service",
                                     address="service@tre.example.fi", kind="lmtp",
                                     language="sv")
    fixed = ingest(mail(sender="new@example.fi", body=FI_TEXT), mailbox=swedish)
    assert Ticket.objects.get(number=fixed.ticket_number).language == "sv"


def test_email_ingest_command_prints_json_lines(world, mailbox, tmp_path):
    good = tmp_path / "a.eml"
    good.write_bytes(mail())
    nobody = tmp_path / "b.eml"
    nobody.write_bytes(mail(to="someone@else.example"))
    out = StringIO()
    call_command("email_ingest", str(good), str(good), str(nobody), stdout=out)
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [x["outcome"] for x in lines] == ["created", "duplicate", "rejected"]
    assert lines[0]["file"] == str(good) and lines[0]["ticket"].startswith("TRE-")
    assert lines[1]["ticket"] == lines[0]["ticket"]
    assert "no mailbox" in lines[2]["reason"]


def test_mail_to_another_organisations_ticket_never_lands_there(world, mailbox):
    created = ingest(mail(), mailbox=mailbox)
    other = Mailbox.objects.create(organisation=world.other_org, name="Oulu",
                                   address="palvelu@oulu.example.fi", kind="lmtp")
    msg = Message.objects.get(emails__pk=created.inbound_id)
    result = ingest(mail(to="palvelu@oulu.example.fi", in_reply_to=msg.external_id,
                         subject=f"Re: [{created.ticket_number}]"), mailbox=other)
    assert result.outcome == "created"
    assert Ticket.objects.get(number=result.ticket_number).organisation == world.other_org
