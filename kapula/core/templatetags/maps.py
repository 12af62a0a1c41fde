"""Template tags of the maps: ``{% map_assets %}`` adds Leaflet, proj4, the map options and
our map script to a page (once). With no layers configured, or without the vendored
libraries (scripts/assets.sh), no map is drawn and the location fields stay plain inputs."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from kapula.core import geo

register = template.Library()

VENDOR_FILES = ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css",
                "vendor/proj4/proj4.js", "vendor/proj4/proj4leaflet.js")


def vendor_available() -> bool:
    return all(finders.find(name) for name in VENDOR_FILES)


def _texts() -> dict[str, str]:
    """The map script's messages, in the page's language (%(…)s placeholders)."""
    return {
        "chosen": _("Location chosen: %(lat)s, %(lon)s."),
        "etrs": _("ETRS-TM35FIN: N %(n)s, E %(e)s."),
        "outside": _("The location is outside the service area."),
        "invalid": _("The coordinates are not valid numbers."),
        "locating": _("Finding your location…"),
        "located": _("Your location was found."),
        "locate_failed": _("Your location could not be found. Choose the point on the map "
                           "or type the coordinates."),
        "marker": _("Chosen location"),
        "open": _("Open the ticket"),
        "load_failed": _("The tickets could not be loaded on the map."),
        "none": _("No tickets to show on the map."),
    }


@register.simple_tag(takes_context=True)
def map_assets(context: Any) -> str:
    """Stylesheets, scripts and options of the maps: once per page."""
    request = context.get("request")
    if request is not None:
        if getattr(request, "_kapula_map_assets", False):
            return ""
        request._kapula_map_assets = True
    vendor = vendor_available()
    options = {**geo.map_options(), "text": _texts()}
    if not vendor:
        options["layers"] = []
    return SafeString(render_to_string("maps/_assets.html", {
        "options": options, "leaflet": bool(options["layers"]), "vendor": vendor,
        "csp_nonce": context.get("csp_nonce", "")}))
