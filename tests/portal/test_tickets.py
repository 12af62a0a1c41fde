"""My matters and a matter's page: only the customer's own tickets, from every channel,
in a constant number of queries; the public conversation only; attachments through a
checked view; everything else is the same 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kapula.core.models import Customer, CustomerContact
from kapula.tickets import actions as A
from kapula.tickets.attachments import AttachmentInput
from kapula.tickets.models import Attachment, Status, Ticket
from tests.portal.conftest import (
    OTHER_EMAIL,
    make_customer,
    make_ticket,
    portal_client,
)


@pytest.fixture
def aino(world: Any) -> Customer:
    return make_customer(world.org, extra=("aino.work@example.fi",))


@pytest.fixture
def bertil(world: Any) -> Customer:
    return make_customer(world.org, OTHER_EMAIL, "Bertil Berg")


def test_my_matters_lists_every_channel_and_nobody_elses(world, aino, bertil) -> None:
    mine = [make_ticket(world.org, aino, f"Asia {channel}", channel=channel)
            for channel in ("email", "web_form", "phone", "mobile_app", "chat")]
    theirs = make_ticket(world.org, bertil, "Bertilin asia")
    other_org_customer = make_customer(world.other_org)
    elsewhere = make_ticket(world.other_org, other_org_customer, "Oulun asia")
    anonymous = make_ticket(world.org, None, "Nimetön asia")
    response = portal_client(world.org).get("/portal/tre/")
    assert response.status_code == 200
    html = response.content.decode()
    for ticket in mine:
        assert ticket.number in html and ticket.title in html
    for ticket in (theirs, elsewhere, anonymous):
        assert ticket.number not in html
    for label in ("Email", "Web form", "Phone", "Mobile app", "Chat"):
        assert f"<td>{label}</td>" in html
    assert "Received" in html  # the customer's word for "new"


def test_second_email_address_of_the_same_customer_sees_the_same(world, aino) -> None:
    ticket = make_ticket(world.org, aino, "Kaksi osoitetta")
    response = portal_client(world.org, "aino.work@example.fi").get("/portal/tre/")
    assert ticket.number in response.content.decode()


def test_newest_update_first_and_tabs(world, aino) -> None:
    old = make_ticket(world.org, aino, "Vanha asia")
    done = make_ticket(world.org, aino, "Valmis asia")
    A.update_ticket(actor=None, ticket=done, changes={"status": Status.RESOLVED})
    new = make_ticket(world.org, aino, "Uusi asia")
    client = portal_client(world.org)
    html = client.get("/portal/tre/").content.decode()
    assert html.index(new.number) < html.index(done.number) < html.index(old.number)
    open_html = client.get("/portal/tre/?show=open").content.decode()
    assert new.number in open_html and old.number in open_html
    assert done.number not in open_html
    finished = client.get("/portal/tre/?show=finished").content.decode()
    assert done.number in finished and new.number not in finished
    assert 'aria-current="page"' in finished
    assert client.get("/portal/tre/?show=bogus&page=x").status_code == 200
    assert client.get("/portal/tre/?page=999").status_code == 200


def test_merged_tickets_are_left_out_of_the_list(world, aino) -> None:
    source = make_ticket(world.org, aino, "Tuplana")
    target = make_ticket(world.org, aino, "Alkuperäinen")
    A.merge(actor=world.org_admin, source=source, target=target)
    client = portal_client(world.org)
    html = client.get("/portal/tre/").content.decode()
    assert target.number in html and source.number not in html
    page = client.get(f"/portal/tre/tickets/{source.number}/").content.decode()
    assert f"merged into matter {target.number}" in page
    assert f'href="/portal/tre/tickets/{target.number}/"' in page
    assert 'action="/portal/tre/tickets/' + source.number + '/reply/"' not in page


def test_pages_of_25(world, aino) -> None:
    for i in range(27):
        make_ticket(world.org, aino, f"Asia {i}")
    client = portal_client(world.org)
    first = client.get("/portal/tre/").content.decode()
    assert "Page 1 of 2" in first and first.count('<tr>') == 26  # header + 25 rows
    second = client.get("/portal/tre/?page=2").content.decode()
    assert second.count("<tr>") == 3


def main(response: Any) -> str:
    """The page's main content (the rest holds the path and a CSRF token)."""
    html = response.content.decode()
    return html[html.index("<main"):html.index("</main>")]


def _count(client: Any, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_tickets(world, aino) -> None:
    client = portal_client(world.org)
    for i in range(5):
        make_ticket(world.org, aino, f"Asia {i}")
    few = _count(client, "/portal/tre/")
    for i in range(25):
        make_ticket(world.org, aino, f"Lisää {i}", channel="web_form")
    many = _count(client, "/portal/tre/")
    assert few == many, (few, many)
    assert many <= 5


def test_query_count_of_a_ticket_page_does_not_grow_with_messages(world, aino) -> None:
    ticket = make_ticket(world.org, aino, "Keskustelu")
    client = portal_client(world.org)
    path = f"/portal/tre/tickets/{ticket.number}/"
    few = _count(client, path)
    for i in range(10):
        A.add_message(actor=world.agent, ticket=ticket, kind="reply", body=f"Vastaus {i}",
                      attachments=[AttachmentInput(f"v{i}.txt", b"x", "text/plain")])
    assert _count(client, path) == few


def test_ticket_page_shows_the_public_conversation_only(world, aino) -> None:
    ticket = make_ticket(world.org, aino, "Tulostin",
                         attachments=[AttachmentInput("kuva.png", b"\x89PNG\r\n", "image/png")])
    A.add_message(actor=world.agent, ticket=ticket, kind="note", body="SALAINEN muistiinpano",
                  attachments=[AttachmentInput("sisainen.txt", b"x", "text/plain")])
    A.add_message(actor=world.agent, ticket=ticket, kind="event", body="JÄRJESTELMÄTAPAHTUMA")
    A.add_message(actor=world.agent, ticket=ticket, kind="reply", body="Korjaamme sen.",
                  attachments=[AttachmentInput("ohje.pdf", b"%PDF-1.4", "application/pdf")])
    A.update_ticket(actor=world.agent, ticket=Ticket.objects.get(pk=ticket.pk),
                    changes={"title": "Tulostin (muutettu)"})
    response = portal_client(world.org).get(f"/portal/tre/tickets/{ticket.number}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Katuvalo on rikki" in html and "Korjaamme sen." in html
    assert "SALAINEN" not in html and "JÄRJESTELMÄTAPAHTUMA" not in html
    assert "sisainen.txt" not in html
    assert "kuva.png" in html and "ohje.pdf" in html
    assert "In progress" in html  # the reply opened it
    for att in Attachment.objects.filter(filename__in=["kuva.png", "ohje.pdf"]):
        assert f"/portal/tre/attachments/{att.pk}/" in html


def test_attachments_download_only_the_customers_public_files(world, aino, bertil) -> None:
    ticket = make_ticket(world.org, aino, "Liitteet",
                         attachments=[AttachmentInput("kuva.png", b"\x89PNG\r\nA", "image/png")])
    note = A.add_message(actor=world.agent, ticket=ticket, kind="note", body="Sisäinen",
                         attachments=[AttachmentInput("sisainen.txt", b"salaista", "text/plain")])
    theirs = make_ticket(world.org, bertil, "Bertilin",
                         attachments=[AttachmentInput("b.png", b"\x89PNG\r\nB", "image/png")])
    own = Attachment.objects.get(filename="kuva.png")
    client = portal_client(world.org)
    response = client.get(f"/portal/tre/attachments/{own.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\x89PNG\r\nA"  # type: ignore[attr-defined]
    assert response["Content-Disposition"].startswith("attachment")
    assert "no-store" in response["Cache-Control"]
    hidden = note.attachments.get()
    other = Attachment.objects.get(ticket=theirs)
    answers = [client.get(f"/portal/tre/attachments/{pk}/") for pk in (hidden.pk, other.pk,
                                                                       999999)]
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert main(answers[0]) == main(answers[1]) == main(answers[2])
    assert portal_client(world.other_org).get(
        f"/portal/oulu/attachments/{own.pk}/").status_code == 404
    assert portal_client(world.org, OTHER_EMAIL).get(
        f"/portal/tre/attachments/{own.pk}/").status_code == 404


def test_other_peoples_tickets_are_the_same_404(world, aino, bertil) -> None:
    theirs = make_ticket(world.org, bertil, "Bertilin asia")
    other_customer = make_customer(world.other_org)
    elsewhere = make_ticket(world.other_org, other_customer, "Oulun asia")
    client = portal_client(world.org)
    answers = [client.get(f"/portal/tre/tickets/{n}/") for n in (
        theirs.number, elsewhere.number, "TRE-2026-999999", "x" * 200)]
    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert len({main(a) for a in answers}) == 1
    assert b"Bertil" not in answers[0].content
    # and nothing can be written into them
    for path in ("reply", "close", "rate", "reopen"):
        response = client.post(f"/portal/tre/tickets/{theirs.number}/{path}/",
                               {"body": "Hei", "reason": "Hei", "score": "5"})
        assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.message_count == 1 and theirs.status == Status.NEW
    # a portal session of Oulu opens nothing of Tampere, even with Tampere's slug
    assert portal_client(world.other_org).get("/portal/tre/").status_code == 302


def test_pages_need_a_portal_session(world, aino) -> None:
    ticket = make_ticket(world.org, aino)
    from django.test import Client

    staff = Client()
    staff.force_login(world.org_admin)  # a staff login is no portal session
    for client in (Client(), staff):
        for path in ("/portal/tre/", f"/portal/tre/tickets/{ticket.number}/",
                     "/portal/tre/attachments/1/"):
            response = client.get(path)
            assert response.status_code == 302
            assert response["Location"].startswith("/portal/tre/login/?next=%2Fportal%2Ftre%2F")
        response = client.post(f"/portal/tre/tickets/{ticket.number}/reply/", {"body": "x"})
        assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.message_count == 1


def test_contact_removed_means_no_more_tickets(world, aino) -> None:
    ticket = make_ticket(world.org, aino)
    client = portal_client(world.org)
    assert ticket.number in client.get("/portal/tre/").content.decode()
    CustomerContact.objects.filter(customer=aino).delete()
    assert ticket.number not in client.get("/portal/tre/").content.decode()
    assert client.get(f"/portal/tre/tickets/{ticket.number}/").status_code == 404
