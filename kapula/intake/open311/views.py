"""The Open311 GeoReport v2 endpoints under ``/open311/v2/``.

Plain Django views: they parse the query or form, call a query or the
:func:`~kapula.intake.open311.actions.open_request` action and render JSON or XML by the format
suffix. Every error, whatever the input, is the spec's error list with a 4xx status.
Requests are opened with an API key (``api_key``), so they are exempt from CSRF; every
answer allows any origin (CORS) for browser clients such as map services."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.http.multipartparser import MultiPartParserError
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from kapula.catalogue.actions import Submission
from kapula.catalogue.models import FieldKind, Service
from kapula.core import geo, ratelimit
from kapula.core.errors import ActionError, Forbidden, NotFound
from kapula.core.models import Organisation
from kapula.intake.open311 import cache, geometry, queries
from kapula.intake.open311.actions import RequestDetails, find_client, open_request
from kapula.intake.open311.models import Open311Client
from kapula.intake.open311.render import FORMATS, errors, respond
from kapula.tickets.actions import Location
from kapula.tickets.attachments import AttachmentInput
from kapula.tickets.models import Channel, Ticket

RECEIPT_SALT = "kapula.intake.open311.token"
CHANGESET = "2026-11-30T00:00:00+02:00"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,100})\](\[\])?$")
_NUMBERS = re.compile(r"^[A-Za-z0-9-]{1,32}$")
MAX_TITLE = 200


class Problem(Exception):
    """An error answer: an HTTP status and one description per problem."""

    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__(descriptions[0] if descriptions else "")
        self.status = status
        self.descriptions = list(descriptions)


def _cors[R: HttpResponseBase](response: R) -> R:
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "86400"
    return response


def endpoint(*methods: str) -> Callable[[Callable[..., HttpResponse]],
                                        Callable[..., HttpResponse]]:
    """Allowed methods, the format suffix, CORS and the spec's errors for one endpoint."""

    def wrap(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def inner(request: HttpRequest, *args: Any, fmt: str = "json",
                  **kwargs: Any) -> HttpResponse:
            fmt = fmt.lower()
            if request.method == "OPTIONS":
                response = HttpResponse(status=204)
                response["Allow"] = ", ".join((*methods, "OPTIONS"))
                return _cors(response)
            if fmt not in FORMATS:
                return _cors(errors("json", 404, [_("Unknown format: use .json or .xml.")]))
            allowed = (*methods, "HEAD") if "GET" in methods else methods
            if request.method not in allowed:
                response = errors(fmt, 405, [_("Method not allowed.")])
                response["Allow"] = ", ".join((*methods, "OPTIONS"))
                return _cors(response)
            try:
                # errors found before the organisation is known are in the locale asked for
                asked = _param(request, "locale")[:5].lower().replace("_", "-").split("-")[0]
                with (translation.override(asked) if asked in queries.LANGUAGES
                      else contextlib.nullcontext()):
                    return _cors(view(request, *args, fmt=fmt, **kwargs))
            except Problem as problem:
                return _cors(errors(fmt, problem.status, problem.descriptions))
            except (MultiPartParserError, SuspiciousOperation, UnicodeDecodeError):
                # a broken or oversized body, too many fields, undecodable text
                return _cors(errors(fmt, 400, [_("The request could not be read.")]))

        return csrf_exempt(inner)

    return wrap


# --- parameters ---------------------------------------------------------------------------------


def _param(request: HttpRequest, name: str) -> str:
    data = request.POST if request.method == "POST" else request.GET
    value = str(data.get(name, "") or request.GET.get(name, ""))
    return value.replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL


def _organisation(request: HttpRequest, client: Open311Client | None = None) -> Organisation:
    slug = _param(request, "jurisdiction_id")
    if slug:
        org = Organisation.objects.filter(slug=slug[:50]).first()
        if org is None:
            raise Problem(404, _("Unknown jurisdiction_id."))
        return org
    if client is not None:
        return client.organisation
    found = queries.organisations_with_services()
    if len(found) != 1:
        raise Problem(400, _("jurisdiction_id is required."))
    return Organisation.objects.get(pk=found[0])


def _language(request: HttpRequest, org: Organisation) -> str:
    locale = _param(request, "locale").lower()
    if not locale:
        return org.default_language if org.default_language in queries.LANGUAGES else "fi"
    locale = locale.replace("_", "-").split("-")[0]
    if locale not in queries.LANGUAGES:
        raise Problem(400, _("Unknown locale: use fi, sv or en."))
    return locale


def _when(value: str, name: str, end: bool = False) -> dt.datetime | None:
    if not value:
        return None
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
        else:
            moment = dt.datetime.fromisoformat(value.replace(" ", "+"))
    except ValueError:
        raise Problem(400, _("%(name)s must be a date and time in ISO 8601, for example "
                             "2026-11-23T10:00:00+02:00.") % {"name": name}) from None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=queries.HELSINKI)
    return moment


def _int(value: str, name: str, default: int, lo: int, hi: int) -> int:
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = lo - 1
    if not lo <= number <= hi:
        raise Problem(400, _("%(name)s must be a whole number from %(lo)d to %(hi)d.")
                      % {"name": name, "lo": lo, "hi": hi})
    return number


def _filter(request: HttpRequest) -> queries.RequestFilter:
    flt = queries.RequestFilter(
        extensions=_param(request, "extensions").lower() in ("true", "1", "yes"),
        page=_int(_param(request, "page"), "page", 1, 1, 100_000),
        page_size=_int(_param(request, "page_size"), "page_size", queries.MAX_PAGE_SIZE, 1,
                       queries.MAX_PAGE_SIZE))
    numbers = [n.strip() for n in _param(request, "service_request_id").split(",") if n.strip()]
    if numbers:
        if len(numbers) > queries.MAX_PAGE_SIZE or not all(_NUMBERS.match(n) for n in numbers):
            raise Problem(400, _("service_request_id must be a comma-separated list of "
                                 "request numbers."))
        flt.numbers = numbers
        return flt
    flt.service_codes = [c.strip() for c in _param(request, "service_code").split(",")
                         if c.strip()][:100]
    flt.start = _when(_param(request, "start_date"), "start_date")
    flt.end = _when(_param(request, "end_date"), "end_date", end=True)
    if flt.start and flt.end and flt.start > flt.end:
        raise Problem(400, _("start_date must be before end_date."))
    if flt.start is None:
        flt.start = (flt.end or timezone.now()) - dt.timedelta(days=queries.DEFAULT_DAYS)
    statuses = {s.strip().lower() for s in _param(request, "status").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        raise Problem(400, _("status must be open, closed or both (open,closed)."))
    flt.statuses = statuses
    return flt


# --- endpoints ----------------------------------------------------------------------------------


@endpoint("GET")
def discovery_view(request: HttpRequest, fmt: str) -> HttpResponse:
    base = request.build_absolute_uri(reverse("open311:discovery", args=["json"])).rsplit(
        "/", 1)[0] + "/"
    return respond(fmt, "discovery", {
        "changeset": CHANGESET,
        "contact": _("Send feedback through the organisation's customer service."),
        "key_service": _("Ask the organisation's administrators for an API key."),
        "endpoints": [{"specification": SPECIFICATION, "url": base, "changeset": CHANGESET,
                       "type": "production", "formats": ["application/json", "text/xml"]}],
    })


@endpoint("GET")
def services_view(request: HttpRequest, fmt: str) -> HttpResponse:
    org = _organisation(request)
    language = _language(request, org)
    with translation.override(language):
        return respond(fmt, "services", queries.services(org.pk, language))


def _service(org: Organisation, code: str, cached: bool = False) -> Service:
    """A listed service with its form (from the process cache when ``cached``)."""
    key = ("service", org.pk, code[:50])
    service: Service | None = cache.get(key) if cached else None
    if service is None:
        service = (queries.listed_services(org.pk).filter(code=code[:50])
                   .select_related("organisation", "team", "ticket_type", "category")
                   .prefetch_related("fields").first())
        if service is None:
            raise Problem(404, _("Unknown service_code."))
        if cached:
            cache.put(key, service)
    return service


@endpoint("GET")
def service_view(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    org = _organisation(request)
    language = _language(request, org)
    service = _service(org, code)
    with translation.override(language):
        return respond(fmt, "service_definition", queries.definition(service, language))


@endpoint("GET", "POST")
def requests_view(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _post_request(request, fmt)
    org = _organisation(request)
    language = _language(request, org)
    with translation.override(language):
        flt = _filter(request)
        listed = queries.Listed.load(org.pk)
        rows = queries.request_rows(org.pk, listed, flt, language)
        return respond(fmt, "service_requests",
                       queries.records(rows, listed, language, flt.extensions))


@endpoint("GET")
def request_view(request: HttpRequest, number: str, fmt: str) -> HttpResponse:
    org = _organisation(request)
    language = _language(request, org)
    with translation.override(language):
        if not _NUMBERS.match(number):
            raise Problem(404, _("Unknown service_request_id."))
        listed = queries.Listed.load(org.pk)
        flt = queries.RequestFilter(
            numbers=[number], extensions=_param(request, "extensions").lower() in (
                "true", "1", "yes"))
        rows = queries.request_rows(org.pk, listed, flt, language)
        if not rows:
            raise Problem(404, _("Unknown service_request_id."))
        return respond(fmt, "service_requests",
                       queries.records(rows, listed, language, flt.extensions))


def make_token(ticket_id: int) -> str:
    return signing.Signer(salt=RECEIPT_SALT).sign(str(ticket_id)).replace(":", "-")


def _token_ticket(token: str) -> int | None:
    try:
        value = signing.Signer(salt=RECEIPT_SALT).unsign(token.replace("-", ":", 1))
        return int(value)
    except (signing.BadSignature, ValueError):
        return None


@endpoint("GET")
def token_view(request: HttpRequest, token: str, fmt: str) -> HttpResponse:
    ticket_id = _token_ticket(token)
    ticket = Ticket.objects.filter(pk=ticket_id).only("number", "organisation_id").first() \
        if ticket_id else None
    slug = _param(request, "jurisdiction_id")
    if ticket is not None and slug and not Organisation.objects.filter(
            pk=ticket.organisation_id, slug=slug[:50]).exists():
        ticket = None
    if ticket is None:
        raise Problem(404, _("Unknown token."))
    return respond(fmt, "service_requests", [{"service_request_id": ticket.number,
                                              "token": token}])


def media_view(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    """An image of a published request, for the ``media_url`` of its record."""
    if request.method not in ("GET", "HEAD"):
        return _cors(errors("json", 405, [_("Method not allowed.")]))
    attachment = queries.published_image(attachment_id)
    if attachment is None:
        return _cors(errors("json", 404, [_("Unknown media.")]))
    try:
        handle = attachment.file.open("rb")
    except OSError:
        return _cors(errors("json", 404, [_("Unknown media.")]))
    response = FileResponse(handle, content_type=attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "public, max-age=300"
    return _cors(response)


@csrf_exempt
def not_found_view(request: HttpRequest, rest: str = "") -> HttpResponse:
    fmt = "xml" if rest.lower().endswith(".xml") else "json"
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))
    return _cors(errors(fmt, 404, [_("Not found.")]))


# --- POST requests ------------------------------------------------------------------------------


def _float(value: str, name: str) -> float | None:
    if not value:
        return None
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        number = float("nan")
    if number != number or abs(number) == float("inf"):
        raise Problem(400, _("%(name)s must be a number.") % {"name": name})
    return number


def _attributes(request: HttpRequest, service: Service) -> dict[str, Any]:
    kinds = {f.code: f.kind for f in service.fields.all()}
    values: dict[str, Any] = {}
    for key in request.POST:
        match = _ATTRIBUTE.match(key)
        if not match:
            continue
        code, many = match.group(1), bool(match.group(2))
        kind = kinds.get(code)
        if kind is None or kind in queries.NOT_ATTRIBUTES:
            continue  # not a question of this service's form
        given = [v.replace("\x00", "").strip() for v in request.POST.getlist(key)]
        given = [v for v in given if v]
        if kind == FieldKind.MULTICHOICE:
            values.setdefault(code, []).extend(given)
        elif given:
            value = given[-1] if not many else given[0]
            if kind == FieldKind.DATE and "T" in value:
                value = value.split("T", 1)[0]  # a datetime: the form asks for the day
            values[code] = value
    return values


def _srs(request: HttpRequest) -> str:
    srs = _param(request, "srs").upper() or geometry.WGS84
    if srs not in geometry.SRS:
        raise Problem(400, _("srs must be EPSG:4326 or EPSG:3067."))
    return srs


def _location(request: HttpRequest
              ) -> tuple[Location, str, dict[str, Any] | None]:
    """The request's location, its address id, and the geometry when one was posted. With
    ``srs=EPSG:3067``, ``lat`` is the northing and ``long`` the easting."""
    srs = _srs(request)
    address = _param(request, "address_string")[:300]
    address_id = _param(request, "address_id")[:100]
    raw = _param(request, "geometry")
    if raw:  # the geometry is the location: lat and long are not read
        try:
            shape = geometry.parse(raw, srs)
        except ActionError as exc:
            raise Problem(400, f"geometry: {exc.message}") from None
        return (Location(latitude=shape.latitude, longitude=shape.longitude,
                         address=address or address_id), address_id, shape.geometry)
    lat = _float(_param(request, "lat"), "lat")
    lon = _float(_param(request, "long"), "long")
    if (lat is None) != (lon is None):
        raise Problem(400, _("Give both lat and long."))
    if lat is None and not address and not address_id:
        raise Problem(400, _("A location is required: lat and long, geometry, "
                             "address_string or address_id."))
    if lat is not None and lon is not None and srs == geometry.ETRS_TM35FIN:
        lat, lon = geo.etrs_to_wgs84(lat, lon)  # northing, easting
    return Location(latitude=lat, longitude=lon, address=address or address_id), address_id, \
        None


def _media(request: HttpRequest) -> list[AttachmentInput]:
    uploads = request.FILES.getlist("media")
    if not uploads:
        return []
    if len(uploads) > 5:
        raise Problem(400, _("At most 5 media files per request."))
    limit = settings.KAPULA_MAX_ATTACHMENT_BYTES
    files = []
    for upload in uploads:
        declared = (upload.content_type or "").split(";")[0].strip().lower()
        if declared not in queries.IMAGE_TYPES:
            raise Problem(400, _("The media file must be an image (JPEG, PNG, GIF or WebP)."))
        if (upload.size or 0) > limit:
            raise Problem(400, _("The media file is too large (at most %(size)s).")
                          % {"size": filesizeformat(limit)})
        files.append(AttachmentInput(upload.name or "media", upload.read(limit + 1),
                                     declared))
    return files


def _over_limit(client: Open311Client) -> bool:
    limit, seconds = ratelimit.parse_rate(settings.KAPULA_OPEN311_RATE, (100_000, 60))
    return ratelimit.count(f"kapula:open311:{client.pk}", seconds) > limit


FIELD_NAMES = {"location": "lat/long", "attachments": "media"}


def _problems(exc: ActionError, service: Service) -> list[str]:
    """One description per problem of a failed submission."""
    kinds = {f.code: f.kind for f in service.fields.all()}
    out = []
    for code, message in (exc.details.get("fields") or {}).items():
        if kinds.get(code) == FieldKind.LOCATION:
            name = "lat/long"
        elif kinds.get(code) == FieldKind.ATTACHMENT:
            name = "media"
        elif code in kinds:
            name = f"attribute[{code}]"
        else:
            name = code
        out.append(f"{name}: {message}")
    if not out:
        name = FIELD_NAMES.get(exc.field or "", exc.field or "")
        out.append(f"{name}: {exc.message}" if name else exc.message)
    return out


def _post_request(request: HttpRequest, fmt: str) -> HttpResponse:
    client = find_client(_param(request, "api_key"))
    if client is None:
        raise Problem(403, _("A valid api_key is required."))
    org = _organisation(request, client)
    if org.pk != client.organisation_id:
        raise Problem(403, _("This api_key belongs to another jurisdiction."))
    language = _language(request, org)
    with translation.override(language):
        if _over_limit(client):
            raise Problem(429, _("Too many requests. Please try again later."))
        code = _param(request, "service_code")
        if not code:
            raise Problem(400, _("service_code is required."))
        service = _service(org, code, cached=True)
        location, address_id, shape = _location(request)
        description = _param(request, "description")
        if len(description) > 4000:
            raise Problem(400, _("description: At most %(n)d characters.") % {"n": 4000})
        title = _param(request, "title")
        if len(title) > MAX_TITLE:
            raise Problem(400, "title: " + _("At most %(n)d characters.") % {"n": MAX_TITLE})
        files = _media(request)
        attachment_field = next((f.code for f in service.fields.all()
                                 if f.kind == FieldKind.ATTACHMENT), "media")
        name = " ".join(p for p in (_param(request, "first_name")[:100],
                                    _param(request, "last_name")[:100]) if p)
        sub = Submission(
            service=service, channel=Channel.MOBILE_APP, language=language,
            description=description, values=_attributes(request, service),
            files={attachment_field: files} if files else {}, location=location, name=name,
            email=_param(request, "email")[:254], phone=_param(request, "phone")[:40],
            title=title)
        details = RequestDetails(
            device_id=_param(request, "device_id"), account_id=_param(request, "account_id"),
            address_id=address_id, media_url=_media_url(_param(request, "media_url")),
            geometry=shape)
        try:
            result = open_request(client=client, submission=sub, details=details)
        except IntegrityError:  # the cached service was deleted a moment ago
            cache.forget()
            raise Problem(409, _("The service has changed. Please send the request "
                                 "again.")) from None
        except (Forbidden, NotFound) as exc:
            raise Problem(exc.status, exc.message) from None
        except ActionError as exc:
            raise Problem(400, *_problems(exc, service)) from None
        account = details.account_id[:100] or None
        return respond(fmt, "service_requests", [{
            "service_request_id": result.ticket.number, "token": make_token(result.ticket.pk),
            "service_notice": None, "account_id": account,
        }])


def _media_url(value: str) -> str:
    if not value:
        return ""
    if len(value) > 500 or not re.match(r"^https?://[^\s<>\"]+$", value):
        raise Problem(400, _("media_url must be an http or https address."))
    return value
