"""Maps: the map settings, the service area, the ticket page's location, the agents' map
and its GeoJSON export (content, permissions, filters, size, query counts), and the CSP."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.csp import CSP  # type: ignore[import-untyped,unused-ignore]
from django.utils.translation import gettext

from kapula.core import geo
from kapula.core.errors import ValidationFailed
from kapula.intake.actions import Intake, receive
from kapula.tickets import actions as A
from kapula.tickets.models import Category, Status, Ticket
from tests.conftest import make_user
from tests.test_webform import PNG, form_data, services  # noqa: F401  (fixture)

SETTINGS_FILE = Path(geo.__file__).resolve().parents[1] / "settings.py"
MML = ("https://avoin-karttakuva.maanmittauslaitos.fi/avoin/wmts/1.0.0/taustakartta/default/"
       "ETRS-TM35FIN/{TileMatrix}/{TileRow}/{TileCol}.png?api-key=KEY")
TAMPERE = (23.5, 61.3, 24.1, 61.7)
HAMEENKATU = (61.4978, 23.7610)
HELSINKI = (60.1699, 24.9384)


# --- settings ---------------------------------------------------------------------------------


def test_default_layer_is_openstreetmap_and_an_empty_list_turns_the_map_off() -> None:
    layers = geo.parse_layers("")
    assert [(x["name"], x["crs"], x["type"]) for x in layers] == [
        ("OpenStreetMap", "EPSG:3857", "xyz")]
    assert geo.tile_origins(layers) == ["https://tile.openstreetmap.org"]
    assert geo.parse_layers("[]") == []


def test_a_wmts_layer_in_etrs_tm35fin_gets_the_jhs180_tile_matrix() -> None:
    layers = geo.parse_layers(json.dumps([{
        "name": "Taustakartta", "type": "wmts", "crs": "EPSG:3067", "url": MML,
        "attribution": "&copy; Maanmittauslaitos", "max_zoom": 13}]))
    layer = layers[0]
    assert layer["url"].endswith("/ETRS-TM35FIN/{z}/{y}/{x}.png?api-key=KEY")
    assert layer["origin"] == [-548576.0, 8388608.0]
    assert layer["resolutions"][0] == 8192.0 and layer["resolutions"][1] == 4096.0
    assert layer["resolutions"][-1] == 0.25 and len(layer["resolutions"]) == 16
    assert (layer["min_zoom"], layer["max_zoom"]) == (0, 13)
    assert geo.tile_origins(layers) == ["https://avoin-karttakuva.maanmittauslaitos.fi"]


def test_subdomains_are_each_an_allowed_origin() -> None:
    layers = geo.parse_layers(json.dumps([{
        "url": "https://{s}.tiles.example.fi:8443/{z}/{x}/{y}.png", "attribution": "x",
        "subdomains": "ab"}]))
    assert geo.tile_origins(layers) == ["https://a.tiles.example.fi:8443",
                                        "https://b.tiles.example.fi:8443"]


@pytest.mark.parametrize(("raw", "problem"), [
    ("{not json", "not valid JSON"),
    ('{"url": "x"}', "JSON list"),
    ('[{"url": "ftp://x/{z}/{x}/{y}", "attribution": "a"}]', "http(s)"),
    ('[{"url": "https://x/{z}/{x}.png", "attribution": "a"}]', "{z}, {x} and {y}"),
    ('[{"url": "https://x/{z}/{x}/{y}.png"}]', "attribution"),
    ('[{"url": "https://x/{z}/{x}/{y}.png", "attribution": "a", "crs": "EPSG:4326"}]', "crs"),
    ('[{"url": "https://x/{z}/{x}/{y}.png", "attribution": "a", "max_zoom": 40}]', "zoom"),
    ('[{"url": "https://x/{z}/{x}/{y}.png", "attribution": "a", "type": "wms"}]', "type"),
    ('[{"url": "https://x/{z}/{x}/{y}.png", "attribution": "a", "crs": "EPSG:3067",'
     ' "resolutions": [1, 2]}]', "resolutions"),
    ('[{"url": "https://x/{z}/{x}/{y}.png", "attribution": "a"},'
     ' {"url": "https://y/{z}/{x}/{y}.png", "attribution": "a", "crs": "EPSG:3067"}]',
     "same CRS"),
])
def test_bad_layer_settings_stop_the_start_with_a_clear_message(raw: str, problem: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=problem.replace("(", r"\(").replace(
            ")", r"\)").replace("{", r"\{").replace("}", r"\}")):
        geo.parse_layers(raw)


def test_area_and_centre_settings() -> None:
    assert geo.parse_area("") == geo.FINLAND
    assert geo.parse_area("23.5, 61.3, 24.1, 61.7") == TAMPERE
    for bad in ("1,2,3", "24,61,23,62", "a,b,c,d", "0,0,0,nan", "-200,0,10,10"):
        with pytest.raises(ImproperlyConfigured):
            geo.parse_area(bad)
    assert geo.parse_center("", TAMPERE) is None
    assert geo.parse_center("61.5,23.76", TAMPERE) == (61.5, 23.76)
    with pytest.raises(ImproperlyConfigured):
        geo.parse_center("60.17,24.94", TAMPERE)


def _settings_with(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, object]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def test_csp_img_src_allows_exactly_the_configured_tile_origins(monkeypatch) -> None:
    loaded = _settings_with(monkeypatch, KAPULA_MAP_LAYERS=json.dumps([{
        "type": "wmts", "crs": "EPSG:3067", "url": MML, "attribution": "MML"}]),
        KAPULA_MAP_AREA="23.5,61.3,24.1,61.7")
    csp = loaded["SECURE_CSP"]
    assert [str(v) for v in csp["img-src"]] == [  # type: ignore[index]
        "'self'", "data:", "https://avoin-karttakuva.maanmittauslaitos.fi"]
    assert csp["script-src"] == [CSP.SELF, CSP.NONCE]  # type: ignore[index]
    assert csp["style-src"] == [CSP.SELF]  # type: ignore[index]
    assert loaded["KAPULA_MAP_AREA"] == TAMPERE
    off = _settings_with(monkeypatch, KAPULA_MAP_LAYERS="[]")
    assert [str(v) for v in off["SECURE_CSP"]["img-src"]] == [  # type: ignore[index]
        "'self'", "data:"]
    with pytest.raises(ImproperlyConfigured):
        _settings_with(monkeypatch, KAPULA_MAP_AREA="nonsense")


def test_csp_header_of_a_page_includes_the_tile_origin(client, world, services,  # noqa: F811
                                                       settings) -> None:
    settings.SECURE_CSP = {**settings.SECURE_CSP, "img-src": [
        "'self'", "data:", "https://tiles.example.fi"]}
    header = client.get("/forms/tre/katuvalo/")["Content-Security-Policy"]
    img = next(d for d in header.split(";") if d.strip().startswith("img-src"))
    assert img.split() == ["img-src", "'self'", "data:", "https://tiles.example.fi"]


# --- the service area --------------------------------------------------------------------------


def _receive(world, **location: object) -> Ticket:  # type: ignore[no-untyped-def]
    return receive(Intake(organisation=world.org, channel="phone", subject="Kuoppa",
                          body="Kuoppa tiessä.", location=A.Location(**location))).ticket


def test_locations_are_stored_in_wgs84_and_etrs_tm35fin(world) -> None:
    ticket = _receive(world, latitude=HAMEENKATU[0], longitude=HAMEENKATU[1],
                      address="Hämeenkatu 1")
    assert round(ticket.etrs_n or 0) == pytest.approx(6822000, abs=2000)
    assert round(ticket.etrs_e or 0) == pytest.approx(327500, abs=2000)
    # and the other way round
    other = _receive(world, northing=ticket.etrs_n, easting=ticket.etrs_e)
    assert other.latitude == pytest.approx(HAMEENKATU[0], abs=1e-6)
    assert other.longitude == pytest.approx(HAMEENKATU[1], abs=1e-6)


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_a_point_outside_the_configured_area_is_refused_in_the_users_language(
        world, settings, language: str) -> None:
    settings.KAPULA_MAP_AREA = TAMPERE
    n, e = geo.wgs84_to_etrs(*HELSINKI)
    for location in ({"latitude": HELSINKI[0], "longitude": HELSINKI[1]},
                     {"northing": n, "easting": e},
                     {"latitude": float("nan"), "longitude": 23.7},
                     {"northing": float("inf"), "easting": 1.0}):
        with translation.override(language), pytest.raises(ValidationFailed) as caught:
            _receive(world, **location)
        with translation.override(language):
            assert caught.value.message == gettext("The location is outside the service "
                                                   "area.")
        assert caught.value.code == "location_out_of_range"
        assert caught.value.field == "location"
    assert Ticket.objects.count() == 0
    assert _receive(world, latitude=HAMEENKATU[0], longitude=HAMEENKATU[1]).etrs_n


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_the_web_form_shows_the_area_error_in_the_form_language(
        client, world, services, settings, language) -> None:  # noqa: F811
    settings.KAPULA_MAP_AREA = TAMPERE
    client.cookies["django_language"] = language
    url = "/forms/tre/katuvalo/"
    data = form_data(client, url, description="Valo ei pala.", vika="pimea",
                     location_address="Mannerheimintie 1", location_lat=str(HELSINKI[0]),
                     location_lon=str(HELSINKI[1]))
    response = client.post(url, data)
    assert response.status_code == 422
    with translation.override(language):
        expected = gettext("The location is outside the service area.")
    assert expected in response.content.decode()
    assert Ticket.objects.count() == 0


def test_the_api_refuses_a_point_outside_the_area(world, settings) -> None:
    from kapula.core.actions import create_api_token

    settings.KAPULA_MAP_AREA = TAMPERE
    _token, raw = create_api_token(actor=None, user=world.agent, name="maps")
    response = Client().post("/api/v1/tickets", json.dumps({
        "title": "Kuoppa", "body": "Kuoppa", "channel": "api",
        "location": {"latitude": HELSINKI[0], "longitude": HELSINKI[1]}}),
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 422
    assert response.json()["code"] == "location_out_of_range"


# --- the web form and the ticket page ---------------------------------------------------------


def test_the_form_offers_the_map_picker_over_the_inputs(client, world, services,  # noqa: F811
                                                        settings) -> None:
    settings.KAPULA_MAP_LAYERS = geo.parse_layers(json.dumps([{
        "url": "https://tiles.example.fi/{z}/{x}/{y}.png", "attribution": "Kapula"}]))
    page = client.get("/forms/tre/katuvalo/").content.decode()
    assert 'id="f-location-lat"' in page and 'id="f-location-lon"' in page
    assert "data-map-picker" in page and 'id="kapula-map-options"' in page
    assert "vendor/leaflet/leaflet.js" in page and "maps/maps.js" in page
    options = json.loads(page.split('id="kapula-map-options" type="application/json">', 1)[1]
                         .split("</script>", 1)[0])
    assert options["layers"][0]["url"] == "https://tiles.example.fi/{z}/{x}/{y}.png"
    assert options["area"] == list(geo.FINLAND)
    assert "<script>" not in page  # no inline script (CSP)


def test_without_the_map_libraries_the_form_takes_coordinates(client, world, services,  # noqa: F811
                                                              settings, tmp_path) -> None:
    settings.KAPULA_MAP_LAYERS = geo.parse_layers("")
    settings.STATICFILES_DIRS = [("vendor", str(tmp_path))]  # an empty vendor directory
    url = "/forms/tre/katuvalo/"
    page = client.get(url).content.decode()
    assert "leaflet.js" not in page and 'id="f-location-lat"' in page
    options = json.loads(page.split('id="kapula-map-options" type="application/json">', 1)[1]
                         .split("</script>", 1)[0])
    assert options["layers"] == []
    data = form_data(client, url, description="Valo ei pala.", vika="pimea",
                     location_lat="61.4978", location_lon="23.7610",
                     kuva=SimpleUploadedFile("valo.png", PNG, content_type="image/png"))
    assert client.post(url, data).status_code == 302
    assert Ticket.objects.get().etrs_n is not None


def test_ticket_page_shows_the_location_and_a_map_within_its_query_limit(
        world, django_assert_max_num_queries) -> None:
    ticket = receive(Intake(organisation=world.org, channel="phone", subject="Kuoppa",
                            body="Kuoppa tiessä.", team=world.service_point,
                            location=A.Location(latitude=HAMEENKATU[0],
                                                longitude=HAMEENKATU[1],
                                                address="Hämeenkatu 1"))).ticket
    client = Client()
    client.force_login(world.agent)
    url = reverse("desk:ticket", args=[ticket.pk])
    client.get(url)
    with django_assert_max_num_queries(18):
        page = client.get(url).content.decode()
    assert "Hämeenkatu 1" in page and "61.49780" in page
    assert f"N {round(ticket.etrs_n or 0)}" in page
    assert 'data-map-point data-lat="61.4978000" data-lon="23.7610000"' in page
    assert "maps/maps.js" in page


# --- the agents' map and GeoJSON ---------------------------------------------------------------


def _ticket(world, title: str, lat: float, lon: float, team=None,  # type: ignore[no-untyped-def]
            category=None, status: str | None = None) -> Ticket:
    ticket = receive(Intake(
        organisation=world.org, channel="web_form", subject=title, body=title,
        team=team or world.service_point, category=category,
        location=A.Location(latitude=lat, longitude=lon))).ticket
    if status:
        Ticket.objects.filter(pk=ticket.pk).update(status=status)
        ticket.refresh_from_db()
    return ticket


def _geojson(client: Client, query: str = "") -> dict[str, object]:
    response = client.get(reverse("desk:map_geojson") + query)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/geo+json"
    assert response["Content-Disposition"].startswith('attachment; filename="kapula-tickets-')
    return json.loads(response.content)


def test_geojson_is_an_rfc7946_feature_collection_of_visible_open_tickets(world) -> None:
    light = _ticket(world, "Katuvalo pimeä", *HAMEENKATU, category=world.category)
    _ticket(world, "Ratkaistu", 61.5, 23.8, status=Status.RESOLVED)
    _ticket(world, "IT-tuen asia", 61.49, 23.75, team=world.it_desk)  # not the agent's team
    receive(Intake(organisation=world.org, channel="phone", subject="Ei sijaintia",
                   body="Ei sijaintia", team=world.service_point))
    client = Client()
    client.force_login(world.agent)
    data = _geojson(client)
    assert data["type"] == "FeatureCollection" and data["truncated"] is False
    features = data["features"]
    assert isinstance(features, list) and len(features) == 1
    f = features[0]
    assert f["type"] == "Feature"
    assert f["geometry"] == {"type": "Point", "coordinates": [23.761, 61.4978]}  # lon, lat
    p = f["properties"]
    assert p["number"] == light.number and p["title"] == "Katuvalo pimeä"
    assert p["status"] == "new" and p["category"] == "Katuvalot"
    assert p["priority"] == light.priority and p["created"].startswith("20")
    assert p["etrs_n"] == light.etrs_n and p["etrs_e"] == light.etrs_e
    assert p["url"] == f"http://testserver/tickets/{light.pk}/"
    # the lead of the IT desk sees the IT ticket, the other organisation nothing
    lead = Client()
    lead.force_login(world.lead)
    assert [x["properties"]["title"] for x in _geojson(lead)["features"]] == ["IT-tuen asia"]
    other = Client()
    other.force_login(world.other_agent)
    assert _geojson(other)["features"] == []
    # anonymous: to the login
    response = Client().get(reverse("desk:map_geojson"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_geojson_filters_by_status_and_category(world) -> None:
    other_cat = Category.objects.create(organisation=world.org, name_fi="Kuopat")
    a = _ticket(world, "Valo", 61.49, 23.76, category=world.category)
    b = _ticket(world, "Kuoppa", 61.50, 23.77, category=other_cat)
    c = _ticket(world, "Valo korjattu", 61.51, 23.78, category=world.category,
                status=Status.RESOLVED)
    client = Client()
    client.force_login(world.org_admin)

    def numbers(query: str) -> set[str]:
        return {f["properties"]["number"] for f in _geojson(client, query)["features"]}

    assert numbers("") == {a.number, b.number}
    assert numbers(f"?category={world.category.pk}") == {a.number}
    assert numbers("?status=resolved") == {c.number}
    assert numbers(f"?status=resolved&status=new&category={world.category.pk}") == {
        a.number, c.number}
    for junk in ("?status=nope", "?category=abc", "?category=999999"):
        response = client.get(reverse("desk:map_geojson") + junk)
        assert response.status_code == 400, junk
        assert response.json()["code"] == "invalid_filter"
    # the page ignores bad filters: it shows the defaults and the error
    page = client.get(reverse("desk:map") + "?status=nope")
    assert page.status_code == 200 and b.number in page.content.decode()


def test_map_page_lists_the_same_tickets_and_links_the_export(world) -> None:
    a = _ticket(world, "Valo <b>rikki</b>", *HAMEENKATU, category=world.category)
    client = Client()
    client.force_login(world.agent)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("desk:map") + f"?category={world.category.pk}").content.decode()
    assert a.number in page and "Valo &lt;b&gt;rikki&lt;/b&gt;" in page
    assert f'data-src="/map/tickets.geojson?category={world.category.pk}"' in page
    assert "Export GeoJSON" in page and "data-map-tickets" in page
    assert 'href="/map/"' in page  # the navigation link


def test_the_list_is_bounded_newest_first_with_a_note(world, settings) -> None:
    settings.KAPULA_MAP_MAX_TICKETS = 3
    made = [_ticket(world, f"Asia {i}", 61.4 + i / 100, 23.7) for i in range(5)]
    client = Client()
    client.force_login(world.agent)
    client.cookies["django_language"] = "en"
    data = _geojson(client)
    assert data["truncated"] is True and data["limit"] == 3
    assert [f["properties"]["number"] for f in data["features"]] == [  # type: ignore[union-attr]
        t.number for t in reversed(made[-3:])]
    page = client.get(reverse("desk:map")).content.decode()
    assert "Only the newest 3 tickets are shown." in page


def test_map_and_geojson_take_a_fixed_number_of_queries(world, django_assert_num_queries,
                                                        ) -> None:
    """Session, user, the scope (memberships, units) and the tickets: five, however many."""
    client = Client()
    client.force_login(world.agent)
    paths = [reverse("desk:map"), reverse("desk:map_geojson"),
             reverse("desk:map") + f"?status=new&category={world.category.pk}"]
    _ticket(world, "Eka", 61.49, 23.76, category=world.category)
    for path in paths:
        client.get(path)  # warm the configuration cache (categories)
        with django_assert_num_queries(5):
            client.get(path)
    for i in range(12):
        _ticket(world, f"Asia {i}", 61.4 + i / 100, 23.7, category=world.category)
    for path in paths:
        with django_assert_num_queries(5):
            response = client.get(path)
        assert b"Asia 11" in response.content


def test_an_agent_without_teams_sees_only_tickets_assigned_to_them(world) -> None:
    lonely = make_user("lonely", world.org)
    _ticket(world, "Ei näy", 61.49, 23.76)
    client = Client()
    client.force_login(lonely)
    assert _geojson(client)["features"] == []
