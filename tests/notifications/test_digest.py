"""Email digests through a real SMTP server: one mail per agent with their unread, unmailed
notifications, in their language, at most once a period, never twice, nothing when off."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes, policy

from django.core.management import call_command
from django.utils import timezone

from kapula.core.models import User
from kapula.notifications import actions as N
from kapula.notifications import digest
from kapula.notifications.models import DigestEmail, DigestStatus, Notification
from kapula.tickets import actions as A
from kapula.tickets.models import AuthorKind, MessageKind, Ticket
from tests.conftest import World
from tests.notifications.conftest import deliver


def activity(world: World, assignee: User, n: int = 2) -> list[Ticket]:
    tickets = []
    for i in range(n):
        t = A.create_ticket(actor=None, organisation=world.org, title=f"Tulostin {i}",
                            body="Paperi juuttuu.", channel="email", team=world.it_desk)
        A.update_ticket(actor=world.lead, ticket=t, changes={"assignee": assignee})
        tickets.append(t)
    deliver()
    return tickets


def test_one_digest_per_agent_in_their_language(world: World, second: User,
                                                smtp_sink) -> None:  # type: ignore[no-untyped-def]
    tickets = activity(world, second)
    world.lead.email = "lead@tre.example.fi"
    world.lead.save()
    A.add_message(actor=None, ticket=tickets[0], kind=MessageKind.INBOUND, body="Lisää",
                  author_kind=AuthorKind.CUSTOMER)
    deliver()
    assert Notification.objects.filter(recipient=second).count() == 3
    assert digest.run() == {"queued": 1, "sent": 1, "failed": 0}  # the lead has none
    (_from, rcpts, raw), = smtp_sink.wait_for(1)
    assert rcpts == ["second@tre.example.fi"]
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "Kapula: 3 new notifications"
    assert msg["Auto-Submitted"] == "auto-generated" and msg["Content-Language"] == "en"
    body = msg.get_content()
    assert "Hello Second," in body and "You have 3 unread notifications" in body
    for t in tickets:
        assert f"{t.number} was assigned to you: {t.title}" in body
        assert f"/tickets/{t.pk}/" in body
    assert f"The customer replied on {tickets[0].number}" in body
    assert "/notifications/preferences/" in body
    sent = DigestEmail.objects.get()
    assert sent.status == DigestStatus.SENT and sent.count == 3
    assert not Notification.objects.filter(recipient=second, emailed_at__isnull=True).exists()
    assert set(Notification.objects.values_list("digest_id", flat=True)) == {sent.pk}


def test_running_again_sends_nothing_twice(world: World, second: User,
                                           smtp_sink) -> None:  # type: ignore[no-untyped-def]
    activity(world, second)
    call_command("send_digests")
    call_command("send_digests")
    digest.run(timezone.now() + dt.timedelta(days=2))  # due again, but nothing new
    assert len(smtp_sink.wait_for(2, timeout=0.5)) == 1
    assert DigestEmail.objects.count() == 1


def test_daily_waits_a_day_hourly_an_hour(world: World, second: User,
                                          smtp_sink) -> None:  # type: ignore[no-untyped-def]
    activity(world, second, 1)
    now = timezone.now()
    assert digest.run(now)["sent"] == 1
    activity(world, second, 1)
    assert digest.run(now + dt.timedelta(hours=2))["queued"] == 0  # daily by default
    N.save_preferences(actor=second, muted=[], frequency="hourly")
    assert digest.run(now + dt.timedelta(minutes=30))["queued"] == 0
    assert digest.run(now + dt.timedelta(hours=2))["queued"] == 1
    assert len(smtp_sink.wait_for(2)) == 2


def test_read_notifications_and_frequency_off_send_nothing(
        world: World, second: User, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    activity(world, second)
    N.mark_all_read(actor=second)
    assert digest.run()["queued"] == 0
    activity(world, second, 1)
    N.save_preferences(actor=second, muted=[], frequency="off")
    assert digest.run()["queued"] == 0
    assert smtp_sink.messages == []


def test_failed_send_waits_and_retries(world: World, second: User,
                                       smtp_sink) -> None:  # type: ignore[no-untyped-def]
    activity(world, second, 1)
    smtp_sink.fail_with(451)
    assert digest.run() == {"queued": 1, "sent": 0, "failed": 1}
    mail = DigestEmail.objects.get()
    assert mail.status == DigestStatus.QUEUED and mail.attempts == 1 and "451" in mail.last_error
    smtp_sink.fail_with(None)
    assert digest.send_queued() == (0, 0)  # not due yet
    DigestEmail.objects.update(next_attempt_at=timezone.now())
    assert digest.send_queued() == (1, 0)
    assert len(smtp_sink.wait_for(1)) == 1


def test_admin_shows_own_organisations_digests(world: World, second: User,
                                              smtp_sink) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    activity(world, second, 1)
    digest.run()
    DigestEmail.objects.create(recipient=world.other_agent, to="x@oulu.example",
                               organisation=world.other_org, language="fi",
                               subject="Oulun koonti", body_text="-")
    c = Client()
    c.force_login(world.org_admin)
    page = c.get("/admin/notifications/digestemail/")
    assert page.status_code == 200
    assert b"second@tre.example.fi" in page.content and b"Oulun koonti" not in page.content
    mine = DigestEmail.objects.get(recipient=second)
    DigestEmail.objects.filter(pk=mine.pk).update(status=DigestStatus.FAILED)
    c.post("/admin/notifications/digestemail/", {"action": "retry",
                                                 "_selected_action": [mine.pk]})
    mine.refresh_from_db()
    assert mine.status == DigestStatus.QUEUED and mine.attempts == 0
    c.force_login(world.agent)
    assert c.get("/admin/notifications/digestemail/").status_code in (302, 403)
