"""Coordinates and maps.

- WGS84 (EPSG:4326) <-> ETRS-TM35FIN (EPSG:3067) with pyproj;
- the service area (a WGS84 bounding box) that locations must fall in;
- the background map layers (XYZ or WMTS, in EPSG:3857 or EPSG:3067) from the
  ``KAPULA_MAP_*`` settings, checked once when the settings load, and the options that the
  map script gets from them (docs/subsystems/maps.md).

This module is imported by ``kapula/settings.py``: it must not touch Django settings or
pyproj at import time.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from pyproj import Transformer


@lru_cache(maxsize=1)
def _to_3067() -> Transformer:
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True)


@lru_cache(maxsize=1)
def _to_4326() -> Transformer:
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:3067", "EPSG:4326", always_xy=True)


def wgs84_to_etrs(lat: float, lon: float) -> tuple[float, float]:
    """Return (northing, easting) in EPSG:3067."""
    easting, northing = _to_3067().transform(lon, lat)
    return round(northing, 2), round(easting, 2)


def etrs_to_wgs84(northing: float, easting: float) -> tuple[float, float]:
    """Return (lat, lon) in WGS84."""
    lon, lat = _to_4326().transform(easting, northing)
    return round(lat, 7), round(lon, 7)


# --- the service area -----------------------------------------------------------------------

#: (west, south, east, north) in WGS84 degrees, the order of a GeoJSON bbox: all of
#: Finland with a margin (Åland to Ilomantsi, Hanko to Nuorgam)
FINLAND = (18.0, 58.5, 32.5, 70.5)


def in_area(lat: float, lon: float, area: tuple[float, float, float, float]) -> bool:
    west, south, east, north = area
    return (math.isfinite(lat) and math.isfinite(lon)
            and south <= lat <= north and west <= lon <= east)


def parse_area(raw: str) -> tuple[float, float, float, float]:
    """``"west,south,east,north"`` in WGS84 degrees; empty means :data:`FINLAND`."""
    if not raw.strip():
        return FINLAND
    bad = ImproperlyConfigured(
        f"KAPULA_MAP_AREA must be 'west,south,east,north' in WGS84 degrees, not {raw!r}")
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        raise bad from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise bad
    west, south, east, north = values
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise bad
    return west, south, east, north


def parse_center(raw: str, area: tuple[float, float, float, float]
                 ) -> tuple[float, float] | None:
    """``"lat,lon"``: where the map opens (inside the area); empty: the map shows the area."""
    if not raw.strip():
        return None
    try:
        lat, lon = (float(v) for v in raw.split(","))
    except ValueError:
        raise ImproperlyConfigured(
            f"KAPULA_MAP_CENTER must be 'latitude,longitude', not {raw!r}") from None
    if not in_area(lat, lon, area):
        raise ImproperlyConfigured("KAPULA_MAP_CENTER must lie inside KAPULA_MAP_AREA")
    return lat, lon


# --- background layers ----------------------------------------------------------------------

CRS_WEB_MERCATOR = "EPSG:3857"
CRS_ETRS_TM35FIN = "EPSG:3067"
#: the proj4 definition of ETRS-TM35FIN, for proj4/proj4leaflet in the browser
ETRS_TM35FIN_PROJ4 = "+proj=utm +zone=35 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs"
#: the JHS 180 tile matrix set of ETRS-TM35FIN (used by the National Land Survey's WMTS):
#: top-left corner, 8192 m per pixel at level 0 halving per level, 256-pixel tiles
JHS180_ORIGIN = (-548576.0, 8388608.0)
JHS180_RESOLUTIONS = tuple(8192.0 / 2**level for level in range(16))
JHS180_BOUNDS = (-548576.0, 6291456.0, 1548576.0, 8388608.0)  # min E, min N, max E, max N

DEFAULT_LAYERS_JSON = json.dumps([{
    "name": "OpenStreetMap", "type": "xyz", "crs": CRS_WEB_MERCATOR,
    "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "attribution": '&copy; <a href="https://www.openstreetmap.org/copyright">'
                   "OpenStreetMap</a> contributors",
    "min_zoom": 0, "max_zoom": 19,
}])

#: WMTS RESTful template names, turned into Leaflet's
_WMTS_NAMES = {"{TileMatrix}": "{z}", "{TileRow}": "{y}", "{TileCol}": "{x}"}


def _layer_error(index: int, problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"KAPULA_MAP_LAYERS, layer {index + 1}: {problem}")


def _number_list(value: Any, index: int, name: str, length: int | None = None) -> list[float]:
    if (not isinstance(value, list) or not value or (length and len(value) != length)
            or not all(isinstance(v, int | float) and not isinstance(v, bool)
                       and math.isfinite(v) for v in value)):
        raise _layer_error(index, f"'{name}' must be a list of {length or 'some'} numbers")
    return [float(v) for v in value]


def _layer(index: int, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise _layer_error(index, "must be an object")
    kind = str(item.get("type", "xyz")).lower()
    if kind not in ("xyz", "wmts"):
        raise _layer_error(index, "'type' must be 'xyz' or 'wmts'")
    crs = str(item.get("crs", CRS_WEB_MERCATOR)).upper()
    if crs not in (CRS_WEB_MERCATOR, CRS_ETRS_TM35FIN):
        raise _layer_error(index, f"'crs' must be {CRS_WEB_MERCATOR} or {CRS_ETRS_TM35FIN}")
    url = item.get("url")
    if not isinstance(url, str):
        raise _layer_error(index, "'url' is missing")
    for wmts, xyz in _WMTS_NAMES.items():
        url = url.replace(wmts, xyz)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _layer_error(index, "'url' must be an http(s) address")
    if not all(p in url for p in ("{z}", "{x}", "{y}")):
        raise _layer_error(index, "'url' must contain {z}, {x} and {y} "
                                  "(or {TileMatrix}, {TileCol} and {TileRow})")
    subdomains = str(item.get("subdomains", "abc" if "{s}" in url else ""))
    attribution = item.get("attribution", "")
    if not isinstance(attribution, str) or not attribution.strip():
        raise _layer_error(index, "'attribution' is required (the map's copyright)")
    layer: dict[str, Any] = {
        "name": str(item.get("name") or f"Map {index + 1}")[:100], "type": kind, "crs": crs,
        "url": url, "attribution": attribution, "subdomains": subdomains,
        "tile_size": int(item.get("tile_size", 256)),
    }
    if crs == CRS_ETRS_TM35FIN:
        origin = _number_list(item.get("origin", list(JHS180_ORIGIN)), index, "origin", 2)
        resolutions = _number_list(item.get("resolutions", list(JHS180_RESOLUTIONS)), index,
                                   "resolutions")
        if any(r <= 0 for r in resolutions) or resolutions != sorted(resolutions, reverse=True):
            raise _layer_error(index, "'resolutions' must be positive and getting smaller")
        bounds = _number_list(item.get("bounds", list(JHS180_BOUNDS)), index, "bounds", 4)
        layer.update(origin=origin, resolutions=resolutions, bounds=bounds)
        top = len(resolutions) - 1
    else:
        top = 19
    try:
        min_zoom = int(item.get("min_zoom", 0))
        max_zoom = int(item.get("max_zoom", top))
    except (TypeError, ValueError):
        raise _layer_error(index, "'min_zoom' and 'max_zoom' must be whole numbers") from None
    if not 0 <= min_zoom <= max_zoom <= min(top, 24):
        raise _layer_error(index, f"zoom levels must be 0 <= min_zoom <= max_zoom <= {top}")
    layer.update(min_zoom=min_zoom, max_zoom=max_zoom)
    return layer


def parse_layers(raw: str) -> list[dict[str, Any]]:
    """The background layers from ``KAPULA_MAP_LAYERS`` (a JSON list; empty: OpenStreetMap;
    ``[]``: no map at all). Every layer of one installation shares one CRS."""
    try:
        data = json.loads(raw if raw.strip() else DEFAULT_LAYERS_JSON)
    except ValueError as exc:
        raise ImproperlyConfigured(f"KAPULA_MAP_LAYERS is not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise ImproperlyConfigured("KAPULA_MAP_LAYERS must be a JSON list of layers")
    layers = [_layer(i, item) for i, item in enumerate(data)]
    if len({layer["crs"] for layer in layers}) > 1:
        raise ImproperlyConfigured("KAPULA_MAP_LAYERS: all layers must use the same CRS")
    return layers


def tile_origins(layers: list[dict[str, Any]]) -> list[str]:
    """The origins (scheme://host[:port]) that tiles come from, for the CSP's img-src."""
    origins: list[str] = []
    for layer in layers:
        parts = urlsplit(layer["url"])
        hosts = ([parts.netloc.replace("{s}", s) for s in layer["subdomains"]]
                 if "{s}" in parts.netloc else [parts.netloc])
        for host in hosts:
            origin = f"{parts.scheme}://{host}"
            if origin not in origins:
                origins.append(origin)
    return origins


def map_options() -> dict[str, Any]:
    """What the map script needs, from the current settings (a ``json_script`` payload)."""
    from django.conf import settings

    return {
        "layers": settings.KAPULA_MAP_LAYERS,
        "area": list(settings.KAPULA_MAP_AREA),
        "center": list(settings.KAPULA_MAP_CENTER) if settings.KAPULA_MAP_CENTER else None,
        "zoom": settings.KAPULA_MAP_ZOOM,
        "etrs": ETRS_TM35FIN_PROJ4,
    }
