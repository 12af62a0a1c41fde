"""The whole email loop with real servers: a resident's mail arrives in a Dovecot mailbox,
Kapula fetches it over IMAP, acknowledges it in the resident's language through SMTP
(aiosmtpd), an agent replies from the desk, the resident's answer to that reply lands in
the same ticket, their out-of-office reply creates nothing, and a bounce of our reply lands
on the right ticket."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid

from django.test import Client

from kapula.core.models import CustomerContact
from kapula.intake.mail import outbound
from kapula.intake.mail.imap import fetch_once
from kapula.intake.mail.models import InboundEmail, Mailbox, OutboundEmail, OutboundKind
from kapula.tickets import actions as A
from kapula.tickets.models import MessageKind, Status, Ticket
from tests.conftest import PASSWORD
from tests.mail.test_ingest import SV_TEXT, bounce_for, deliver_events, mail


def test_mail_round_trip(world, dovecot, imap_account, smtp_sink, monkeypatch):
    user, password = imap_account
    monkeypatch.setenv("KAPULA_TEST_IMAP_PASSWORD", password)
    mailbox = Mailbox.objects.create(
        organisation=world.org, name="Palvelu", address="palvelu@tre.example.fi",
        kind="imap", team=world.service_point, imap_host="127.0.0.1", imap_port=dovecot.port,
        imap_security="none", imap_username=user,
        imap_password_env="KAPULA_TEST_IMAP_PASSWORD")

    # 1. a Swedish-speaking resident writes; the mail is fetched over IMAP
    dovecot.append(user, mail(sender="sven@example.se", name="Sven Svensson",
                              subject="Gatubelysningen är trasig", body=SV_TEXT))
    results = fetch_once(mailbox)
    assert [r.outcome for r in results] == ["created"]
    ticket = Ticket.objects.get(number=results[0].ticket_number)
    assert ticket.language == "sv" and ticket.channel == "email"
    assert fetch_once(mailbox) == []  # done on the server: not fetched again

    # 2. the acknowledgment leaves through SMTP, in Swedish
    deliver_events()
    outbound.send_due()
    ack_raw = smtp_sink.wait_for(1)[0][2]
    ack = message_from_bytes(ack_raw, policy=policy.default)
    assert ticket.number in ack["Subject"] and "ärende" in ack.get_content()

    # 3. an agent replies in the desk
    client = Client()
    client.login(username=world.agent.username, password=PASSWORD)
    page = client.get(f"/tickets/{ticket.pk}/")
    assert page.status_code == 200
    response = client.post(f"/tickets/{ticket.pk}/reply/", {
        "kind": "reply", "body": "Vi lagar lampan på torsdag.", "version": ticket.version})
    assert response.status_code == 302
    deliver_events()
    outbound.send_due()
    reply = message_from_bytes(smtp_sink.wait_for(2)[1][2], policy=policy.default)
    assert reply["To"] == "sven@example.se"
    assert "Vi lagar lampan" in reply.get_content()
    assert reply["In-Reply-To"] == InboundEmail.objects.get(ticket=ticket).msgid

    # 4. the resident answers the reply: same ticket
    dovecot.append(user, mail(sender="sven@example.se", name="Sven Svensson",
                              subject=f"Sv: {reply['Subject']}", body="Tack, det går bra!",
                              in_reply_to=reply["Message-ID"],
                              references=f"{ack['Message-ID']} {reply['Message-ID']}"))
    answer = fetch_once(mailbox)
    assert [(r.outcome, r.ticket_number) for r in answer] == [("appended", ticket.number)]

    # 5. an out-of-office answer to our acknowledgment creates nothing and reopens nothing
    ticket.refresh_from_db()
    A.change_status(actor=world.agent, ticket=ticket, status=Status.RESOLVED)
    ooo = EmailMessage()
    ooo["From"] = "Sven Svensson <sven@example.se>"
    ooo["To"] = "palvelu@tre.example.fi"
    ooo["Subject"] = f"Autosvar: {ack['Subject']}"
    ooo["Message-ID"] = make_msgid(domain="example.se")
    ooo["In-Reply-To"] = ack["Message-ID"]
    ooo["Auto-Submitted"] = "auto-replied"
    ooo.set_content("Jag är på semester till den 1 december.")
    dovecot.append(user, ooo.as_bytes())
    auto = fetch_once(mailbox)
    assert [r.outcome for r in auto] == ["auto_reply"]
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert Ticket.objects.filter(organisation=world.org).count() == 1
    deliver_events()
    assert OutboundEmail.objects.filter(kind=OutboundKind.ACKNOWLEDGMENT).count() == 1

    # 6. our reply bounces (the address was closed): it lands on the ticket, the address
    # is marked failing, and the agent sees it on the ticket page
    sent_reply = OutboundEmail.objects.get(ticket=ticket, kind=OutboundKind.REPLY)
    dovecot.append(user, bounce_for(sent_reply, "sven@example.se"))
    bounced = fetch_once(mailbox)
    assert [(r.outcome, r.ticket_number) for r in bounced] == [("bounce", ticket.number)]
    assert CustomerContact.objects.get(normalised="sven@example.se").failing_since
    note = ticket.messages.order_by("-id").first()
    assert note.kind == MessageKind.NOTE
    page = client.get(f"/tickets/{ticket.pk}/")
    assert "sven@example.se" in page.content.decode()
    assert "original.eml" in page.content.decode()
    # every message is flagged done on the server
    assert all("$KapulaDone" in flags for flags in dovecot.flags(user).values())
