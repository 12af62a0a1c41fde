"""Service catalogue and public web forms: guided fields, validation in the customer's
language, spam protection, intranet login, delegated admin, nothing half-created."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from kapula.catalogue.models import FormSubmission, Service, ServiceField, Visibility
from kapula.core.models import Role
from kapula.intake.mail.models import OutboundEmail
from kapula.tickets.models import Attachment, Ticket
from tests.conftest import make_user
from tests.mail.test_ingest import deliver_events

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\nIDATx\x9cc\x00\x01\x00\x00\x05\x00\x01\r\n-\xb4\x00"
       b"\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def services(world, settings):
    settings.KAPULA_WEBFORM_MIN_SECONDS = 0
    # the per-address rate limit would count across tests (only our keys: with Redis the
    # other test process shares the server)
    cache.delete_many(["kapula:webform:ip:127.0.0.1", "kapula:webform:email:sven@example.se"])
    fault = Service.objects.create(
        organisation=world.org, unit=world.unit, code="katuvalo", name_fi="Katuvalovika",
        name_sv="Fel på gatubelysning", name_en="Street light fault", team=world.service_point,
        category=world.category, ticket_type=world.incident, group="Kadut")
    ServiceField.objects.create(
        service=fault, code="vika", kind="choice", required=True, label_fi="Vian laatu",
        label_sv="Typ av fel", label_en="Kind of fault", urgent_values=["vaarallinen"],
        choices=[{"key": "pimea", "fi": "Valo ei pala", "sv": "Lampan lyser inte",
                  "en": "Light is out"},
                 {"key": "vaarallinen", "fi": "Pylväs kaatumassa", "sv": "Stolpen faller",
                  "en": "Pole falling"}])
    ServiceField.objects.create(service=fault, code="paikka", kind="location", required=True,
                                label_fi="Sijainti", label_sv="Plats", label_en="Location")
    ServiceField.objects.create(service=fault, code="kuva", kind="attachment",
                                label_fi="Valokuva", label_sv="Foto", label_en="Photo")
    password = Service.objects.create(
        organisation=world.org, unit=world.sub_unit, code="salasana", name_fi="Salasanan "
        "vaihto", visibility=Visibility.INTRANET, team=world.it_desk)
    ServiceField.objects.create(service=password, code="tunnus", kind="device",
                                required=True, label_fi="Käyttäjätunnus")
    return fault, password


def form_data(client: Client, url: str, **values: object) -> dict[str, object]:
    page = client.get(url)
    assert page.status_code == 200
    stamp = page.content.decode().split('name="stamp" value="', 1)[1].split('"', 1)[0]
    return {"stamp": stamp, **values}


def test_catalogue_lists_public_services_and_intranet_ones_for_staff(client, world, services):
    anonymous = client.get("/forms/tre/").content.decode()
    assert "Katuvalovika" in anonymous and "Salasanan vaihto" not in anonymous
    client.force_login(world.agent)
    assert "Salasanan vaihto" in client.get("/forms/tre/").content.decode()
    assert client.get("/forms/nosuch/").status_code == 404


def test_a_resident_reports_a_fault_in_swedish(client, world, services):
    client.cookies["django_language"] = "sv"
    url = "/forms/tre/katuvalo/"
    page = client.get(url).content.decode()
    assert "Typ av fel" in page and "Lampan lyser inte" in page
    data = form_data(client, url, description="Lampan vid busshållplatsen är släckt.",
                     vika="vaarallinen", location_address="Hämeenkatu 1, Tampere",
                     location_lat="61.4978", location_lon="23.7610", name="Sven",
                     email="sven@example.se",
                     kuva=SimpleUploadedFile("lampa.png", PNG, content_type="image/png"))
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:500]
    thanks = client.get(response["Location"]).content.decode()
    ticket = Ticket.objects.get(organisation=world.org)
    assert ticket.number in thanks
    assert ticket.channel == "web_form" and ticket.language == "sv"
    assert ticket.team == world.service_point and ticket.category == world.category
    assert ticket.urgency == "high"  # the urgent choice
    assert ticket.etrs_n is not None and ticket.address == "Hämeenkatu 1, Tampere"
    assert ticket.title.startswith("Fel på gatubelysning: Lampan")
    assert Attachment.objects.get(ticket=ticket).filename == "lampa.png"
    answers = FormSubmission.objects.get(ticket=ticket).answers
    assert [a["code"] for a in answers] == ["vika", "paikka", "kuva"]
    assert answers[0]["display"] == "Stolpen faller"
    assert "Typ av fel: Stolpen faller" in ticket.messages.get().body_text
    deliver_events()
    ack = OutboundEmail.objects.get(ticket=ticket)
    assert ack.language == "sv" and ack.to == ["sven@example.se"]
    # the agent sees the answers on the ticket page
    client.force_login(world.agent)
    page = client.get(reverse("desk:ticket", args=[ticket.pk])).content.decode()
    assert "Stolpen faller" in page


def test_missing_answers_are_explained_in_the_users_language(client, world, services):
    client.cookies["django_language"] = "en"
    url = "/forms/tre/katuvalo/"
    response = client.post(url, form_data(client, url, description="Broken"))
    assert response.status_code == 422
    page = response.content.decode()
    assert "This field is required." in page and 'href="#f-vika"' in page
    assert 'aria-invalid="true"' not in page or "e-vika" in page
    assert not Ticket.objects.exists()


def test_bad_choice_bad_location_and_forbidden_file_create_nothing(client, world, services):
    url = "/forms/tre/katuvalo/"
    bad_choice = client.post(url, form_data(client, url, description="x", vika="nope",
                                            location_address="Hämeenkatu 1"))
    assert bad_choice.status_code == 422
    far = client.post(url, form_data(client, url, description="x", vika="pimea",
                                     location_lat="48.85", location_lon="2.35"))
    with translation.override("fi"):
        outside = gettext("The location is outside the service area.")
    assert far.status_code == 422 and outside in far.content.decode()
    exe = client.post(url, form_data(
        client, url, description="x", vika="pimea", location_address="Hämeenkatu 1",
        kuva=SimpleUploadedFile("virus.exe", b"MZ...", content_type="application/pdf")))
    assert exe.status_code == 422
    assert not Ticket.objects.exists()



def test_attachment_fields_take_photos_and_pdfs_only(client, world, services, settings):
    client.cookies["django_language"] = "en"
    url = "/forms/tre/katuvalo/"
    ok = {"description": "x", "vika": "pimea", "location_address": "Hämeenkatu 1"}
    doc = client.post(url, form_data(client, url, **ok, kuva=SimpleUploadedFile(
        "muistio.docx", b"PK\x03\x04", content_type="application/vnd.openxmlformats-"
        "officedocument.wordprocessingml.document")))
    assert doc.status_code == 422
    assert "muistio.docx: only photos" in doc.content.decode()
    many = client.post(url, form_data(client, url, **ok, kuva=[
        SimpleUploadedFile(f"k{i}.png", b"\x89PNG\r\n", content_type="image/png")
        for i in range(6)]))
    assert many.status_code == 422 and "At most 5 files." in many.content.decode()
    settings.KAPULA_MAX_ATTACHMENT_BYTES = 100
    big = client.post(url, form_data(client, url, **ok, kuva=SimpleUploadedFile(
        "iso.png", b"\x89PNG" + b"0" * 5000, content_type="image/png")))
    assert big.status_code == 413 and "iso.png is too large" in big.content.decode()
    assert not Ticket.objects.exists()


def test_honeypot_and_time_trap(client, world, services, settings):
    url = "/forms/tre/katuvalo/"
    ok = {"description": "x", "vika": "pimea", "location_address": "Hämeenkatu 1"}
    assert client.post(url, form_data(client, url, website="http://spam", **ok)).status_code \
        == 400
    assert client.post(url, {"stamp": "forged:1", **ok}).status_code == 400
    settings.KAPULA_WEBFORM_MIN_SECONDS = 30
    assert client.post(url, form_data(client, url, **ok)).status_code == 400
    assert not Ticket.objects.exists()


def test_rate_limit_per_address(client, world, services, settings):
    settings.KAPULA_WEBFORM_RATE = "2/3600"
    url = "/forms/tre/katuvalo/"
    ok = {"description": "x", "vika": "pimea", "location_address": "Hämeenkatu 1"}
    codes = [client.post(url, form_data(client, url, **ok)).status_code for _ in range(3)]
    assert codes == [302, 302, 429]
    assert Ticket.objects.count() == 2


def test_intranet_form_needs_a_login_of_the_organisation(client, world, services):
    url = "/forms/tre/salasana/"
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(world.other_agent)
    assert client.get(url).status_code == 404
    client.force_login(world.outsider)
    response = client.post(url, form_data(client, url, tunnus="WS-1234",
                                          description="Salasana vanhentui"))
    assert response.status_code == 302
    assert Ticket.objects.get().team == world.it_desk


def test_thanks_page_needs_a_valid_token(client, world, services):
    assert client.get("/forms/tre/katuvalo/thanks/forged/").status_code == 404


def test_unit_admin_edits_only_own_units_services(client, world, services):
    admin_user = make_user("subadmin", world.org, Role.UNIT_ADMIN, admin_unit=world.sub_unit,
                           is_staff=True)
    client.force_login(admin_user)
    listing = client.get(reverse("admin:catalogue_service_changelist")).content.decode()
    assert "Salasanan vaihto" in listing and "Katuvalovika" not in listing
    fault, _password = services
    assert client.get(reverse("admin:catalogue_service_change",
                              args=[fault.pk])).status_code in (302, 404)
    response = client.post(reverse("admin:catalogue_service_add"), {
        "unit": world.unit.pk, "code": "x", "name_fi": "X", "visibility": "public",
        "impact": "medium", "urgency": "medium", "ordering": 0,
        "fields-TOTAL_FORMS": 0, "fields-INITIAL_FORMS": 0})
    assert response.status_code == 200  # another unit is not a valid choice
    assert not Service.objects.filter(code="x").exists()
    client.force_login(world.agent)
    assert client.get(reverse("admin:catalogue_service_changelist")).status_code == 302
