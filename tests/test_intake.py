"""The one intake path: new ticket vs. follow-up, customers, language, idempotency."""

from __future__ import annotations

from kapula.core.actions import CustomerIdentity
from kapula.core.models import Customer
from kapula.intake.actions import Intake, ThreadRefs, receive
from kapula.tickets import actions as A
from kapula.tickets.models import Status, Ticket, TicketLink


def intake(world, **kw) -> Intake:
    args = {"organisation": world.org, "channel": "email", "subject": "Lupa-asia",
            "body": "Hei, miten haen pysäköintilupaa?",
            "customer": CustomerIdentity(name="Maija Meikäläinen", email="maija@example.fi")}
    args.update(kw)
    return Intake(**args)


def test_new_ticket_and_customer(world):
    r = receive(intake(world, message_id="<1@mail>"))
    assert r.created and r.ticket.language == "fi" and r.ticket.channel == "email"
    assert r.ticket.customer.emails == ["maija@example.fi"]


def test_language_detected_sv_en_and_given(world):
    sv = receive(intake(world, subject="Parkeringstillstånd",
                        body="Hej, hur ansöker jag om parkeringstillstånd?")).ticket
    en = receive(intake(world, customer=CustomerIdentity(email="john@example.com"),
                        subject="Parking", body="Hello, how do I apply for a parking permit?"))
    given = receive(intake(world, customer=CustomerIdentity(), language="en")).ticket
    assert sv.language == "sv" and en.ticket.language == "en" and given.language == "en"


def test_redelivery_is_idempotent(world):
    first = receive(intake(world, message_id="<same@mail>"))
    again = receive(intake(world, message_id="<same@mail>"))
    assert again.duplicate and again.ticket.pk == first.ticket.pk
    assert Ticket.objects.count() == 1 and first.ticket.messages.count() == 1


def test_follow_up_by_message_reference(world):
    first = receive(intake(world, message_id="<a@mail>"))
    second = receive(intake(world, subject="Re: Lupa-asia", body="Lisätietoa.",
                            customer=CustomerIdentity(email="MAIJA@example.fi"),
                            message_id="<b@mail>", thread=ThreadRefs(message_ids=["<a@mail>"])))
    assert not second.created and second.ticket.pk == first.ticket.pk
    assert Customer.objects.count() == 1


def test_follow_up_by_number_in_subject(world):
    first = receive(intake(world))
    second = receive(intake(world, subject=f"Re: [{first.ticket.number}] Lupa-asia",
                            body="Kiitos!"))
    assert second.ticket.pk == first.ticket.pk and not second.created


def test_number_of_someone_else_does_not_thread(world):
    first = receive(intake(world))
    other = receive(intake(world, subject=f"{first.ticket.number}", body="Minun asiani",
                           customer=CustomerIdentity(email="other@example.fi")))
    assert other.created and other.ticket.pk != first.ticket.pk


def test_follow_up_to_closed_opens_linked_ticket(world):
    first = receive(intake(world)).ticket
    A.change_status(actor=None, ticket=first, status="closed")
    again = receive(intake(world, thread=ThreadRefs(ticket_number=first.number), body="Uudestaan"))
    assert again.created
    assert TicketLink.objects.filter(source=again.ticket, target=first).exists()


def test_follow_up_to_merged_lands_in_target(world):
    a = receive(intake(world)).ticket
    b = receive(intake(world, customer=CustomerIdentity(email="maija@example.fi"),
                       body="Toinen viesti")).ticket
    A.merge(actor=None, source=a, target=b)
    r = receive(intake(world, thread=ThreadRefs(ticket_number=a.number), body="Lisää"))
    assert r.ticket.pk == b.pk


def test_external_reference_threads(world):
    first = receive(intake(world, thread=ThreadRefs(external_refs=[("maint", "WO-77")])))
    again = receive(intake(world, body="Työ valmis", customer=CustomerIdentity(),
                           thread=ThreadRefs(external_refs=[("maint", "WO-77")])))
    assert again.ticket.pk == first.ticket.pk
    assert again.ticket.status == Status.NEW


def test_walk_in_recorded_by_agent(world):
    r = receive(intake(world, channel="walk_in", actor=world.agent, status="resolved",
                       first_contact_resolution=True,
                       customer=CustomerIdentity(name="Kalle", phone="040 123 4567")))
    t = r.ticket
    assert t.created_by == world.agent and t.status == Status.RESOLVED
    assert t.first_contact_resolution and t.customer.phones == ["040 123 4567"]


def test_number_without_customer_does_not_thread(world):
    """Ticket numbers are guessable: an anonymous contact quoting one opens its own ticket."""
    first = receive(intake(world)).ticket
    A.change_status(actor=None, ticket=first, status="resolved")
    anon = receive(intake(world, subject=f"About {first.number}", body="Hei",
                          customer=CustomerIdentity()))
    assert anon.created
    first.refresh_from_db()
    assert first.status == Status.RESOLVED and first.messages.count() == 1


def test_agent_cannot_write_into_invisible_ticket(world):
    it_ticket = receive(intake(world, team=world.it_desk,
                               customer=CustomerIdentity(email="it@example.fi"))).ticket
    r = receive(intake(world, channel="walk_in", actor=world.agent,
                       subject=f"Re: {it_ticket.number}", body="Asiakas kävi",
                       customer=CustomerIdentity(email="it@example.fi")))
    assert r.created and r.ticket.pk != it_ticket.pk
    assert it_ticket.messages.count() == 1


def test_closed_ticket_hands_external_reference_to_follow_up(world):
    refs = ThreadRefs(external_refs=[("maint", "42")])
    first = receive(intake(world, thread=refs)).ticket
    A.change_status(actor=None, ticket=first, status="closed")
    second = receive(intake(world, body="Työ jatkuu", thread=refs)).ticket
    third = receive(intake(world, body="Työ valmis", thread=refs))
    assert second.pk != first.pk and not third.created and third.ticket.pk == second.pk
    assert TicketLink.objects.filter(source=second, target=first).exists()
