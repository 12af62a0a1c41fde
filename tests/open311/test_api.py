"""The Open311 GeoReport v2 API over real HTTP (the live server and urllib), as a mobile app
or a map service uses it: discovery, services, service definitions, posting requests with
attributes, a location and a photo, reading them back in JSON and XML, filters and pages,
the Helsinki extensions, errors in the spec's format, limits, CORS and nothing half-made."""

# ruff: noqa: S314  (the XML parsed here is our own server's answer)
from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from kapula.catalogue.actions import Submission, submit
from kapula.catalogue.models import FormSubmission
from kapula.core.actions import CustomerIdentity
from kapula.core.errors import ValidationFailed
from kapula.intake.actions import Intake, receive
from kapula.intake.open311.models import Open311Client, Open311Request
from kapula.tickets import actions as A
from kapula.tickets.actions import Location
from kapula.tickets.attachments import AttachmentInput
from kapula.tickets.models import Attachment, Ticket
from tests.open311.conftest import PNG, validate

pytestmark = pytest.mark.django_db(transaction=True)

J = "jurisdiction_id=tre"


def fault(o311, **extra):
    data = {"api_key": o311.key, "jurisdiction_id": "tre", "service_code": "katuvalo",
            "lat": "61.4978", "long": "23.7610", "description": "Valo ei pala pysäkillä.",
            "attribute[vika]": "pimea"}
    data.update(extra)
    return data


def counts():
    return (Ticket.objects.count(), FormSubmission.objects.count(),
            Open311Request.objects.count(), Attachment.objects.count())


def test_discovery_and_services_in_json_and_xml(http, o311):
    answer = http.get("discovery.json")
    assert answer.status == 200 and answer.headers["Content-Type"].startswith(
        "application/json")
    validate("discovery", answer.json())
    assert answer.json()["endpoints"][0]["url"].endswith("/open311/v2/")
    root = ET.fromstring(http.get("discovery.xml").body)
    assert root.tag == "discovery" and root.find("endpoints/endpoint/formats/format") is not None

    services = http.get(f"services.json?{J}").json()
    validate("services", services)
    assert [s["service_code"] for s in services] == ["katuvalo", "palaute"]  # listed only
    first = services[0]
    assert first == {"service_code": "katuvalo", "service_name": "Katuvalovika",
                     "description": "Ilmoita viasta.", "metadata": True, "type": "realtime",
                     "keywords": "valo,katu", "group": "Kadut"}
    assert services[1]["metadata"] is False  # no questions
    english = http.get(f"services.json?{J}&locale=en").json()
    assert english[0]["service_name"] == "Street light fault"
    assert english[0]["description"] == "Report a fault."
    swedish = http.get(f"services.xml?{J}&locale=sv")
    assert swedish.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(swedish.body)
    assert root.tag == "services"
    assert [s.findtext("service_name") for s in root.findall("service")] == [
        "Fel på gatubelysning", "Respons"]
    assert root.find("service/metadata").text == "true"


def test_service_definition(http, o311):
    answer = http.get(f"services/katuvalo.json?{J}&locale=en")
    assert answer.status == 200
    definition = answer.json()
    validate("service_definition", definition)
    attrs = {a["code"]: a for a in definition["attributes"]}
    assert "paikka" not in attrs and "kuva" not in attrs  # location and photo are not asked
    assert {c: a["datatype"] for c, a in attrs.items()} == {
        "vika": "singlevaluelist", "pvm": "datetime", "lisat": "text", "maara": "number",
        "toistuu": "singlevaluelist", "ajat": "multivaluelist", "pylvas": "string"}
    vika = attrs["vika"]
    assert vika["variable"] is True and vika["required"] is True
    assert vika["description"] == "Kind of fault"
    assert vika["datatype_description"] == "Help for Kind of fault"
    assert vika["values"] == [{"key": "pimea", "name": "Light is out"},
                              {"key": "vaarallinen", "name": "Pole falling"}]
    assert attrs["toistuu"]["values"] == [{"key": "yes", "name": "Yes"},
                                          {"key": "no", "name": "No"}]
    assert [a["order"] for a in definition["attributes"]] == sorted(
        a["order"] for a in definition["attributes"])
    root = ET.fromstring(http.get(f"services/katuvalo.xml?{J}&locale=fi").body)
    assert root.tag == "service_definition" and root.findtext("service_code") == "katuvalo"
    first = root.find("attributes/attribute")
    assert first.findtext("description") == "Vian laatu"
    assert [v.findtext("key") for v in first.findall("values/value")] == ["pimea",
                                                                          "vaarallinen"]
    for path in ("services/salasana.json", "services/verkko.json", "services/nosuch.json"):
        missing = http.get(f"{path}?{J}")
        assert missing.status == 404
        validate("errors", missing.json())
    xml = http.get(f"services/nosuch.xml?{J}")
    assert xml.status == 404
    root = ET.fromstring(xml.body)
    assert root.tag == "errors" and root.findtext("error/code") == "404"


def test_jurisdiction_locale_and_format_errors(http, o311):
    assert http.get("services.json?jurisdiction_id=nosuch&locale=en").json()[0][
        "description"] == "Unknown jurisdiction_id."
    missing = http.get("services.json")  # two organisations list services
    assert missing.status == 400 and "jurisdiction_id" in missing.json()[0]["description"]
    assert http.get("services.json?jurisdiction_id=nosuch").status == 404
    bad_locale = http.get(f"services.json?{J}&locale=de")
    assert bad_locale.status == 400
    validate("errors", bad_locale.json())
    assert http.get(f"services.yaml?{J}").status == 404
    assert http.get("nothing/here.json").json()[0]["code"] == 404
    o311.other.delete()  # now one organisation lists services: it is the default
    assert [s["service_code"] for s in http.get("services.json").json()] == ["katuvalo",
                                                                          "palaute"]
    o311.world.org.default_language = "sv"
    o311.world.org.save()
    assert http.get("services.json").json()[0]["service_name"] == "Fel på gatubelysning"


def test_a_mobile_app_posts_a_request_and_reads_it_back(http, o311):
    data = fault(o311, locale="sv", email="sven@example.se", first_name="Sven",
                 last_name="Svensson", phone="040 123 4567", device_id="device-1",
                 account_id="acct-9", media_url="https://img.example/lampa.jpg",
                 address_string="Hämeenkatu 1, Tampere", address_id="addr-77",
                 description="Lampan vid hållplatsen är släckt.")
    data.update({"attribute[pvm]": "2026-11-20T18:00:00+02:00", "attribute[maara]": "2",
                 "attribute[toistuu]": "yes", "attribute[pylvas]": "P-123",
                 "attribute[nosuch]": "ignored"})
    form = [*data.items(), ("attribute[ajat][]", "aamu"), ("attribute[ajat][]", "ilta")]
    answer = http.post("requests.json", form)
    assert answer.status == 200, answer.text
    body = answer.json()
    validate("post_response", body)
    number = body[0]["service_request_id"]
    assert body[0]["account_id"] == "acct-9" and body[0]["token"]
    ticket = Ticket.objects.get(number=number)
    assert ticket.channel == "mobile_app" and ticket.language == "sv"
    assert ticket.latitude == pytest.approx(61.4978) and ticket.etrs_n is not None
    assert ticket.address == "Hämeenkatu 1, Tampere" and ticket.team == o311.world.service_point
    assert ticket.customer is not None and ticket.customer.name == "Sven Svensson"
    answers = {a["code"]: a["value"] for a in ticket.submission.answers}
    assert answers["vika"] == "pimea" and answers["ajat"] == ["aamu", "ilta"]
    assert answers["pvm"] == "2026-11-20" and answers["maara"] == "2"
    assert answers["toistuu"] == "yes" and answers["pylvas"] == "P-123"
    meta = Open311Request.objects.get(ticket=ticket)
    assert (meta.client_id, meta.device_id, meta.account_id, meta.address_id, meta.media_url) == (
        o311.client.pk, "device-1", "acct-9", "addr-77", "https://img.example/lampa.jpg")
    assert Open311Client.objects.get(pk=o311.client.pk).last_used_at is not None

    record = http.get(f"requests/{number}.json?{J}&locale=en")
    assert record.status == 200
    rows = record.json()
    validate("requests", rows)
    row = rows[0]
    assert row["service_request_id"] == number and row["status"] == "open"
    assert row["service_code"] == "katuvalo" and row["service_name"] == "Street light fault"
    assert row["description"] == "Lampan vid hållplatsen är släckt."  # answers not published
    assert row["agency_responsible"] == "Service point"
    assert row["address"] == "Hämeenkatu 1, Tampere" and row["address_id"] == "addr-77"
    assert row["lat"] == pytest.approx(61.4978) and row["long"] == pytest.approx(23.761)
    assert row["media_url"] == "https://img.example/lampa.jpg"
    assert row["requested_datetime"].endswith(("+02:00", "+03:00"))
    assert row["zipcode"] is None and row["expected_datetime"] is None
    assert "extended_attributes" not in row
    for secret in ("Sven", "sven@example.se", "4567"):
        assert secret not in str(rows)
    xml = http.get(f"requests/{number}.xml?{J}")
    root = ET.fromstring(xml.body)
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == number
    assert root.findtext("request/status") == "open"

    token = http.get(f"tokens/{body[0]['token']}.json")
    assert token.status == 200 and token.json()[0]["service_request_id"] == number
    assert ET.fromstring(http.get(f"tokens/{body[0]['token']}.xml").body).findtext(
        "request/service_request_id") == number
    forged = body[0]["token"][:-3] + "abc"
    assert http.get(f"tokens/{forged}.json").status == 404
    assert http.get(f"tokens/{body[0]['token']}.json?jurisdiction_id=oulu").status == 404
    assert http.get(f"requests/{number}.json?jurisdiction_id=oulu").status == 404
    assert http.get(f"requests/TRE-2026-999999.json?{J}").status == 404

    xml_post = http.post("requests.xml", fault(o311))
    assert xml_post.status == 200
    root = ET.fromstring(xml_post.body)
    assert root.findtext("request/service_request_id").startswith("TRE-")


def test_post_to_a_service_without_a_location_field(http, o311):
    answer = http.post("requests.json", {
        "api_key": o311.key, "service_code": "palaute", "address_string": "Kirjasto",
        "description": "Kiitos hyvästä palvelusta!"})  # no jurisdiction: the key's
    assert answer.status == 200, answer.text
    ticket = Ticket.objects.get(number=answer.json()[0]["service_request_id"])
    assert ticket.address == "Kirjasto" and ticket.team == o311.world.it_desk
    assert ticket.language == "fi"


@pytest.mark.parametrize("case", [
    "no_key", "bad_key", "inactive", "other_org", "no_service", "unknown_service",
    "intranet_service", "no_location", "half_location", "bad_lat", "required",
    "two_problems", "long_description", "outside_finland", "bad_choice", "bad_email",
    "bad_media_url", "media_type", "media_size", "bad_locale",
])
def test_bad_posts_answer_4xx_and_create_nothing(http, o311, settings, case):
    settings.KAPULA_MAX_ATTACHMENT_BYTES = 1000
    data = fault(o311, locale="en")
    files = None
    expect, words = 400, ""
    if case == "no_key":
        del data["api_key"]
        expect = 403
    elif case == "bad_key":
        data["api_key"] = "o311_wrong"
        expect = 403
    elif case == "inactive":
        Open311Client.objects.filter(pk=o311.client.pk).update(is_active=False)
        expect = 403
    elif case == "other_org":
        data["api_key"] = o311.other_key
        expect = 403
    elif case == "no_service":
        del data["service_code"]
        words = "service_code"
    elif case == "unknown_service":
        data["service_code"] = "nosuch"
        expect = 404
    elif case == "intranet_service":
        data["service_code"] = "salasana"
        expect = 404
    elif case == "no_location":
        del data["lat"], data["long"]
        words = "location"
    elif case == "half_location":
        del data["long"]
        words = "long"
    elif case == "bad_lat":
        data["lat"] = "north"
        words = "lat"
    elif case == "required":
        del data["attribute[vika]"]
        words = "attribute[vika]"
    elif case == "two_problems":
        del data["attribute[vika]"]
        data["attribute[maara]"] = "many"
    elif case == "long_description":
        data["description"] = "x" * 4001
        words = "description"
    elif case == "outside_finland":
        data.update(lat="52.52", long="13.40", locale="en")  # Berlin
        words = "outside"
    elif case == "bad_choice":
        data["attribute[vika]"] = "purple"
        words = "attribute[vika]"
    elif case == "bad_email":
        data["email"] = "not an address"
        words = "email"
    elif case == "bad_media_url":
        data["media_url"] = "javascript:alert(1)"
        words = "media_url"
    elif case == "media_type":
        files = {"media": ("kuva.exe", b"MZ\x90\x00", "application/octet-stream")}
        words = "image"
    elif case == "media_size":
        files = {"media": ("kuva.png", PNG + b"\x00" * 2000, "image/png")}
        words = "large"
    elif case == "bad_locale":
        data["locale"] = "xx"
        words = "locale"
    before = counts()
    answer = http.post("requests.json", data, files=files) if files else \
        http.post("requests.json", data)
    assert answer.status == expect, answer.text
    problems = answer.json()
    validate("errors", problems)
    assert all(p["code"] == expect for p in problems)
    assert words in answer.text
    if case == "two_problems":
        assert len(problems) == 2
        assert {p["description"].split(":")[0] for p in problems} == {
            "attribute[vika]", "attribute[maara]"}
    assert counts() == before


def test_errors_in_xml_and_the_location_message_in_the_locale(http, o311):
    with pytest.raises(ValidationFailed) as direct:  # what the ticket action says in Finnish
        submit(Submission(service=o311.fault, channel="mobile_app", language="fi",
                          description="Berliini", values={"vika": "pimea"},
                          location=Location(latitude=52.52, longitude=13.40)))
    before = counts()
    answer = http.post("requests.xml", fault(o311, lat="52.52", long="13.40", locale="fi"))
    assert answer.status == 400
    root = ET.fromstring(answer.body)
    assert root.tag == "errors" and root.findtext("error/code") == "400"
    assert root.findtext("error/description") == f"lat/long: {direct.value.message}"
    assert counts() == before


def test_media_upload_and_public_images(http, o311):
    answer = http.post("requests.json", fault(o311), files={
        "media": ("lamppu.png", PNG, "image/png")})
    assert answer.status == 200, answer.text
    number = answer.json()[0]["service_request_id"]
    ticket = Ticket.objects.get(number=number)
    image = Attachment.objects.get(ticket=ticket)
    assert image.filename == "lamppu.png" and image.content_type == "image/png"
    rows = http.get(f"requests/{number}.json?{J}&extensions=true").json()
    validate("requests", rows)
    url = rows[0]["media_url"]
    assert url.endswith(f"/open311/v2/media/{image.pk}")
    assert rows[0]["extended_attributes"]["media_urls"] == [url]
    picture = http.get(url)
    assert picture.status == 200 and picture.body == PNG
    assert picture.headers["Content-Type"] == "image/png"
    assert picture.headers["X-Content-Type-Options"] == "nosniff"
    # an agent's image in an internal note, and an image of an email ticket: not public
    note = A.add_message(actor=o311.world.org_admin, ticket=ticket, kind="note", body="Kuva",
                         attachments=[AttachmentInput("sisainen.png", PNG, "image/png")])
    mail = receive(Intake(organisation=o311.world.org, channel="email", subject="Kuva",
                          body="Liitteenä kuva.", attachments=[
                              AttachmentInput("posti.png", PNG, "image/png")],
                          customer=CustomerIdentity(email="a@example.fi")))
    for hidden in (note.attachments.get(), Attachment.objects.get(ticket=mail.ticket)):
        assert http.get(f"media/{hidden.pk}").status == 404
    assert http.get("media/999999").status == 404
    o311.fault.on_mobile = False  # no longer listed: its images are no longer public
    o311.fault.save()
    assert http.get(url).status == 404


def _open(o311, when: dt.datetime | None = None, service=None, status: str = "") -> Ticket:
    result = submit(Submission(
        service=service or o311.fault, channel="mobile_app", language="fi",
        description="Katuvalo pimeänä", values={"vika": "pimea"},
        location=Location(latitude=61.5, longitude=23.76)))
    ticket = result.ticket
    if status:
        A.change_status(actor=None, ticket=ticket, status=status)
    if when is not None:
        Ticket.objects.filter(pk=ticket.pk).update(created_at=when)
        FormSubmission.objects.filter(ticket=ticket).update(created_at=when)
    return ticket


def test_filters_windows_and_pages(http, o311):
    now = timezone.now()
    old = _open(o311, now - dt.timedelta(days=120))
    closed = _open(o311, now - dt.timedelta(days=10), status="resolved")
    recent = [_open(o311, now - dt.timedelta(days=i)) for i in (3, 2, 1)]
    other_service = _open(o311, now - dt.timedelta(hours=5), service=o311.feedback)

    def numbers(query: str) -> list[str]:
        answer = http.get(f"requests.json?{J}&{query}")
        assert answer.status == 200, answer.text
        validate("requests", answer.json())
        return [r["service_request_id"] for r in answer.json()]

    newest_first = [other_service.number, *[t.number for t in reversed(recent)], closed.number]
    assert numbers("") == newest_first  # the default 90 days leave the old one out
    assert numbers("status=open") == newest_first[:-1]
    assert numbers("status=closed") == [closed.number]
    assert numbers("status=open,closed") == newest_first
    assert numbers("service_code=palaute") == [other_service.number]
    assert numbers("service_code=katuvalo,palaute") == newest_first
    start = (now - dt.timedelta(days=200)).isoformat()
    assert numbers(f"start_date={start.replace('+', '%2B')}")[-1] == old.number
    # a bare date is a day in Finnish time
    day = (now - dt.timedelta(days=120)).astimezone(ZoneInfo("Europe/Helsinki")).date().isoformat()
    assert old.number in numbers(f"start_date={day}&end_date={day}")
    end = (now - dt.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert numbers(f"end_date={end}") == [closed.number]
    # service_request_id overrides every other filter
    assert numbers(f"service_request_id={old.number},{recent[0].number}&status=closed") == [
        recent[0].number, old.number]
    assert numbers("page_size=2") == newest_first[:2]
    assert numbers("page_size=2&page=2") == newest_first[2:4]
    assert numbers("page_size=2&page=9") == []
    assert ET.fromstring(http.get(f"requests.xml?{J}&page_size=1").body).findtext(
        "request/service_request_id") == newest_first[0]
    for bad in ("start_date=yesterday", "end_date=2026-13-01", "status=pending",
                "page=0", "page_size=1001", "page=x", "service_request_id=%3Cscript%3E",
                f"start_date={now.date()}&end_date={(now - dt.timedelta(days=3)).date()}"):
        answer = http.get(f"requests.json?{J}&{bad}")
        assert answer.status == 400, (bad, answer.text)
        validate("errors", answer.json())


def test_extensions_history_and_status_notes(http, o311, settings):
    ticket = _open(o311)
    A.add_message(actor=o311.world.org_admin, ticket=ticket, kind="reply",
                  body="Korjaus on tilattu.")
    A.add_message(actor=o311.world.org_admin, ticket=ticket, kind="note",
                  body="Sisäinen muistiinpano")
    A.change_status(actor=None, ticket=Ticket.objects.get(pk=ticket.pk), status="resolved")
    rows = http.get(f"requests.json?{J}&extensions=true&locale=en").json()
    validate("requests", rows)
    row = rows[0]
    assert row["status"] == "closed" and row["status_notes"] == "Korjaus on tilattu."
    ext = row["extended_attributes"]
    assert ext["title"].startswith("Katuvalovika")
    assert ext["detailed_status"] == "done"
    assert ext["geometry"] == {"type": "Point", "coordinates": [23.76, 61.5]}
    steps = [h["status"] for h in ext["request_history"]]
    assert steps[0] == "received" and steps[-1] == "done" and len(steps) >= 2
    assert "Sisäinen" not in str(http.get(f"requests.json?{J}&extensions=true").json())
    fresh = _open(o311)
    rows = http.get(f"requests/{fresh.number}.xml?{J}&extensions=true")
    root = ET.fromstring(rows.body)
    assert root.findtext("request/extended_attributes/detailed_status") == "received"
    assert root.findtext("request/extended_attributes/geometry/type") == "Point"
    assert len(root.findall("request/extended_attributes/geometry/coordinates/coordinate")) == 2


def test_tickets_that_are_not_published_never_show(http, o311):
    mail = receive(Intake(organisation=o311.world.org, channel="email", subject="Katuvalo",
                          body="Valo ei pala.", customer=CustomerIdentity(
                              email="maija@example.fi", name="Maija"))).ticket
    web_only = submit(Submission(service=o311.web_only, channel="web_form", language="fi",
                                 description="Verkkolomake")).ticket
    intranet = submit(Submission(service=o311.intranet, channel="web_form", language="fi",
                                 description="Salasana unohtui")).ticket
    other = submit(Submission(service=o311.other, channel="mobile_app", language="fi",
                              description="Oulun valo")).ticket
    shown = _open(o311)
    listing = http.get(f"requests.json?{J}")
    assert [r["service_request_id"] for r in listing.json()] == [shown.number]
    for hidden in (mail, web_only, intranet, other):
        assert http.get(f"requests/{hidden.number}.json?{J}").status == 404
        assert hidden.number not in http.get(
            f"requests.json?{J}&service_request_id={hidden.number}").text
    assert "Maija" not in str(listing.json()) and "maija@" not in str(listing.json())
    o311.fault.is_active = False  # a service taken off the list takes its requests along
    o311.fault.save()
    assert http.get(f"requests.json?{J}").json() == []


def test_rate_limit_per_client_key(http, o311, settings):
    settings.KAPULA_OPEN311_RATE = "2/60"
    assert http.post("requests.json", fault(o311)).status == 200
    assert http.post("requests.json", fault(o311)).status == 200
    before = counts()
    limited = http.post("requests.json", fault(o311))
    assert limited.status == 429
    validate("errors", limited.json())
    assert limited.json()[0]["code"] == 429 and counts() == before
    # another client's key is counted apart
    other = http.post("requests.json", {
        "api_key": o311.other_key, "service_code": "katuvalo", "address_string": "Tori",
        "description": "Valo ei pala"})
    assert other.status == 200, other.text


def test_cors_preflight_and_methods(http, o311):
    preflight = http.send("OPTIONS", "requests.json", headers={
        "Origin": "https://kartta.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert http.get(f"services.json?{J}").headers["Access-Control-Allow-Origin"] == "*"
    assert http.get("services.json").headers["Access-Control-Allow-Origin"] == "*"  # errors too
    assert http.send("HEAD", f"services.json?{J}").status == 200
    for method, path in (("DELETE", "requests.json"), ("PUT", "services.json"),
                         ("POST", "services/katuvalo.xml")):
        answer = http.send(method, path)
        assert answer.status == 405
        if path.endswith(".xml"):
            assert ET.fromstring(answer.body).findtext("error/code") == "405"
        else:
            validate("errors", answer.json())


@pytest.mark.parametrize("path", [
    "requests.json?jurisdiction_id=tre&lat=1e999", "requests.json?jurisdiction_id=%00",
    "requests.json?jurisdiction_id=tre&start_date=2026-02-30",
    "requests.json?jurisdiction_id=tre&start_date=99999-01-01T00:00:00",
    "requests.json?jurisdiction_id=tre&page=99999999999999999999",
    "requests/..%2F..%2Fetc.json", "services/%C3%A4.json?jurisdiction_id=tre",
    "tokens/%FF%FE.json", "tokens/1-abc.json", "requests.json?jurisdiction_id=" + "x" * 500,
    "media/0", "services.json?jurisdiction_id=tre&locale=" + "x" * 300,
])
def test_garbage_never_answers_500(http, o311, path):
    answer = http.get(path)
    assert 200 <= answer.status < 500, (path, answer.status, answer.text[:200])


def test_garbage_posts_never_answer_500(http, o311):
    for data in ({"api_key": o311.key, "service_code": "katuvalo", "lat": "nan",
                  "long": "inf"},
                 {"api_key": o311.key * 20, "service_code": "katuvalo"},
                 fault(o311, **{"attribute[vika][]": "pimea", "attribute[[x]]": "1",
                                "attribute[pvm]": "2026-99-99T00:00"}),
                 fault(o311, lat="90", long="180"),
                 fault(o311, **{"attribute[maara]": "1e999"}),
                 fault(o311, email="a" * 400 + "@example.fi", phone="x" * 100),
                 fault(o311, description="nul\x00byte", first_name="\x00",
                       **{"attribute[lisat]": "a\x00b", "attribute[ajat][]": "\x00"})):
        before = counts()
        answer = http.post("requests.json", data)
        assert 200 <= answer.status < 500, (data, answer.text[:300])
        if answer.status >= 400:
            assert counts() == before


def test_unreadable_bodies_get_the_spec_400(http, o311, settings):
    before = counts()
    broken = http.send("POST", "requests.json", headers={
        "Content-Type": "multipart/form-data; boundary=nothere"})
    assert broken.status in (200, 400, 403)  # read as an empty form: no api_key
    bad = http.send("POST", "requests.json", headers={
        "Content-Type": "multipart/form-data; boundary=b"})
    assert bad.status < 500
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    many = http.post("requests.json", [(f"attribute[x{i}]", "1") for i in range(20)])
    assert many.status == 400
    validate("errors", many.json())
    latin = http.send("POST", "requests.json", headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    assert latin.status == 403
    assert counts() == before


def test_text_is_escaped_in_xml_and_json(http, o311):
    text = 'Valo <b>&amp;</b> "pimeä" \x01 ]]> loppu'
    answer = http.post("requests.json", fault(o311, description=text))
    assert answer.status == 200, answer.text
    number = answer.json()[0]["service_request_id"]
    root = ET.fromstring(http.get(f"requests/{number}.xml?{J}").body)
    assert root.findtext("request/description").startswith('Valo <b>&amp;</b> "pimeä"')
    assert http.get(f"requests/{number}.json?{J}").json()[0]["description"].startswith(
        'Valo <b>&amp;</b> "pimeä"')
