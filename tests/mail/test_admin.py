"""The email admin: scoped to the admin's organisation; quarantine release; templates that
do not compile are refused; the original .eml of quarantined mail for admins only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kapula.intake.mail.ingest import ingest
from kapula.intake.mail.models import (
    EmailTemplate,
    InboundEmail,
    InboundStatus,
    Mailbox,
    OutboundEmail,
    OutboundStatus,
)
from tests.mail.test_ingest import deliver_events, mail

PAGES = ["mail_mailbox", "mail_inboundemail", "mail_outboundemail", "mail_emailtemplate"]


@pytest.fixture
def mailboxes(world):
    ours = Mailbox.objects.create(organisation=world.org, name="Palvelu",
                                  address="palvelu@tre.example.fi", kind="lmtp",
                                  rate_limit_per_hour=1)
    theirs = Mailbox.objects.create(organisation=world.other_org, name="Oulu",
                                    address="kirjaamo@oulu.example.fi", kind="lmtp")
    ingest(mail(to="kirjaamo@oulu.example.fi", subject="Oulun salainen asia"), mailbox=theirs)
    EmailTemplate.objects.create(organisation=world.other_org, kind="ack", language="fi",
                                 subject="Oulun pohja", body="x")
    deliver_events()
    return ours, theirs


@pytest.mark.parametrize("page", PAGES)
def test_org_admin_sees_only_own_mail(client, world, mailboxes, page):
    client.force_login(world.org_admin)
    response = client.get(reverse(f"admin:{page}_changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "oulu.example.fi" not in body and "Oulun" not in body


def test_agents_are_kept_out(client, world, mailboxes):
    client.force_login(world.agent)
    assert client.get(reverse("admin:mail_inboundemail_changelist")).status_code == 302


def test_release_from_quarantine(client, world, mailboxes):
    ours, _ = mailboxes
    ingest(mail(subject="Eka"), mailbox=ours)
    held = ingest(mail(subject="Toka"), mailbox=ours)
    assert held.quarantined
    client.force_login(world.org_admin)
    response = client.post(reverse("admin:mail_inboundemail_changelist"), {
        "action": "release", "_selected_action": [held.inbound_id]}, follow=True)
    assert response.status_code == 200
    row = InboundEmail.objects.get(organisation=world.org, subject="Toka")
    assert row.status == InboundStatus.PROCESSED and row.ticket is not None


def test_quarantined_original_for_admins_only(client, world, mailboxes):
    ours, _ = mailboxes
    ingest(mail(subject="Eka"), mailbox=ours)
    held = ingest(mail(subject="Toka"), mailbox=ours)
    url = reverse("desk:inbound_raw", args=[held.inbound_id])
    client.force_login(world.agent)
    assert client.get(url).status_code == 404
    client.force_login(world.org_admin)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "message/rfc822"
    assert b"Toka" in b"".join(response.streaming_content)
    other = InboundEmail.objects.get(organisation=world.other_org)
    assert client.get(reverse("desk:inbound_raw", args=[other.pk])).status_code == 404


def test_template_must_compile(client, world, mailboxes):
    client.force_login(world.org_admin)
    url = reverse("admin:mail_emailtemplate_add")
    bad = client.post(url, {"kind": "ack", "language": "sv", "subject": "Tack",
                            "body": "{% if %}"})
    assert bad.status_code == 200 and not EmailTemplate.objects.filter(language="sv").exists()
    good = client.post(url, {"kind": "ack", "language": "sv", "subject": "Tack",
                             "body": "Ärende {{ number }} har tagits emot."})
    assert good.status_code == 302
    assert EmailTemplate.objects.get(language="sv").organisation == world.org


def test_send_again(client, world, mailboxes, smtp_sink):
    ours, _ = mailboxes
    ingest(mail(subject="Eka"), mailbox=ours)
    deliver_events()
    sent = OutboundEmail.objects.get(organisation=world.org)
    OutboundEmail.objects.filter(pk=sent.pk).update(status=OutboundStatus.FAILED)
    client.force_login(world.org_admin)
    client.post(reverse("admin:mail_outboundemail_changelist"), {
        "action": "send_again", "_selected_action": [sent.pk]})
    sent.refresh_from_db()
    assert sent.status == OutboundStatus.QUEUED
