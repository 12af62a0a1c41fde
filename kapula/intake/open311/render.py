"""Open311 responses in JSON or XML, and the spec's error lists.

JSON is the data as is. XML follows the GeoReport v2 examples: a root element per answer
(``<services>``, ``<service_requests>``...), one child element per list item (the names
in :data:`ITEM_TAGS`), ``true``/``false`` for booleans and an empty element for a missing
value. Text is escaped, and characters XML 1.0 cannot carry are dropped."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from xml.sax.saxutils import escape

from django.http import HttpResponse

FORMATS = ("json", "xml")
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"

#: the element name of one item of a list, by the list's name
ITEM_TAGS = {
    "services": "service", "attributes": "attribute", "values": "value",
    "service_requests": "request", "errors": "error", "endpoints": "endpoint",
    "formats": "format", "media_urls": "media_url", "request_history": "entry",
    "coordinates": "coordinate",
}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    text = value if type(value) is str else str(value)
    if _NOT_XML.search(text):
        text = _NOT_XML.sub("", text)
    return escape(text)


def _element(tag: str, value: Any, out: list[str]) -> None:
    # plain type checks: this runs for every field of up to 1,000 records
    kind = type(value)
    if kind is dict or (kind is not str and isinstance(value, Mapping)):
        out.append(f"<{tag}>")
        for key, item in value.items():
            _element(key, item, out)
        out.append(f"</{tag}>")
    elif kind is list or kind is tuple:
        out.append(f"<{tag}>")
        child = ITEM_TAGS.get(tag, "item")
        for item in value:
            _element(child, item, out)
        out.append(f"</{tag}>")
    elif value is None or value == "":
        out.append(f"<{tag}/>")
    else:
        out.append(f"<{tag}>{_text(value)}</{tag}>")


def to_xml(root: str, data: Any) -> bytes:
    out = ['<?xml version="1.0" encoding="utf-8"?>']
    _element(root, data, out)
    return "".join(out).encode()


def respond(fmt: str, root: str, data: Any, status: int = 200) -> HttpResponse:
    """``data`` as JSON, or as XML under the element ``root``."""
    if fmt == "xml":
        return HttpResponse(to_xml(root, data), status=status, content_type=XML_TYPE)
    # ASCII with \u escapes: the C encoder's fast path (a 1,000-request page in half the time)
    body = json.dumps(data, separators=(",", ":"))
    return HttpResponse(body.encode(), status=status, content_type=JSON_TYPE)


def errors(fmt: str, status: int, descriptions: Iterable[str]) -> HttpResponse:
    """The spec's error list: one ``{"code", "description"}`` per problem."""
    items = [{"code": status, "description": str(d)} for d in descriptions]
    return respond(fmt if fmt in FORMATS else "json", "errors", items, status=status)
