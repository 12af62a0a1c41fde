"""Public web forms: the organisation's catalogue, one guided form per service, and the
confirmation page. They parse the request, call :func:`kapula.catalogue.actions.submit`
and render the result; validation lives in the action.

Spam protection without third parties: a hidden honeypot field, a signed time stamp (a form
sent within seconds of being shown, or a day later, is refused), and a rate limit per
client address and per email address. Intranet-only services need a login.

Embedding: ``.../embed/`` pages show a public service's form with minimal chrome inside a
frame on the organisation's own website (frame-ancestors lists its origins). Their POST is
exempt from the CSRF cookie check, which a cross-site frame cannot pass (the cookie is
SameSite=Lax); it ignores any session, so a forged POST carries no authority, and it keeps
the signed time stamp, the honeypot, the rate limits and an Origin check. See
docs/subsystems/catalogue.md."""

from __future__ import annotations

import hashlib
import time
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.csp import CSP  # type: ignore[import-untyped,unused-ignore]
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import etag, require_GET, require_http_methods

from kapula.catalogue.actions import Submission, submit
from kapula.catalogue.models import FieldKind, Service, Visibility
from kapula.core import ratelimit
from kapula.core.errors import ActionError
from kapula.core.models import Organisation
from kapula.tickets.actions import Location
from kapula.tickets.attachments import AttachmentInput
from kapula.tickets.models import Channel, Ticket

STAMP_SALT = "kapula.webform.shown"
THANKS_SALT = "kapula.webform.thanks"
MAX_AGE_SECONDS = 24 * 3600


def _organisation(slug: str) -> Organisation:
    org = Organisation.objects.filter(slug=slug).first()
    if org is None:
        raise Http404
    return org


def _visible(request: HttpRequest, org: Organisation) -> Any:
    """The services this visitor may use on the web."""
    qs = Service.objects.filter(organisation=org, is_active=True, on_web=True)
    user = request.user
    if user.is_authenticated and getattr(user, "organisation_id", None) == org.pk:
        return qs
    return qs.filter(visibility__in=[Visibility.PUBLIC, Visibility.BOTH])


def _language() -> str:
    lang = (get_language() or "fi")[:2]
    return lang if lang in ("fi", "sv", "en") else "fi"


@require_GET
def catalogue_view(request: HttpRequest, org: str) -> HttpResponse:
    organisation = _organisation(org)
    services = list(_visible(request, organisation).only(
        "code", "name_fi", "name_sv", "name_en", "description_fi", "description_sv",
        "description_en", "group", "ordering"))
    groups: dict[str, list[Service]] = {}
    for service in services:
        groups.setdefault(service.group, []).append(service)
    return render(request, "webform/catalogue.html", {
        "organisation": organisation, "groups": sorted(groups.items()),
        "title": _("Services of %(org)s") % {"org": organisation.name},
    })


def _client(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _over_limit(*keys: str) -> bool:
    """Count one submission for each key; True when any is over the limit."""
    limit, seconds = ratelimit.parse_rate(settings.KAPULA_WEBFORM_RATE, (10, 3600))
    counts = [ratelimit.count(f"kapula:webform:{key}", seconds) for key in keys]
    return any(n > limit for n in counts)


def _float(value: str) -> float | None:
    try:
        number = float(value.replace(",", ".").strip())
    except (ValueError, AttributeError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _location(request: HttpRequest) -> Location | None:
    address = request.POST.get("location_address", "").strip()[:300]
    lat = _float(request.POST.get("location_lat", ""))
    lon = _float(request.POST.get("location_lon", ""))
    if not address and (lat is None or lon is None):
        return None
    if lat is None or lon is None:
        return Location(address=address)
    return Location(latitude=lat, longitude=lon, address=address)


def field_rows(service: Service, data: Any, errors: dict[str, str],
               language: str) -> list[dict[str, Any]]:
    """What ``webform/_fields.html`` shows: each field of the service with the value given
    (``data`` is a QueryDict or empty), its error and its choices in ``language``."""
    rows = []
    for f in service.fields.all():
        raw: Any = (data.getlist(f.code) if f.kind == FieldKind.MULTICHOICE else
                    data.get(f.code, "")) if data else ([] if f.kind == FieldKind.MULTICHOICE
                                                       else "")
        rows.append({"field": f, "value": raw, "error": errors.get(f.code, ""),
                     "choices": f.choice_pairs(language)})
    return rows


def posted_values(data: QueryDict) -> dict[str, Any]:
    """The answers of a posted form: a list for a repeated key (multiple choice)."""
    return {key: (data.getlist(key) if len(data.getlist(key)) > 1 else data.get(key, ""))
            for key in data}


def posted_files(request: HttpRequest, service: Service) -> dict[str, list[AttachmentInput]]:
    """The files of each attachment field (at most ten each). A file is read only up to one
    byte past the size limit: enough for the action to refuse it, never all of a huge one."""
    cap = settings.KAPULA_MAX_ATTACHMENT_BYTES + 1
    return {
        f.code: [AttachmentInput(u.name or "attachment", u.read(cap), u.content_type or "")
                 for u in request.FILES.getlist(f.code)[:10]]
        for f in service.fields.all() if f.kind == FieldKind.ATTACHMENT
    }


def posted_location(request: HttpRequest) -> Location | None:
    return _location(request)


def error_target(service: Service, exc: ActionError) -> dict[str, str]:
    """The action error as {field code: message}: an attachment or location error goes to
    the service's attachment or location field."""
    errors = dict(exc.details.get("fields") or {})
    if exc.field and exc.field not in errors:
        target = {"attachments": next((f.code for f in service.fields.all()
                                       if f.kind == FieldKind.ATTACHMENT), "description"),
                  "location": next((f.code for f in service.fields.all()
                                    if f.kind == FieldKind.LOCATION), "description"),
                  }.get(exc.field, exc.field)
        errors[target] = exc.message
    return errors


def _render_form(request: HttpRequest, service: Service, *, errors: dict[str, str] | None = None,
                 message: str = "", status: int = 200, embed: bool = False) -> HttpResponse:
    errors = errors or {}
    data: Any = request.POST if request.method == "POST" else {}
    rows = field_rows(service, data, errors, _language())
    summary = [(code, text) for code, text in errors.items()]
    return render(request, "webform/embed_form.html" if embed else "webform/form.html", {
        "organisation": service.organisation, "service": service, "rows": rows,
        "errors": errors, "summary": summary, "message": message, "data": data,
        "stamp": signing.Signer(salt=STAMP_SALT).sign(f"{service.pk}:{int(time.time())}"),
        "title": service.name, "FieldKind": FieldKind, "embed": embed,
        "login_url": reverse("desk:login") + "?" + urlencode({"next": request.path}),
    }, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def form_view(request: HttpRequest, org: str, code: str) -> HttpResponse:
    organisation = _organisation(org)
    service = Service.objects.filter(organisation=organisation, code=code, is_active=True,
                                     on_web=True).select_related("organisation").first()
    if service is None:
        raise Http404
    if service.visibility == Visibility.INTRANET and not (
            request.user.is_authenticated
            and getattr(request.user, "organisation_id", None) == organisation.pk):
        if request.user.is_authenticated:
            raise Http404
        return HttpResponseRedirect(reverse("desk:login") + "?" + urlencode(
            {"next": request.path}))
    if request.method == "GET":
        return _render_form(request, service)
    return _submit(request, service)


def _stamp_age(stamp: str, service: Service) -> float | None:
    """Seconds since this service's form was shown; None for a missing, forged, foreign
    or day-old stamp."""
    try:
        service_id, shown = signing.Signer(salt=STAMP_SALT).unsign(stamp).split(":", 1)
        age = time.time() - int(shown)
    except (signing.BadSignature, ValueError):
        return None
    return age if service_id == str(service.pk) and age <= MAX_AGE_SECONDS else None


def _submit(request: HttpRequest, service: Service, *, embed: bool = False) -> HttpResponse:
    if request.POST.get("website"):  # the honeypot: people never see this field
        return _render_form(request, service, status=400, embed=embed, message=_(
            "The form could not be sent. Please try again."))
    age = _stamp_age(request.POST.get("stamp", ""), service)
    if age is None:
        return _render_form(request, service, status=400, embed=embed, message=_(
            "The form was open for too long. Check your answers and send it again."))
    if age < settings.KAPULA_WEBFORM_MIN_SECONDS:
        return _render_form(request, service, status=400, embed=embed, message=_(
            "The form was sent too quickly. Check your answers and send it again."))
    email = request.POST.get("email", "").strip()[:254]
    keys = [f"ip:{_client(request)}"] + ([f"email:{email.lower()}"] if email else [])
    if _over_limit(*keys):
        return _render_form(request, service, status=429, embed=embed, message=_(
            "Too many messages have been sent from here. Please try again later."))
    # an embedded form ignores any session: its POST is not CSRF-checked (see the top)
    user = request.user if request.user.is_authenticated and not embed else None
    sub = Submission(
        service=service, channel=Channel.WEB_FORM, language=_language(),
        description=request.POST.get("description", ""), values=posted_values(request.POST),
        files=posted_files(request, service), location=_location(request),
        name=request.POST.get("name", "")[:200], email=email,
        phone=request.POST.get("phone", "")[:40], actor=None,
    )
    if user is not None and not sub.email and user.email:
        sub.email = user.email
        sub.name = sub.name or user.get_full_name()
    try:
        result = submit(sub)
    except ActionError as exc:
        return _render_form(request, service, errors=error_target(service, exc),
                            status=exc.status, message=exc.message, embed=embed)
    token = signing.TimestampSigner(salt=THANKS_SALT).sign(str(result.ticket.pk))
    if embed:
        return HttpResponseRedirect(reverse("webform:embed_thanks", args=[
            service.organisation.slug, service.code, token]) + _lang_query(request))
    return HttpResponseRedirect(reverse("webform:thanks", args=[
        service.organisation.slug, service.code, token]))


@require_GET
def thanks_view(request: HttpRequest, org: str, code: str, token: str) -> HttpResponse:
    return _thanks(request, org, code, token)


def _thanks(request: HttpRequest, org: str, code: str, token: str, *,
            embed: bool = False) -> HttpResponse:
    organisation = _organisation(org)
    try:
        ticket_id = signing.TimestampSigner(salt=THANKS_SALT).unsign(token, max_age=3600)
    except signing.BadSignature:
        raise Http404 from None
    ticket = Ticket.objects.filter(pk=int(ticket_id), organisation=organisation).only(
        "number", "customer_id").first()
    services = Service.objects.filter(organisation=organisation, code=code)
    if embed:
        services = _embeddable(services)
    service = services.first()
    if ticket is None or service is None:
        raise Http404
    emailed = bool(ticket.customer_id) and ticket.customer is not None and any(
        c.kind == "email" for c in ticket.customer.contacts.all())
    return render(request, "webform/embed_thanks.html" if embed else "webform/thanks.html", {
        "organisation": organisation, "service": service, "ticket": ticket,
        "emailed": emailed, "title": _("Thank you"), "embed": embed,
        "again_url": reverse("webform:embed", args=[organisation.slug, service.code])
        + _lang_query(request) if embed else "",
    })


# --- embedding in the organisation's own website ------------------------------------------


def _embeddable(services: Any) -> Any:
    """Services whose form may be shown in another site's frame: public, on the web."""
    return services.filter(is_active=True, on_web=True,
                           visibility__in=[Visibility.PUBLIC, Visibility.BOTH])


def _lang_query(request: HttpRequest) -> str:
    lang = request.GET.get("lang", "")
    return "?" + urlencode({"lang": lang}) if lang in ("fi", "sv", "en") else ""


def _embed_language(request: HttpRequest) -> str:
    """The ``lang`` of the address (the host page's choice, and the frame's language
    switch: a cookie set inside a cross-site frame would not come back), else the usual."""
    lang = request.GET.get("lang", "")
    return lang if lang in ("fi", "sv", "en") else _language()


def _framed(response: HttpResponse, organisation: Organisation, language: str) -> HttpResponse:
    """Let the organisation's own websites (and Kapula itself) show ``response`` in a frame:
    the rest of the Content-Security-Policy stays as configured."""
    response._csp_config = {  # type: ignore[attr-defined]  # read by the CSP middleware
        **settings.SECURE_CSP,
        "frame-ancestors": [CSP.SELF, *organisation.embed_origin_list],
    }
    response.headers["Content-Language"] = language
    return response


def _same_origin(request: HttpRequest) -> bool:
    """A browser's POST from our own embedded page carries our own origin. Another site
    posting straight to the form (to spend its visitors' addresses on spam) does not."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser (browsers send Origin with every POST)
    own = f"{request.scheme}://{request.get_host()}"
    return origin == own or origin in settings.CSRF_TRUSTED_ORIGINS


@xframe_options_exempt
@csrf_exempt  # see the module's docstring: the signed stamp, honeypot and limits remain
@never_cache
@require_http_methods(["GET", "POST"])
def embed_view(request: HttpRequest, org: str, code: str) -> HttpResponse:
    organisation = _organisation(org)
    service = _embeddable(Service.objects.filter(organisation=organisation, code=code)) \
        .select_related("organisation").first()
    if service is None:  # an intranet service is never embeddable
        raise Http404
    language = _embed_language(request)
    with translation.override(language):
        if request.method == "GET":
            response = _render_form(request, service, embed=True)
        elif not _same_origin(request):
            response = _render_form(request, service, status=403, embed=True, message=_(
                "The form could not be sent. Please try again."))
        else:
            response = _submit(request, service, embed=True)
    return _framed(response, organisation, language)


@xframe_options_exempt
@require_GET
def embed_thanks_view(request: HttpRequest, org: str, code: str, token: str) -> HttpResponse:
    organisation = _organisation(org)
    language = _embed_language(request)
    with translation.override(language):
        response = _thanks(request, org, code, token, embed=True)
    return _framed(response, organisation, language)


EMBED_SCRIPT = Path(__file__).resolve().parent / "static" / "webform" / "embed.js"


@cache
def _embed_script() -> tuple[bytes, str]:
    content = EMBED_SCRIPT.read_bytes()
    return content, hashlib.sha256(content).hexdigest()[:32]


@require_GET
@etag(lambda request: _embed_script()[1])
def embed_script_view(request: HttpRequest) -> HttpResponse:
    """The script a website includes to show forms: a stable address, cached for a day
    (and revalidated by its ETag)."""
    response = HttpResponse(_embed_script()[0], content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response
