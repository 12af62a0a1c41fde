"""IMAP fetching against a real Dovecot: tickets, flags, moves, exactly-once, IDLE,
reconnecting and failures."""

from __future__ import annotations

import io
import json
import queue
import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from kapula.intake.mail.imap import DONE_KEYWORD, PassReport, fetch_once, watch
from kapula.intake.mail.ingest import ingest
from kapula.intake.mail.models import InboundEmail, Mailbox
from kapula.tickets.models import Ticket
from tests.mail.servers import Dovecot

PASSWORD_ENV = "KAPULA_TEST_IMAP_PASSWORD"


def mail(subject: str, msgid: str, to: str, sender: str = "asiakas@example.fi") -> bytes:
    return (
        f"From: Asiakas <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{msgid}@example.fi>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0200\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        f"Hei, {subject.lower()} ei toimi.\r\n"
    ).encode()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def mailbox(world, dovecot: Dovecot, imap_account: tuple[str, str],  # type: ignore[no-untyped-def]
            monkeypatch: pytest.MonkeyPatch) -> Mailbox:
    user, password = imap_account
    monkeypatch.setenv(PASSWORD_ENV, password)
    return Mailbox.objects.create(
        organisation=world.org, name="Palvelupiste", address=f"{user}@tre.example",
        kind="imap", imap_host=dovecot.host, imap_port=dovecot.port, imap_security="none",
        imap_username=user, imap_password_env=PASSWORD_ENV, team=world.service_point,
        send_acknowledgment=False, poll_seconds=60)


class Watcher:
    """watch() in a thread; each pass's report arrives in a queue (so the test reads no
    database while the watcher writes)."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.reports: queue.Queue[PassReport] = queue.Queue()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=watch, args=(mailbox, self.stop),
                                       kwargs={"on_pass": self.reports.put}, daemon=True)
        self.thread.start()

    def next_report(self, timeout: float) -> PassReport:
        return self.reports.get(timeout=timeout)

    def results_until(self, count: int, timeout: float) -> list[str]:
        outcomes: list[str] = []
        deadline = time.monotonic() + timeout
        while len(outcomes) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                outcomes += [r.outcome for r in self.reports.get(timeout=remaining).results]
            except queue.Empty:
                break
        return outcomes

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


def test_new_mail_becomes_a_ticket_and_is_flagged(mailbox: Mailbox, dovecot: Dovecot) -> None:
    user = mailbox.imap_username
    uid = dovecot.append(user, mail("Katuvalo", "m1", mailbox.address))
    results = fetch_once(mailbox)
    assert [r.outcome for r in results] == ["created"]
    ticket = Ticket.objects.get(number=results[0].ticket_number)
    assert ticket.organisation == mailbox.organisation
    assert {DONE_KEYWORD, "\\Seen"} <= dovecot.flags(user)[uid]
    mailbox.refresh_from_db()
    assert mailbox.last_checked_at is not None
    assert mailbox.last_error == ""
    assert fetch_once(mailbox) == []  # nothing is taken twice


def test_processed_mail_is_moved_to_the_done_folder(mailbox: Mailbox,
                                                     dovecot: Dovecot) -> None:
    mailbox.imap_done_folder = "Kapula-valmiit"
    mailbox.save()
    user = mailbox.imap_username
    dovecot.append(user, mail("Eka", "d1", mailbox.address))
    dovecot.append(user, mail("Toka", "d2", mailbox.address))
    assert [r.outcome for r in fetch_once(mailbox)] == ["created", "created"]
    assert "Kapula-valmiit" in dovecot.folders(user)
    assert dovecot.flags(user) == {}
    moved = dovecot.flags(user, "Kapula-valmiit")
    assert len(moved) == 2
    assert all(DONE_KEYWORD in flags for flags in moved.values())
    assert fetch_once(mailbox) == []


def test_crash_between_commit_and_flag_gives_a_duplicate(mailbox: Mailbox,
                                                          dovecot: Dovecot) -> None:
    raw = mail("Kaatuminen", "c1", mailbox.address)
    uid = dovecot.append(mailbox.imap_username, raw)
    # the earlier run committed the message and died before it could flag it
    first = ingest(raw, mailbox=mailbox, source="imap")
    assert first.outcome == "created"
    assert DONE_KEYWORD not in dovecot.flags(mailbox.imap_username)[uid]
    results = fetch_once(mailbox)
    assert [r.outcome for r in results] == ["duplicate"]
    assert results[0].ticket_number == first.ticket_number
    assert DONE_KEYWORD in dovecot.flags(mailbox.imap_username)[uid]
    assert Ticket.objects.count() == 1
    assert InboundEmail.objects.count() == 1


def test_a_failed_ingest_leaves_the_message_for_the_next_pass(
        mailbox: Mailbox, dovecot: Dovecot, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    user = mailbox.imap_username
    first = dovecot.append(user, mail("Ensimmäinen", "f1", mailbox.address))
    second = dovecot.append(user, mail("Toinen", "f2", mailbox.address))
    # a real infrastructure failure: the message store cannot be written
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.MEDIA_ROOT = str(blocker / "media")
    assert fetch_once(mailbox) == []
    mailbox.refresh_from_db()
    assert "storing a message failed" in mailbox.last_error
    flags = dovecot.flags(user)
    assert not flags[first] & {DONE_KEYWORD, "\\Seen"}
    assert not flags[second] & {DONE_KEYWORD, "\\Seen"}
    assert Ticket.objects.count() == 0
    # the store is back: both are taken in, in order
    settings.MEDIA_ROOT = str(tmp_path / "media")
    results = fetch_once(mailbox)
    assert [r.outcome for r in results] == ["created", "created"]
    assert Ticket.objects.get(number=results[0].ticket_number).title == "Ensimmäinen"
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""


def test_wrong_password_is_recorded(mailbox: Mailbox, dovecot: Dovecot,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    dovecot.append(mailbox.imap_username, mail("Ei pääse", "w1", mailbox.address))
    monkeypatch.setenv(PASSWORD_ENV, "wrong password")
    assert fetch_once(mailbox) == []
    mailbox.refresh_from_db()
    assert "LoginError" in mailbox.last_error
    assert mailbox.last_checked_at is not None
    monkeypatch.delenv(PASSWORD_ENV)
    assert fetch_once(mailbox) == []
    mailbox.refresh_from_db()
    assert PASSWORD_ENV in mailbox.last_error


def test_fetch_mail_once_prints_json_lines(mailbox: Mailbox, dovecot: Dovecot) -> None:
    dovecot.append(mailbox.imap_username, mail("Komento", "k1", mailbox.address))
    out = io.StringIO()
    call_command("fetch_mail", "--once", "--mailbox", mailbox.address.upper(), stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 1
    assert lines[0]["mailbox"] == mailbox.address
    assert lines[0]["outcome"] == "created"
    assert lines[0]["ticket"] == Ticket.objects.get().number


@pytest.mark.django_db(transaction=True)
def test_idle_picks_up_new_mail_at_once(mailbox: Mailbox, dovecot: Dovecot) -> None:
    watcher = Watcher(mailbox)
    try:
        assert watcher.next_report(10).results == []  # the first pass found nothing
        time.sleep(0.2)  # let it enter IDLE
        began = time.monotonic()
        dovecot.append(mailbox.imap_username, mail("Idle", "i1", mailbox.address))
        assert watcher.results_until(1, 5) == ["created"]
        assert time.monotonic() - began < 2.5  # IDLE, not the 60 s poll
    finally:
        watcher.close()
    assert Ticket.objects.count() == 1
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""


@pytest.mark.django_db(transaction=True)
def test_watcher_reconnects_after_the_server_restarts(mailbox: Mailbox,
                                                      dovecot: Dovecot) -> None:
    watcher = Watcher(mailbox)
    try:
        assert watcher.next_report(10).results == []
        dovecot.restart()  # every connection is cut
        dovecot.append(mailbox.imap_username, mail("Uudestaan", "r1", mailbox.address))
        assert watcher.results_until(1, 10) == ["created"]
    finally:
        watcher.close()
    assert Ticket.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_watcher_survives_a_wrong_password(mailbox: Mailbox,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "wrong password")
    watcher = Watcher(mailbox)
    time.sleep(1.5)  # a failed login, a 1 s pause, another failed login
    assert watcher.thread.is_alive()
    watcher.close()
    mailbox.refresh_from_db()
    assert "LoginError" in mailbox.last_error
