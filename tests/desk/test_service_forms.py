"""The desk's "record a contact" on a catalogue service's form: the same fields as the
public form, the desk's own channel, customer and language, the service's defaults, errors
in the agent's language, and nothing offered from another organisation or off the desk."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kapula.catalogue.models import FormSubmission, Service, ServiceField
from kapula.core.models import Customer
from kapula.tickets.models import Attachment, HistoryEntry, Ticket
from tests.desk.conftest import logged_in, make_ticket
from tests.test_webform import PNG, services  # noqa: F401  (fixture)

URL = "/tickets/new/"


@pytest.fixture
def desk_services(world, services):  # noqa: F811
    hidden = Service.objects.create(organisation=world.org, code="vain-verkko",
                                    name_fi="Vain verkossa", on_desk=False)
    foreign = Service.objects.create(organisation=world.other_org, code="oulu-palaute",
                                     name_fi="Oulun palaute")
    ServiceField.objects.create(service=foreign, code="x", kind="text", label_fi="X")
    return (*services, hidden, foreign)


def post_data(**values: object) -> dict[str, object]:
    return {"service": "katuvalo", "desk-channel": "phone", "desk-language": "sv",
            "desk-customer_name": "Sven Svensson", "desk-customer_phone": "040 765 4321",
            **values}


def test_the_picker_offers_the_desk_services_of_the_own_organisation(world, desk_services):
    page = logged_in(world.agent).get(URL).content.decode()
    assert 'name="service"' in page and 'value="katuvalo"' in page
    assert 'value="salasana"' in page  # intranet services are recorded by staff too
    assert 'value="vain-verkko"' not in page and 'value="oulu-palaute"' not in page
    assert 'name="body"' in page  # the free-form ticket stays the default


def test_choosing_a_service_shows_its_fields(world, desk_services):
    client = logged_in(world.agent)
    response = client.get(URL, {"service": "katuvalo"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Kind of fault" in page and "Light is out" in page  # the agent's language
    assert 'name="vika"' in page and 'name="location_address"' in page
    assert 'name="kuva"' in page and 'type="file"' in page
    assert 'name="desk-channel"' in page and 'value="walk_in"' in page
    assert 'name="desk-language"' in page and 'name="service" value="katuvalo"' in page
    assert 'name="body"' not in page
    # another organisation's service, one not offered on the desk, an unknown code
    for code in ("oulu-palaute", "vain-verkko", "nosuch"):
        assert client.get(URL, {"service": code}).status_code == 404, code
    assert client.post(URL, post_data(service="oulu-palaute", x="a")).status_code == 404
    assert not Ticket.objects.exists()


def test_recording_a_phone_call_on_a_service_form(world, desk_services):
    client = logged_in(world.agent)
    response = client.post(URL, post_data(
        description="Lampan vid hållplatsen lyser inte.", vika="vaarallinen",
        location_address="Hämeenkatu 1, Tampere",
        kuva=SimpleUploadedFile("lampa.png", PNG, content_type="image/png")))
    assert response.status_code == 302, response.content.decode()[:600]
    ticket = Ticket.objects.get()
    assert response["Location"] == reverse("desk:ticket", args=[ticket.pk])
    assert ticket.channel == "phone" and ticket.language == "sv"
    assert ticket.team == world.service_point and ticket.category == world.category
    assert ticket.ticket_type == world.incident and ticket.urgency == "high"
    assert ticket.created_by == world.agent
    assert ticket.title.startswith("Fel på gatubelysning: Lampan")
    assert ticket.customer is not None and ticket.customer.name == "Sven Svensson"
    assert ticket.customer.phones == ["040 765 4321"]
    assert Attachment.objects.get(ticket=ticket).filename == "lampa.png"
    submission = FormSubmission.objects.get(ticket=ticket)
    assert submission.channel == "phone" and submission.language == "sv"
    assert [a["code"] for a in submission.answers] == ["vika", "paikka", "kuva"]
    assert submission.answers[0]["label"] == "Typ av fel"  # the customer's language
    assert HistoryEntry.objects.filter(ticket=ticket, actor=world.agent).exists()
    page = client.get(response["Location"]).content.decode()
    assert ticket.number in page and "Stolpen faller" in page


def test_an_existing_customer_is_linked_by_id(world, desk_services):
    existing = make_ticket(world).customer
    client = logged_in(world.agent)
    response = client.post(URL, post_data(
        **{"desk-customer_name": "", "desk-customer_phone": "", "desk-channel": "walk_in"},
        customer_id=existing.pk, description="Kävi kertomassa", vika="pimea",
        location_address="Hämeenkatu 2"))
    assert response.status_code == 302
    ticket = Ticket.objects.get(channel="walk_in")
    assert ticket.customer == existing and Customer.objects.count() == 1
    # someone else's customer id is refused, nothing written
    other = make_ticket(world).customer
    Customer.objects.filter(pk=other.pk).update(organisation=world.other_org)
    refused = client.post(URL, post_data(customer_id=other.pk, description="x", vika="pimea",
                                         location_address="Hämeenkatu 2"))
    assert refused.status_code == 422
    assert Ticket.objects.filter(channel="phone").count() == 0


def test_errors_are_shown_in_the_agents_language_with_values_kept(world, desk_services):
    client = logged_in(world.agent)
    response = client.post(URL, post_data(description="Lampan är släckt", vika="nope",
                                          location_address="Hämeenkatu 3"),
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    page = response.content.decode()
    assert "Choose from the given options." in page  # English, though the customer's is sv
    assert 'role="alert"' in page and 'href="#f-vika"' in page
    assert "Lampan är släckt" in page and 'value="Hämeenkatu 3"' in page
    assert 'value="Sven Svensson"' in page and 'value="phone" ' in page
    missing = client.post(URL, post_data(description="", **{"desk-language": "fi"}),
                          HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "This field is required." in missing
    bad_desk = client.post(URL, post_data(**{"desk-channel": "email",
                                             "desk-customer_email": "not-an-email"},
                                          description="x", vika="pimea",
                                          location_address="Hämeenkatu 3"),
                           HTTP_ACCEPT_LANGUAGE="en")
    assert bad_desk.status_code == 422
    assert "Select a valid choice" in bad_desk.content.decode()
    far = client.post(URL, post_data(description="x", vika="pimea", location_lat="48.85",
                                     location_lon="2.35"), HTTP_ACCEPT_LANGUAGE="en")
    assert far.status_code == 422 and 'id="e-paikka"' in far.content.decode()
    assert not Ticket.objects.exists() and not Customer.objects.exists()


def test_a_required_email_error_lands_on_the_desk_email_field(world, desk_services):
    Service.objects.filter(code="katuvalo").update(require_email=True)
    response = logged_in(world.agent).post(URL, post_data(
        description="x", vika="pimea", location_address="Hämeenkatu 3"),
        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="id_desk-customer_email_error"' in page
    assert "This service needs your email address" in page


def test_no_js_customer_search_keeps_the_service_and_answers(world, desk_services):
    make_ticket(world, email="maija@example.fi")
    Customer.objects.update(name="Maija Meikäläinen")
    page = logged_in(world.agent).get(URL, {
        "service": "katuvalo", "customer_q": "maija", "desk-channel": "phone",
        "vika": "pimea", "description": "Soitti"}).content.decode()
    assert "Maija Meik" in page and 'name="customer_id"' in page
    assert 'value="phone" checked' in page or 'value="phone" id' in page
    assert "Soitti" in page and 'value="pimea" checked' in page


def test_page_query_count_does_not_grow_with_services_or_fields(world, desk_services,
                                                                 django_assert_max_num_queries):
    client = logged_in(world.agent)
    client.get(URL, {"service": "katuvalo"})  # warm up: session, configuration caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL, {"service": "katuvalo"}).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    fault = Service.objects.get(code="katuvalo")
    for i in range(10):
        Service.objects.create(organisation=world.org, code=f"s{i}", name_fi=f"Palvelu {i}")
        ServiceField.objects.create(service=fault, code=f"c{i}", kind="choice",
                                    label_fi=f"K{i}", choices=[{"key": "a", "fi": "A"}])
    assert count() == few
    with django_assert_max_num_queries(8):
        client.get(URL, {"service": "katuvalo"})


def test_assigned_to_me_and_resolved_at_first_contact(world, desk_services):
    client = logged_in(world.agent)
    page = client.get(URL, {"service": "katuvalo"}).content.decode()
    # the agent is in the service's team: "assign to me" starts ticked
    assert 'name="desk-assign_to_me" id="id_desk-assign_to_me" checked' in page
    response = client.post(URL, post_data(
        description="Kysyi valosta; kerrottu että korjaus on tilattu.", vika="pimea",
        location_address="Hämeenkatu 4", **{"desk-assign_to_me": "on",
                                             "desk-resolved": "on"}))
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.assignee == world.agent and ticket.status == "resolved"
    assert ticket.first_contact_resolution
    # the password service's tickets go to the IT desk, which the agent is not in
    page = client.get(URL, {"service": "salasana"}).content.decode()
    assert 'name="desk-assign_to_me" id="id_desk-assign_to_me" checked' not in page
    refused = client.post(URL, {"service": "salasana", "desk-channel": "phone",
                                "desk-language": "fi", "tunnus": "WS-1",
                                "desk-assign_to_me": "on"}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 422
    assert 'id="id_desk-assign_to_me_error"' in refused.content.decode()
    assert Ticket.objects.count() == 1
