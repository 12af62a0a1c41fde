"""Reply, close, reopen and rate in the portal: the ticket's history names the customer,
outbox events are written, bad input is a form error (422) that writes nothing, and a form
sent twice writes once."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from kapula.core.errors import ValidationFailed
from kapula.core.models import Customer, OutboxEvent
from kapula.portal import actions
from kapula.portal.models import ResolutionRating
from kapula.tickets import actions as A
from kapula.tickets.models import (
    Attachment,
    AuthorKind,
    Channel,
    HistoryEntry,
    Message,
    MessageKind,
    Status,
    Ticket,
)
from tests.portal.conftest import EMAIL, make_customer, make_ticket, portal_client

KEY = "formkey-0123456789"


@pytest.fixture
def aino(world: Any) -> Customer:
    return make_customer(world.org)


@pytest.fixture
def ticket(world: Any, aino: Customer) -> Ticket:
    return make_ticket(world.org, aino, "Katuvalo rikki")


def url(ticket: Ticket, what: str = "") -> str:
    return f"/portal/tre/tickets/{ticket.number}/" + (f"{what}/" if what else "")


def resolved(world: Any, ticket: Ticket) -> Ticket:
    A.add_message(actor=world.agent, ticket=ticket, kind="reply", body="Korjattu.")
    return A.update_ticket(actor=world.agent, ticket=Ticket.objects.get(pk=ticket.pk),
                           changes={"status": Status.RESOLVED})


def snapshot(ticket: Ticket) -> tuple[Any, ...]:
    t = Ticket.objects.get(pk=ticket.pk)
    return (t.status, t.version, t.message_count, Message.objects.count(),
            Attachment.objects.count(), HistoryEntry.objects.count(),
            OutboxEvent.objects.count(), ResolutionRating.objects.count())


def test_reply_with_an_attachment(world, ticket) -> None:
    client = portal_client(world.org)
    response = client.post(url(ticket, "reply"), {
        "body": "Lisätietoa: valo vilkkuu.", "form_key": KEY,
        "attachments": [SimpleUploadedFile("valo.png", b"\x89PNG\r\n", "image/png")]})
    assert response.status_code == 302 and response["Location"] == url(ticket)
    message = Message.objects.filter(ticket=ticket).latest("id")
    assert message.kind == MessageKind.INBOUND and message.channel == Channel.PORTAL
    assert message.author_kind == AuthorKind.CUSTOMER
    assert message.author_customer_id == ticket.customer_id
    assert message.attachments.get().filename == "valo.png"
    assert OutboxEvent.objects.filter(topic="message.added", aggregate_id=ticket.pk).count() == 2
    page = client.get(url(ticket)).content.decode()
    assert "Your message was added to the matter." in page
    assert "Lisätietoa: valo vilkkuu." in page and "valo.png" in page
    # the same form sent again (a double click) adds nothing
    again = client.post(url(ticket, "reply"), {"body": "Lisätietoa: valo vilkkuu.",
                                               "form_key": KEY})
    assert again.status_code == 302
    assert Message.objects.filter(ticket=ticket).count() == 2


def test_reply_reopens_a_resolved_ticket(world, ticket) -> None:
    ticket = resolved(world, ticket)
    portal_client(world.org).post(url(ticket, "reply"), {"body": "Ei se toimi.",
                                                         "form_key": KEY})
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    entry = HistoryEntry.objects.filter(ticket=ticket, field="status").latest("id")
    assert (entry.old, entry.new) == (Status.RESOLVED, Status.OPEN)
    assert entry.actor is None and entry.actor_label == "Aino Asiakas <aino@example.fi> (portal)"


@pytest.mark.parametrize("data, error", [
    ({"body": ""}, "Write a message or attach a file."),
    ({"body": "   \n  "}, "Write a message or attach a file."),
    ({"body": "x" * 10_001}, "The message is too long"),
    ({"body": "Liite", "attachments": [SimpleUploadedFile("virus.exe", b"MZ", "image/png")]},
     "Files of this type cannot be attached: virus.exe"),
    ({"body": "Liite", "attachments": [SimpleUploadedFile("tyhja.png", b"", "image/png")]},
     "is empty"),
])
def test_bad_reply_is_a_form_error_and_writes_nothing(world, ticket, data, error) -> None:
    before = snapshot(ticket)
    response = portal_client(world.org).post(url(ticket, "reply"), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert error in html and 'role="alert"' in html and 'aria-invalid="true"' in html
    assert snapshot(ticket) == before


def test_too_large_attachment(world, ticket, settings) -> None:
    settings.KAPULA_MAX_ATTACHMENT_BYTES = 1024 * 1024
    before = snapshot(ticket)
    response = portal_client(world.org).post(url(ticket, "reply"), {
        "body": "Iso", "attachments": [SimpleUploadedFile("iso.pdf", b"x" * (1024 * 1024 + 5),
                                                          "application/pdf")]})
    assert response.status_code == 422
    assert "is too large" in response.content.decode()
    assert snapshot(ticket) == before


def test_close_by_the_customer(world, ticket) -> None:
    A.add_message(actor=world.agent, ticket=ticket, kind="reply", body="Katsotaan.")
    client = portal_client(world.org)
    response = client.post(url(ticket, "close"))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.closed_at is not None
    steps = list(HistoryEntry.objects.filter(ticket=ticket, field="status")
                 .values_list("old", "new", "actor_label"))
    label = "Aino Asiakas <aino@example.fi> (portal)"
    assert steps[-2:] == [("open", "resolved", label), ("resolved", "closed", label)]
    assert OutboxEvent.objects.filter(topic="ticket.status_changed", aggregate_id=ticket.pk,
                                      payload__new="closed").exists()
    # closing again changes nothing
    version = ticket.version
    assert client.post(url(ticket, "close")).status_code == 302
    ticket.refresh_from_db()
    assert ticket.version == version
    assert "The matter is closed." in client.get(url(ticket)).content.decode()


def test_reopen_needs_a_reason(world, ticket) -> None:
    ticket = resolved(world, ticket)
    client = portal_client(world.org)
    before = snapshot(ticket)
    response = client.post(url(ticket, "reopen"), {"reason": "  "})
    assert response.status_code == 422
    assert "Tell us why the matter is not settled." in response.content.decode()
    assert snapshot(ticket) == before
    response = client.post(url(ticket, "reopen"), {"reason": "Valo sammui taas.",
                                                   "form_key": KEY})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.resolved_at is None
    message = Message.objects.filter(ticket=ticket).latest("id")
    assert message.body_text == "Valo sammui taas." and message.channel == Channel.PORTAL
    entry = HistoryEntry.objects.filter(ticket=ticket, field="status").latest("id")
    assert (entry.old, entry.new) == ("resolved", "open")
    assert entry.actor_label.endswith("(portal)")
    assert OutboxEvent.objects.filter(topic="ticket.status_changed", aggregate_id=ticket.pk,
                                      payload__reopened=True).exists()
    # sent twice: still one message
    assert client.post(url(ticket, "reopen"), {"reason": "Valo sammui taas.",
                                               "form_key": KEY}).status_code == 302
    assert Message.objects.filter(ticket=ticket, body_text="Valo sammui taas.").count() == 1


def test_an_open_ticket_cannot_be_reopened(world, ticket) -> None:
    before = snapshot(ticket)
    response = portal_client(world.org).post(url(ticket, "reopen"), {"reason": "Miksi?"})
    assert response.status_code == 422
    assert snapshot(ticket) == before


def test_rating(world, ticket) -> None:
    client = portal_client(world.org)
    # not before the matter is resolved
    assert client.post(url(ticket, "rate"), {"score": "5"}).status_code == 422
    assert ResolutionRating.objects.count() == 0
    ticket = resolved(world, ticket)
    page = client.get(url(ticket)).content.decode()
    assert "<fieldset" in page and "<legend>" in page and page.count('type="radio"') == 5
    response = client.post(url(ticket, "rate"), {"score": "4", "comment": "Nopeasti!"})
    assert response.status_code == 302
    rating = ResolutionRating.objects.get(ticket=ticket)
    assert (rating.score, rating.comment, rating.customer_id) == (4, "Nopeasti!",
                                                                  ticket.customer_id)
    event = OutboxEvent.objects.get(topic="ticket.rated")
    assert event.aggregate_id == ticket.pk and event.payload["score"] == 4
    assert event.payload["number"] == ticket.number and event.payload["previous"] is None
    entry = HistoryEntry.objects.get(ticket=ticket, field="rating")
    assert (entry.old, entry.new) == ("", "4\nNopeasti!")
    assert entry.actor_label.endswith("(portal)")
    # changing it updates the one rating
    assert client.post(url(ticket, "rate"), {"score": "2", "comment": ""}).status_code == 302
    rating.refresh_from_db()
    assert (rating.score, rating.comment) == (2, "")
    assert ResolutionRating.objects.count() == 1
    assert OutboxEvent.objects.filter(topic="ticket.rated").count() == 2
    assert OutboxEvent.objects.filter(topic="ticket.rated").latest("id").payload[
        "previous"] == 4
    page = client.get(url(ticket)).content.decode()
    assert "Your rating: 2 of 5." in page and 'value="2" checked' in page
    # the agents see the rating and the comment in the ticket's history
    from kapula.desk.templatetags.desk import history_field, history_value

    latest = HistoryEntry.objects.filter(ticket=ticket, field="rating").latest("id")
    with translation.override("en"):
        assert history_field("rating") == "customer's rating"
        assert history_value("rating", latest.old) == "4 / 5 – “Nopeasti!”"
        assert history_value("rating", latest.new) == "2 / 5"


@pytest.mark.parametrize("score", ["", "0", "6", "-1", "3.5", "abc", "9" * 30])
def test_rating_outside_1_to_5_is_a_form_error(world, ticket, score) -> None:
    ticket = resolved(world, ticket)
    before = snapshot(ticket)
    response = portal_client(world.org).post(url(ticket, "rate"), {"score": score})
    assert response.status_code == 422
    assert "Choose a rating from 1 to 5." in response.content.decode()
    assert snapshot(ticket) == before


def test_rating_comment_too_long(world, ticket) -> None:
    ticket = resolved(world, ticket)
    before = snapshot(ticket)
    response = portal_client(world.org).post(url(ticket, "rate"),
                                             {"score": "3", "comment": "x" * 2001})
    assert response.status_code == 422
    assert snapshot(ticket) == before


def test_merged_ticket_takes_no_reply(world, aino, ticket) -> None:
    target = make_ticket(world.org, aino, "Toinen")
    A.merge(actor=world.org_admin, source=ticket, target=target)
    before = snapshot(ticket)
    response = portal_client(world.org).post(url(ticket, "reply"), {"body": "Hei"})
    assert response.status_code == 409
    assert snapshot(ticket) == before


def test_actions_check_the_owner_themselves(world, ticket) -> None:
    """Even called directly, an action refuses a ticket of another address."""
    make_customer(world.org, "x@example.fi", "X")
    with pytest.raises(actions.ActionError) as info:
        actions.customer_reply(organisation=world.org, email="x@example.fi", ticket=ticket,
                               body="Hei")
    assert info.value.code == "ticket_not_found" and info.value.status == 404
    with pytest.raises(actions.ActionError):
        actions.close_by_customer(organisation=world.other_org, email=EMAIL, ticket=ticket)
    with pytest.raises(ValidationFailed):
        actions.parse_score("7")


def test_no_csrf_token_no_write(world, ticket) -> None:
    from django.test import Client

    client = portal_client(world.org)
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    before = snapshot(ticket)
    for what in ("reply", "close", "rate", "reopen"):
        assert strict.post(url(ticket, what), {"body": "Hei"}).status_code == 403
    assert strict.post("/portal/tre/login/", {"email": EMAIL}).status_code == 403
    assert snapshot(ticket) == before
