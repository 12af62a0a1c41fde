"""GeoJSON geometries posted with a service request (the Helsinki / 6Aika ``geometry``
extension, as an Oskari map sends it).

:func:`parse` reads the ``geometry`` parameter strictly: valid JSON, a Point, MultiPoint,
LineString or Polygon, well-formed finite coordinates, at most :data:`MAX_POSITIONS`
positions, every one inside the service area (``KAPULA_MAP_AREA``). The coordinates are in
WGS84 ``[longitude, latitude]`` or, with ``srs=EPSG:3067``, in ETRS-TM35FIN
``[easting, northing]``; the result is always WGS84, with the point that the ticket keeps
as its location (:func:`parse` documents which point that is). Every problem is a
:class:`~kapula.core.errors.ValidationFailed` with a message in the active language."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from kapula.core import geo
from kapula.core.errors import ValidationFailed

WGS84 = "EPSG:4326"
ETRS_TM35FIN = "EPSG:3067"
SRS = (WGS84, ETRS_TM35FIN)
TYPES = ("Point", "MultiPoint", "LineString", "Polygon")
MAX_POSITIONS = 1000
#: the longest ``geometry`` text read: 1,000 positions with generous precision and spaces
MAX_CHARS = 100_000

Position = tuple[float, float]  # (longitude, latitude) in WGS84


@dataclass(frozen=True)
class Shape:
    """A checked geometry: GeoJSON in WGS84, and the ticket's point in it."""

    geometry: dict[str, Any]
    latitude: float
    longitude: float


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed(message, code="invalid_geometry", field="geometry")


def _no_constants(name: str) -> float:
    raise ValueError(name)  # NaN and Infinity are not JSON


class _Reader:
    """Walks the coordinates, counting positions and converting them to WGS84."""

    def __init__(self, srs: str) -> None:
        self.etrs = srs == ETRS_TM35FIN
        self.area = settings.KAPULA_MAP_AREA
        self.count = 0

    def position(self, value: Any) -> tuple[Position, tuple[float, float]]:
        """(the WGS84 position, the position as given); a third number (height) is
        allowed and dropped."""
        if not isinstance(value, list) or len(value) not in (2, 3) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in value):
            raise _invalid(_("Every position must be a list of two finite numbers."))
        self.count += 1
        if self.count > MAX_POSITIONS:
            raise _invalid(_("The geometry has too many positions (at most %(n)d).")
                           % {"n": MAX_POSITIONS})
        x, y = float(value[0]), float(value[1])
        if self.etrs:
            lat, lon = geo.etrs_to_wgs84(y, x)  # [easting, northing]
        else:
            lat, lon = round(y, 7), round(x, 7)
        if not geo.in_area(lat, lon, self.area):
            raise _invalid(_("The geometry is outside the service area."))
        return (lon, lat), (x, y)

    def positions(self, value: Any, least: int) -> tuple[list[Position], list[Position]]:
        if not isinstance(value, list):
            raise _invalid(_("The coordinates must be a list of positions."))
        if len(value) > MAX_POSITIONS:
            raise _invalid(_("The geometry has too many positions (at most %(n)d).")
                           % {"n": MAX_POSITIONS})
        pairs = [self.position(v) for v in value]
        if len(pairs) < least:
            raise _invalid(_("A LineString needs at least 2 positions.") if least == 2
                           else _("A MultiPoint needs at least one position."))
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def rings(self, value: Any) -> list[list[Position]]:
        if not isinstance(value, list) or not value:
            raise _invalid(_("A Polygon's coordinates must be a list of rings."))
        rings = []
        for ring in value:
            if not isinstance(ring, list):
                raise _invalid(_("A Polygon's coordinates must be a list of rings."))
            wgs84, given = self.positions(ring, 0)
            if len(given) < 4:
                raise _invalid(_("Every ring of a Polygon needs at least 4 positions."))
            if given[0] != given[-1]:
                raise _invalid(_("Every ring of a Polygon must be closed: its last position "
                                 "must be the same as its first."))
            wgs84[-1] = wgs84[0]
            rings.append(wgs84)
        return rings


def parse(raw: str, srs: str = WGS84) -> Shape:
    """The ``geometry`` parameter as a checked WGS84 geometry; ``srs`` is one of
    :data:`SRS`. The ticket's point is the Point itself, a MultiPoint's first point, a
    LineString's middle vertex (the ``(n - 1) // 2``-th, so the first of two) or a
    Polygon's :func:`polygon_point`."""
    if len(raw) > MAX_CHARS:
        raise _invalid(_("The geometry is too large."))
    try:
        data = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise _invalid(_("The geometry is not valid JSON.")) from None
    if not isinstance(data, dict) or "coordinates" not in data:
        raise _invalid(_("The geometry must be a GeoJSON geometry object with a type and "
                         "coordinates."))
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in TYPES:
        raise _invalid(_("The geometry type must be Point, MultiPoint, LineString or "
                         "Polygon."))
    reader = _Reader(srs)
    coordinates = data["coordinates"]
    out: Any
    if kind == "Point":
        point = reader.position(coordinates)[0]
        out = list(point)
    elif kind in ("MultiPoint", "LineString"):
        line = reader.positions(coordinates, 2 if kind == "LineString" else 1)[0]
        point = line[0] if kind == "MultiPoint" else line[(len(line) - 1) // 2]
        out = [list(p) for p in line]
    else:
        rings = reader.rings(coordinates)
        point = polygon_point(rings)
        out = [[list(p) for p in ring] for ring in rings]
    lon, lat = point
    return Shape({"type": kind, "coordinates": out}, latitude=lat, longitude=lon)


# --- the representative point -------------------------------------------------------------------


def _centroid(ring: list[Position]) -> Position | None:
    """The area centroid of a closed ring (shoelace formula, relative to its first vertex
    for precision); None when the ring has no area."""
    x0, y0 = ring[0]
    area2 = cx = cy = 0.0
    for (ax, ay), (bx, by) in itertools.pairwise(ring):
        ax, ay, bx, by = ax - x0, ay - y0, bx - x0, by - y0
        cross = ax * by - bx * ay
        area2 += cross
        cx += (ax + bx) * cross
        cy += (ay + by) * cross
    if abs(area2) < 1e-18:
        return None
    return x0 + cx / (3 * area2), y0 + cy / (3 * area2)


def _inside(point: Position, ring: list[Position]) -> bool:
    """Whether the point is inside the closed ring (ray casting)."""
    x, y = point
    inside = False
    for (ax, ay), (bx, by) in itertools.pairwise(ring):
        if (ay > y) != (by > y) and x < (bx - ax) * (y - ay) / (by - ay) + ax:
            inside = not inside
    return inside


def polygon_point(rings: list[list[Position]]) -> Position:
    """The centroid of the outer ring when it lies inside the polygon (not in a hole),
    else the outer ring's first vertex. Computed on the WGS84 degrees: close enough for the
    small areas that a report covers."""
    outer, holes = rings[0], rings[1:]
    centre = _centroid(outer)
    if centre is not None and _inside(centre, outer) and not any(
            _inside(centre, hole) for hole in holes):
        return round(centre[0], 7), round(centre[1], 7)
    return outer[0]

