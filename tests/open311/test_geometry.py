"""GeoJSON geometries and titles posted to the Open311 API, as an Oskari map or a 6Aika
client sends them: points, lines and areas in WGS84 and in ETRS-TM35FIN (``srs``), the
ticket's representative point, the geometry read back with the extensions, and strict
checks that answer the spec's 400 without writing anything."""

# ruff: noqa: S314  (the XML parsed here is our own server's answer)
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from kapula.core import geo
from kapula.intake.open311.models import Open311Request
from kapula.tickets.models import Ticket
from tests.open311.conftest import PNG, validate
from tests.open311.test_api import counts

pytestmark = pytest.mark.django_db(transaction=True)

J = "jurisdiction_id=tre"
#: around Tampere's central square, WGS84 [longitude, latitude]
LINE = [[23.7600, 61.4970], [23.7620, 61.4980], [23.7650, 61.4990], [23.7700, 61.5000]]
SQUARE = [[23.7600, 61.4970], [23.7640, 61.4970], [23.7640, 61.4990], [23.7600, 61.4990],
          [23.7600, 61.4970]]
TAMPERE = (23.5, 61.3, 24.1, 61.7)

#: kind -> (WGS84 coordinates, the WGS84 [lon, lat] the ticket should keep)
CASES: dict[str, tuple[Any, list[float]]] = {
    "Point": ([23.7610, 61.4978], [23.7610, 61.4978]),
    "LineString": (LINE, LINE[1]),  # the middle vertex: (4 - 1) // 2 = 1
    "Polygon": ([SQUARE], [23.7620, 61.4980]),  # the centroid
    "MultiPoint": (LINE[2:], LINE[2]),  # the first point
}


def _etrs(coordinates: Any) -> Any:
    """WGS84 [lon, lat] (nested) as ETRS-TM35FIN [easting, northing]."""
    if isinstance(coordinates[0], float):
        northing, easting = geo.wgs84_to_etrs(coordinates[1], coordinates[0])
        return [easting, northing]
    return [_etrs(c) for c in coordinates]


def _flat(coordinates: Any) -> list[float]:
    if isinstance(coordinates[0], float):
        return list(coordinates)
    return [x for c in coordinates for x in _flat(c)]


def post(http, o311, geometry: Any = None, **extra: str):
    data = {"api_key": o311.key, "jurisdiction_id": "tre", "service_code": "katuvalo",
            "locale": "en", "description": "Valo ei pala.", "attribute[vika]": "pimea"}
    if geometry is not None:
        data["geometry"] = geometry if isinstance(geometry, str) else json.dumps(geometry)
    data.update(extra)
    return http.post("requests.json", data)


@pytest.mark.parametrize("srs", ["EPSG:4326", "EPSG:3067"])
@pytest.mark.parametrize("kind", list(CASES))
def test_geometries_in_wgs84_and_etrs(http, o311, kind, srs):
    coordinates, (lon, lat) = CASES[kind]
    sent = coordinates if srs == "EPSG:4326" else _etrs(coordinates)
    extra = {"srs": srs} if srs == "EPSG:3067" else {}
    answer = post(http, o311, {"type": kind, "coordinates": sent}, **extra)
    assert answer.status == 200, answer.text
    validate("post_response", answer.json())
    number = answer.json()[0]["service_request_id"]

    ticket = Ticket.objects.get(number=number)
    precise = 1e-7 if srs == "EPSG:4326" else 1e-6  # the round trip through ETRS
    assert ticket.latitude == pytest.approx(lat, abs=precise)
    assert ticket.longitude == pytest.approx(lon, abs=precise)
    northing, easting = geo.wgs84_to_etrs(lat, lon)
    assert ticket.etrs_n == pytest.approx(northing, abs=0.05)
    assert ticket.etrs_e == pytest.approx(easting, abs=0.05)
    location = {a["code"]: a["value"] for a in ticket.submission.answers}["paikka"]
    assert location["latitude"] == pytest.approx(lat, abs=precise)

    stored = Open311Request.objects.get(ticket=ticket).geometry
    assert stored["type"] == kind
    assert _flat(stored["coordinates"]) == pytest.approx(_flat(coordinates), abs=precise)

    rows = http.get(f"requests/{number}.json?{J}&extensions=true").json()
    validate("requests", rows)
    assert rows[0]["lat"] == ticket.latitude and rows[0]["long"] == ticket.longitude
    shown = rows[0]["extended_attributes"]["geometry"]
    if kind == "Point":  # the ticket's own point
        assert shown == {"type": "Point", "coordinates": [ticket.longitude, ticket.latitude]}
    else:
        assert shown == stored
    xml = ET.fromstring(http.get(f"requests/{number}.xml?{J}&extensions=true").body)
    assert xml.findtext("request/extended_attributes/geometry/type") == kind


def test_lat_long_in_etrs(http, o311):
    answer = post(http, o311, srs="epsg:3067", lat="6822600", long="327500")
    assert answer.status == 200, answer.text
    ticket = Ticket.objects.get(number=answer.json()[0]["service_request_id"])
    lat, lon = geo.etrs_to_wgs84(6822600, 327500)
    assert (ticket.latitude, ticket.longitude) == (lat, lon)
    assert ticket.etrs_n == pytest.approx(6822600, abs=0.05)
    assert ticket.etrs_e == pytest.approx(327500, abs=0.05)
    assert Open311Request.objects.get(ticket=ticket).geometry is None
    row = http.get(f"requests.json?{J}&extensions=true").json()[0]
    assert row["extended_attributes"]["geometry"] == {"type": "Point",
                                                      "coordinates": [lon, lat]}


def test_a_geometry_is_the_location(http, o311):
    # lat/long are not read when a geometry is given
    answer = post(http, o311, {"type": "LineString", "coordinates": LINE}, lat="north",
                  address_string="Hämeenkatu")
    assert answer.status == 200, answer.text
    ticket = Ticket.objects.get(number=answer.json()[0]["service_request_id"])
    assert ticket.address == "Hämeenkatu" and ticket.latitude == LINE[1][1]

    # a service whose form has no location field still keeps the point on the ticket
    answer = http.post("requests.json", {
        "api_key": o311.key, "service_code": "palaute", "description": "Puisto on siisti.",
        "geometry": json.dumps({"type": "Polygon", "coordinates": [SQUARE]})})
    assert answer.status == 200, answer.text
    ticket = Ticket.objects.get(number=answer.json()[0]["service_request_id"])
    assert (ticket.longitude, ticket.latitude) == pytest.approx((23.762, 61.498))
    assert ticket.etrs_n is not None


def test_a_polygon_whose_centroid_is_outside_keeps_its_first_vertex(http, o311):
    c_shape = [[23.70, 61.40], [23.80, 61.40], [23.80, 61.41], [23.71, 61.41], [23.71, 61.49],
               [23.80, 61.49], [23.80, 61.50], [23.70, 61.50], [23.70, 61.40]]
    answer = post(http, o311, {"type": "Polygon", "coordinates": [c_shape]})
    assert answer.status == 200, answer.text
    ticket = Ticket.objects.get(number=answer.json()[0]["service_request_id"])
    assert (ticket.longitude, ticket.latitude) == (23.70, 61.40)
    # a hole around the centroid: the first vertex too
    hole = [[23.761, 61.4975], [23.763, 61.4975], [23.763, 61.4985], [23.761, 61.4985],
            [23.761, 61.4975]]
    answer = post(http, o311, {"type": "Polygon", "coordinates": [SQUARE, hole]})
    assert answer.status == 200, answer.text
    ticket = Ticket.objects.get(number=answer.json()[0]["service_request_id"])
    assert [ticket.longitude, ticket.latitude] == SQUARE[0]


def test_a_title_names_the_ticket(http, o311):
    answer = post(http, o311, {"type": "Point", "coordinates": [23.761, 61.4978]},
                  title="  Pimeä   pysäkki\nHämeenkadulla ")
    assert answer.status == 200, answer.text
    number = answer.json()[0]["service_request_id"]
    assert Ticket.objects.get(number=number).title == "Pimeä pysäkki Hämeenkadulla"
    rows = http.get(f"requests/{number}.json?{J}&extensions=true").json()
    validate("requests", rows)
    assert rows[0]["extended_attributes"]["title"] == "Pimeä pysäkki Hämeenkadulla"
    # without one (or a blank one), the generated title
    answer = post(http, o311, {"type": "Point", "coordinates": [23.761, 61.4978]},
                  title="   ")
    assert Ticket.objects.get(number=answer.json()[0]["service_request_id"]).title == \
        "Street light fault: Valo ei pala."
    answer = post(http, o311, lat="61.4978", long="23.761", title="x" * 200)
    assert answer.status == 200, answer.text


def _ring_open() -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[*SQUARE[:-1], [23.7601, 61.4970]]]}


BAD: dict[str, tuple[dict[str, str], str]] = {
    "invalid_json": ({"geometry": '{"type": "Point", "coordinates": [23.76, 61.49]'},
                     "not valid JSON"),
    "not_an_object": ({"geometry": "[23.76, 61.49]"}, "GeoJSON geometry object"),
    "no_coordinates": ({"geometry": '{"type": "Point"}'}, "GeoJSON geometry object"),
    "unknown_type": ({"geometry": '{"type": "Circle", "coordinates": [23.76, 61.49]}'},
                     "type must be"),
    "collection": ({"geometry": json.dumps({"type": "GeometryCollection", "coordinates": [],
                                            "geometries": []})}, "type must be"),
    "open_ring": ({"geometry": json.dumps(_ring_open())}, "closed"),
    "short_ring": ({"geometry": json.dumps({"type": "Polygon", "coordinates": [
        [SQUARE[0], SQUARE[1], SQUARE[0]]]})}, "at least 4"),
    "no_rings": ({"geometry": '{"type": "Polygon", "coordinates": []}'}, "list of rings"),
    "short_line": ({"geometry": json.dumps({"type": "LineString", "coordinates": LINE[:1]})},
                   "at least 2"),
    "too_many": ({"geometry": json.dumps({"type": "LineString", "coordinates": [
        [23.76 + i * 1e-5, 61.49] for i in range(1001)]})}, "at most 1000"),
    "too_many_in_rings": ({"geometry": json.dumps({"type": "Polygon", "coordinates": [
        [*([[23.76 + i * 1e-5, 61.49] for i in range(500)]), [23.76, 61.49]]] * 2})},
        "at most 1000"),
    "nan": ({"geometry": '{"type": "Point", "coordinates": [NaN, 61.49]}'}, "not valid JSON"),
    "infinite": ({"geometry": '{"type": "Point", "coordinates": [1e999, 61.49]}'},
                 "finite numbers"),
    "text_position": ({"geometry": '{"type": "Point", "coordinates": ["23.76", "61.49"]}'},
                      "finite numbers"),
    "boolean": ({"geometry": '{"type": "Point", "coordinates": [true, 61.49]}'},
                "finite numbers"),
    "one_number": ({"geometry": '{"type": "Point", "coordinates": [23.76]}'},
                   "finite numbers"),
    "nested_too_deep": ({"geometry": json.dumps({"type": "LineString", "coordinates": [
        [[23.76, 61.49]], [[23.77, 61.5]]]})}, "finite numbers"),
    "outside": ({"geometry": json.dumps({"type": "Polygon", "coordinates": [[
        [23.76, 61.49], [24.94, 60.17], [23.77, 61.5], [23.76, 61.49]]]})},  # Helsinki
        "outside the service area"),
    "lat_long_order": ({"geometry": '{"type": "Point", "coordinates": [61.4978, 23.761]}'},
                       "outside the service area"),
    "wgs84_as_etrs": ({"geometry": '{"type": "Point", "coordinates": [23.761, 61.4978]}',
                       "srs": "EPSG:3067"}, "outside the service area"),
    "etrs_as_wgs84": ({"geometry": '{"type": "Point", "coordinates": [327500, 6822600]}'},
                      "outside the service area"),
    "etrs_overflow": ({"geometry": '{"type": "Point", "coordinates": [1e300, 1e300]}',
                       "srs": "EPSG:3067"}, "outside the service area"),
    "etrs_lat_long_outside": ({"lat": "6672000", "long": "385000", "srs": "EPSG:3067"},
                              "outside the service area"),  # Helsinki
    "bad_srs": ({"geometry": '{"type": "Point", "coordinates": [23.76, 61.49]}',
                 "srs": "EPSG:3857"}, "srs must be"),
    "title_too_long": ({"title": "x" * 201}, "title: At most 200 characters."),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_geometries_and_titles_answer_400_and_create_nothing(http, o311, settings, case):
    settings.KAPULA_MAP_AREA = TAMPERE
    extra, words = BAD[case]
    data = {"lat": "61.4978", "long": "23.761"} if "geometry" not in extra else {}
    data.update(extra)
    before = counts()
    answer = post(http, o311, **data)
    assert answer.status == 400, answer.text
    problems = answer.json()
    validate("errors", problems)
    assert [p["code"] for p in problems] == [400]
    assert words in problems[0]["description"], problems
    if "geometry" in extra and case != "bad_srs":
        assert problems[0]["description"].startswith("geometry: ")
    assert counts() == before


def test_geometry_errors_in_xml(http, o311):
    before = counts()
    answer = http.post("requests.xml", {
        "api_key": o311.key, "service_code": "katuvalo", "attribute[vika]": "pimea",
        "geometry": '{"type": "Polygon", "coordinates": [[[23.76, 61.49]]]}'})
    assert answer.status == 400
    root = ET.fromstring(answer.body)
    assert root.findtext("error/code") == "400"
    assert root.findtext("error/description").startswith("geometry: ")
    assert counts() == before


def test_geometry_in_a_multipart_post(http, o311):
    answer = http.post("requests.json", {
        "api_key": o311.key, "service_code": "katuvalo", "attribute[vika]": "pimea",
        "srs": "EPSG:3067", "title": "Valokuva",
        "geometry": json.dumps({"type": "LineString", "coordinates": _etrs(LINE)})},
        files={"media": ("valo.png", PNG, "image/png")})
    assert answer.status == 200, answer.text
    ticket = Ticket.objects.get(number=answer.json()[0]["service_request_id"])
    assert ticket.title == "Valokuva" and ticket.attachments.count() == 1
    assert Open311Request.objects.get(ticket=ticket).geometry["type"] == "LineString"
