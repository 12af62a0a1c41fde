"""Coordinates: WGS84 (EPSG:4326) <-> ETRS-TM35FIN (EPSG:3067)."""

from __future__ import annotations

from functools import lru_cache

from pyproj import Transformer


@lru_cache(maxsize=1)
def _to_3067() -> Transformer:
    return Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True)


@lru_cache(maxsize=1)
def _to_4326() -> Transformer:
    return Transformer.from_crs("EPSG:3067", "EPSG:4326", always_xy=True)


def wgs84_to_etrs(lat: float, lon: float) -> tuple[float, float]:
    """Return (northing, easting) in EPSG:3067."""
    easting, northing = _to_3067().transform(lon, lat)
    return round(northing, 2), round(easting, 2)


def etrs_to_wgs84(northing: float, easting: float) -> tuple[float, float]:
    """Return (lat, lon) in WGS84."""
    lon, lat = _to_4326().transform(easting, northing)
    return round(lat, 7), round(lon, 7)


# A generous bounding box of Finland's EPSG:3067 extent, to reject swapped or garbage input.
ETRS_BOUNDS = (6_600_000.0, 7_800_000.0, 50_000.0, 760_000.0)  # N min, N max, E min, E max
WGS84_BOUNDS = (58.5, 70.5, 18.0, 32.5)  # lat min, lat max, lon min, lon max
