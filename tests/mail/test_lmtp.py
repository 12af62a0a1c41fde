"""The LMTP/SMTP listener: recipients, per-recipient answers, tickets after 250, and a
temporary failure when the message cannot be stored."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from kapula.intake.mail.lmtp import Listener, serve
from kapula.intake.mail.models import InboundEmail, Mailbox
from kapula.tickets.models import Ticket
from tests.mail.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)  # deliveries run in other threads

SERVICE = "palvelu@tre.example"
IT = "it-tuki@tre.example"


def mail(subject: str, msgid: str, to: str = SERVICE) -> bytes:
    return (
        f"From: Asiakas <asiakas@example.fi>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{msgid}@example.fi>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0200\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        f"Hyvä palvelu, {subject.lower()} on rikki.\r\n"
    ).encode()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def mailboxes(world) -> list[Mailbox]:  # type: ignore[no-untyped-def]
    common = {"organisation": world.org, "send_acknowledgment": False}
    return [
        Mailbox.objects.create(name="Palvelu", address=SERVICE, kind="lmtp",
                               team=world.service_point, **common),
        Mailbox.objects.create(name="IT", address=IT, kind="lmtp", team=world.it_desk,
                               **common),
        Mailbox.objects.create(name="Haettava", address="imap@tre.example", kind="imap",
                               **common),
        Mailbox.objects.create(name="Suljettu", address="vanha@tre.example", kind="lmtp",
                               is_active=False, **common),
    ]


@pytest.fixture
def lmtp_listener(mailboxes: list[Mailbox]) -> Iterator[Listener]:
    listener = serve("127.0.0.1", free_port())
    yield listener
    listener.stop()


@pytest.fixture
def smtp_listener(mailboxes: list[Mailbox]) -> Iterator[Listener]:
    listener = serve("127.0.0.1", free_port(), lmtp=False)
    yield listener
    listener.stop()


def lmtp_client(listener: Listener) -> smtplib.LMTP:
    client = smtplib.LMTP(listener.host, listener.port, timeout=10)
    code, _ = client.ehlo()  # smtplib's LMTP says LHLO
    assert code == 250
    return client


def send_lmtp(listener: Listener, raw: bytes,
              recipients: list[str]) -> tuple[list[int], list[int]]:
    """One LMTP transaction: the RCPT answers and the answers after the data (one for
    each accepted recipient, RFC 2033; smtplib reads only the first by itself)."""
    client = lmtp_client(listener)
    try:
        assert client.mail("asiakas@example.fi")[0] == 250
        rcpt_codes = [client.rcpt(r)[0] for r in recipients]
        accepted = sum(1 for c in rcpt_codes if c == 250)
        code, _ = client.data(raw)
        data_codes = [code] + [client.getreply()[0] for _ in range(accepted - 1)]
        return rcpt_codes, data_codes
    finally:
        client.quit()


def test_lmtp_delivery_makes_a_ticket(lmtp_listener: Listener) -> None:
    rcpt, data = send_lmtp(lmtp_listener, mail("Katuvalo", "l1"), [SERVICE.upper()])
    assert rcpt == [250]
    assert data == [250]
    inbound = InboundEmail.objects.get()  # committed before the 250
    assert inbound.source == "lmtp"
    assert inbound.mailbox is not None and inbound.mailbox.address == SERVICE
    assert inbound.ticket is not None
    assert inbound.ticket.team.slug == "sp"


def test_one_answer_per_recipient_and_unknown_recipients_refused(
        lmtp_listener: Listener) -> None:
    rcpt, data = send_lmtp(lmtp_listener, mail("Kaksi", "l2"),
                           [SERVICE, "nobody@tre.example", IT, "imap@tre.example",
                            "vanha@tre.example"])
    assert rcpt == [250, 550, 250, 550, 550]
    assert data == [250, 250]
    assert InboundEmail.objects.count() == 2  # once for each mailbox
    assert Ticket.objects.count() == 1  # the same message in two mailboxes is one contact
    # the listener is still in step with the client after the extra answers
    assert send_lmtp(lmtp_listener, mail("Kolmas", "l3"), [IT]) == ([250], [250])


def test_a_redelivery_is_a_duplicate(lmtp_listener: Listener) -> None:
    raw = mail("Uudelleen", "l4")
    assert send_lmtp(lmtp_listener, raw, [SERVICE]) == ([250], [250])
    assert send_lmtp(lmtp_listener, raw, [SERVICE]) == ([250], [250])
    assert Ticket.objects.count() == 1
    assert InboundEmail.objects.count() == 1


def test_storage_failure_asks_the_server_to_try_again(
        lmtp_listener: Listener, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.MEDIA_ROOT = str(blocker / "media")  # the message store cannot be written
    client = lmtp_client(lmtp_listener)
    try:
        client.mail("asiakas@example.fi")
        client.rcpt(SERVICE)
        code, text = client.data(mail("Myöhemmin", "l5"))
    finally:
        client.quit()
    assert (code, text[:5]) == (451, b"4.3.0")
    assert InboundEmail.objects.count() == 0
    settings.MEDIA_ROOT = str(tmp_path / "media")
    assert send_lmtp(lmtp_listener, mail("Myöhemmin", "l5"), [SERVICE]) == ([250], [250])
    assert Ticket.objects.count() == 1


def test_size_limit_is_announced(lmtp_listener: Listener) -> None:
    client = lmtp_client(lmtp_listener)
    try:
        assert client.has_extn("size")
        assert int(client.esmtp_features["size"]) == 60 * 1024 * 1024
        code, _ = client.mail("asiakas@example.fi", ["SIZE=70000000"])
        assert code == 552
    finally:
        client.quit()


def test_smtp_mode(smtp_listener: Listener) -> None:
    with smtplib.SMTP(smtp_listener.host, smtp_listener.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("asiakas@example.fi", ["nobody@tre.example"], mail("Ei", "s0"))
        refused = client.sendmail("asiakas@example.fi", [SERVICE, "nobody@tre.example"],
                                  mail("Tavallinen SMTP", "s1"))
    assert set(refused) == {"nobody@tre.example"}
    inbound = InboundEmail.objects.get()
    assert inbound.source == "smtp"
    assert inbound.ticket is not None
    assert inbound.ticket.title == "Tavallinen SMTP"
