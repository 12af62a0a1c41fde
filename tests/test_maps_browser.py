# ruff: noqa: F811  (pytest fixtures imported from other test modules)
"""Maps in real Chromium, with map tiles from a tiny tile server of the test (nothing from
the internet): the resident's map picker on a web form, typed coordinates, the keyboard and
"Use my location", an EPSG:3067 WMTS background through proj4leaflet, the ticket page's map
and the agents' map. axe-core finds no WCAG 2.1 AA problem and the CSP no violation."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.utils.csp import CSP  # type: ignore[import-untyped,unused-ignore]
from playwright.sync_api import expect

from kapula.core import geo
from kapula.intake.actions import Intake, receive
from kapula.tickets import actions as A
from kapula.tickets.models import Attachment, Ticket
from tests.desk.test_browser import SHOTS, browser, check_a11y, login, page  # noqa: F401
from tests.test_webform import PNG, services  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VENDOR = Path(geo.__file__).resolve().parents[1] / "vendor" / "leaflet" / "leaflet.js"


class TileServer(ThreadingHTTPServer):
    daemon_threads = True
    paths: list[str]


class _Tiles(BaseHTTPRequestHandler):
    """Any path answers with the same small PNG."""

    server: TileServer

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def tile_server() -> Iterator[TileServer]:
    if not VENDOR.exists():
        pytest.skip("Leaflet is not installed (scripts/assets.sh)")
    server = TileServer(("127.0.0.1", 0), _Tiles)
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def use_layers(settings, layers: list[dict[str, object]]) -> None:  # type: ignore[no-untyped-def]
    """Point the map at the test's tile server, and let the CSP allow exactly it."""
    settings.KAPULA_MAP_LAYERS = geo.parse_layers(json.dumps(layers))
    settings.SECURE_CSP = {**settings.SECURE_CSP, "img-src": [
        CSP.SELF, "data:", *geo.tile_origins(settings.KAPULA_MAP_LAYERS)]}


@pytest.fixture
def xyz(tile_server, settings) -> TileServer:  # type: ignore[no-untyped-def]
    port = tile_server.server_address[1]
    use_layers(settings, [{"name": "Test map", "url": f"http://127.0.0.1:{port}/xyz/{{z}}/{{x}}/"
                           "{y}.png", "attribution": "Test tiles", "max_zoom": 18}])
    return tile_server


def wait_for_tiles(page, server: TileServer, prefix: str) -> None:  # type: ignore[no-untyped-def]
    page.locator(".leaflet-tile-loaded").first.wait_for()
    assert any(p.startswith(prefix) for p in server.paths), server.paths[:5]


def test_resident_chooses_the_point_on_the_map(world, services, live_server, page,
                                               xyz, tmp_path) -> None:
    page.goto(live_server.url + "/forms/tre/katuvalo/")
    wait_for_tiles(page, xyz, "/xyz/")
    check_a11y(page)
    lat_input = page.get_by_label("Latitude (WGS84, optional)")
    lon_input = page.get_by_label("Longitude (WGS84, optional)")
    assert lat_input.input_value() == "" and lon_input.input_value() == ""
    the_map = page.get_by_role("region", name="Map for choosing the location")
    box = the_map.bounding_box()
    assert box is not None
    the_map.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    lat, lon = float(lat_input.input_value()), float(lon_input.input_value())
    assert geo.in_area(lat, lon, geo.FINLAND)
    status = page.locator("[data-map-status]")
    assert "ETRS-TM35FIN: N" in status.inner_text()
    assert page.locator(".leaflet-marker-icon").count() == 1
    check_a11y(page)
    page.screenshot(path=str(SHOTS / "kapula-map-picker.png"), full_page=True)

    page.get_by_label("Describe the matter").fill("The light at the bus stop is out.")
    page.get_by_label("Light is out").check()
    photo = tmp_path / "light.png"
    photo.write_bytes(PNG)
    page.get_by_label("Photo").set_input_files(str(photo))
    page.get_by_role("button", name="Send").click()
    page.wait_for_url("**/thanks/**")
    ticket = Ticket.objects.get(organisation=world.org)
    assert ticket.latitude == pytest.approx(lat, abs=1e-6)
    assert ticket.longitude == pytest.approx(lon, abs=1e-6)
    n, e = geo.wgs84_to_etrs(lat, lon)
    assert ticket.etrs_n == pytest.approx(n, abs=0.01)
    assert ticket.etrs_e == pytest.approx(e, abs=0.01)
    assert Attachment.objects.get(ticket=ticket).filename == "light.png"


def test_typed_coordinates_the_keyboard_and_my_location(world, services, live_server,
                                                        page, xyz) -> None:
    page.goto(live_server.url + "/forms/tre/katuvalo/")
    wait_for_tiles(page, xyz, "/xyz/")
    status = page.locator("[data-map-status]")
    # typed coordinates move the marker
    page.get_by_label("Latitude (WGS84, optional)").fill("61.4978")
    page.get_by_label("Longitude (WGS84, optional)").fill("23.7610")
    page.get_by_label("Longitude (WGS84, optional)").press("Tab")
    page.locator(".leaflet-marker-icon").wait_for()
    assert "61.49780, 23.76100" in status.inner_text()
    # outside the area: said, and the inputs are not changed by the map
    page.get_by_label("Latitude (WGS84, optional)").fill("10")
    page.get_by_label("Latitude (WGS84, optional)").press("Tab")
    assert "outside the service area" in status.inner_text()
    page.get_by_label("Latitude (WGS84, optional)").fill("61.4978")
    # keyboard: focus the map, move it, Enter chooses its centre
    the_map = page.get_by_role("region", name="Map for choosing the location")
    the_map.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    assert "Location chosen" in status.inner_text()
    lat = float(page.get_by_label("Latitude (WGS84, optional)").input_value())
    assert 58 < lat < 71
    # the browser's location
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 60.4518, "longitude": 22.2666})
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("#f-location-lat")).to_have_value(re.compile(r"^60\.4518"))
    assert page.get_by_label("Longitude (WGS84, optional)").input_value().startswith("22.2666")
    assert "Your location was found." in status.inner_text()
    check_a11y(page)


def test_an_etrs_tm35fin_wmts_background(world, services, live_server, page,
                                         tile_server, settings) -> None:
    port = tile_server.server_address[1]
    use_layers(settings, [{
        "name": "Taustakartta", "type": "wmts", "crs": "EPSG:3067",
        "url": f"http://127.0.0.1:{port}/wmts/taustakartta/default/ETRS-TM35FIN/"
               "{TileMatrix}/{TileRow}/{TileCol}.png",
        "attribution": "Test: National Land Survey of Finland"}])
    page.goto(live_server.url + "/forms/tre/katuvalo/")
    wait_for_tiles(page, tile_server, "/wmts/")
    tiles = [tuple(int(v) for v in m.groups()) for p in tile_server.paths
             if (m := re.search(r"/ETRS-TM35FIN/(\d+)/(\d+)/(\d+)\.png$", p))]
    assert tiles, tile_server.paths[:5]
    # all of Finland fits at a low JHS 180 level; rows and columns within that level's matrix
    for level, row, col in tiles:
        assert 0 <= level <= 5 and 0 <= row < 2 ** (level + 3) and 0 <= col < 2 ** (level + 3)
    check_a11y(page)
    the_map = page.get_by_role("region", name="Map for choosing the location")
    box = the_map.bounding_box()
    assert box is not None
    the_map.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    lat = float(page.get_by_label("Latitude (WGS84, optional)").input_value())
    lon = float(page.get_by_label("Longitude (WGS84, optional)").input_value())
    # the centre of the map is near the middle of Finland's box (projected, so not exactly)
    assert 62 < lat < 67 and 22 < lon < 29
    assert "ETRS-TM35FIN: N" in page.locator("[data-map-status]").inner_text()
    page.screenshot(path=str(SHOTS / "kapula-map-etrs.png"), full_page=True)


def test_agent_sees_the_ticket_location_and_the_map_of_tickets(world, live_server, page,
                                                                xyz) -> None:
    tickets = [receive(Intake(
        organisation=world.org, channel="web_form", subject=f"Katuvalo {i}",
        body="Katuvalo ei pala.", team=world.service_point, category=world.category,
        location=A.Location(latitude=61.49 + i / 100, longitude=23.76,
                            address=f"Hämeenkatu {i}"))).ticket for i in range(3)]
    login(page, live_server)
    page.goto(live_server.url + f"/tickets/{tickets[0].pk}/")
    page.get_by_role("region", name="Map of the location").locator(
        ".leaflet-marker-icon").wait_for()
    assert "ETRS-TM35FIN" in page.locator("#loc-h + dl").inner_text()
    check_a11y(page)

    page.get_by_role("link", name="Map", exact=True).click()
    page.wait_for_url("**/map/")
    the_map = page.get_by_role("region", name="Map of the tickets")
    # (locator waits: wait_for_function would evaluate a string, which the CSP forbids)
    page.locator("[data-map-tickets][data-markers='3']").wait_for(state="attached")
    assert the_map.locator(".leaflet-marker-icon").count() == 3
    table = page.get_by_role("table")
    for t in tickets:
        assert t.number in table.inner_text()
    check_a11y(page)
    # a marker's popup links to the ticket
    the_map.locator(f".leaflet-marker-icon[title^='{tickets[2].number}']").click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert tickets[2].number in popup.inner_text() and "New" in popup.inner_text()
    check_a11y(page)
    page.screenshot(path=str(SHOTS / "kapula-map-agents.png"), full_page=True)
    popup.get_by_role("link").click()
    page.wait_for_url(f"**/tickets/{tickets[2].pk}/")
    # the filters: resolved tickets only -> none on the map
    page.goto(live_server.url + "/map/?status=resolved")
    page.locator("[data-map-tickets][data-markers='0']").wait_for(state="attached")
    assert "No tickets to show on the map." in page.locator("#map-load-status").inner_text()
    check_a11y(page)
