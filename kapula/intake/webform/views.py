"""Public web forms: the organisation's catalogue, one guided form per service, and the
confirmation page. They parse the request, call :func:`kapula.catalogue.actions.submit`
and render the result; validation lives in the action.

Spam protection without third parties: a hidden honeypot field, a signed time stamp (a form
sent within seconds of being shown, or a day later, is refused), and a rate limit per
client address and per email address. Intranet-only services need a login."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

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


def _render_form(request: HttpRequest, service: Service, *, errors: dict[str, str] | None = None,
                 message: str = "", status: int = 200) -> HttpResponse:
    fields = list(service.fields.all())
    errors = errors or {}
    data: Any = request.POST if request.method == "POST" else {}
    rows = []
    for f in fields:
        raw: Any = (data.getlist(f.code) if f.kind == FieldKind.MULTICHOICE else
                    data.get(f.code, "")) if data else ([] if f.kind == FieldKind.MULTICHOICE
                                                       else "")
        rows.append({"field": f, "value": raw, "error": errors.get(f.code, ""),
                     "choices": f.choice_pairs(_language())})
    summary = [(code, text) for code, text in errors.items()]
    return render(request, "webform/form.html", {
        "organisation": service.organisation, "service": service, "rows": rows,
        "errors": errors, "summary": summary, "message": message, "data": data,
        "stamp": signing.Signer(salt=STAMP_SALT).sign(f"{service.pk}:{int(time.time())}"),
        "title": service.name, "FieldKind": FieldKind,
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


def _submit(request: HttpRequest, service: Service) -> HttpResponse:
    if request.POST.get("website"):  # the honeypot: people never see this field
        return _render_form(request, service, status=400, message=_(
            "The form could not be sent. Please try again."))
    age = _stamp_age(request.POST.get("stamp", ""), service)
    if age is None:
        return _render_form(request, service, status=400, message=_(
            "The form was open for too long. Check your answers and send it again."))
    if age < settings.KAPULA_WEBFORM_MIN_SECONDS:
        return _render_form(request, service, status=400, message=_(
            "The form was sent too quickly. Check your answers and send it again."))
    email = request.POST.get("email", "").strip()[:254]
    keys = [f"ip:{_client(request)}"] + ([f"email:{email.lower()}"] if email else [])
    if _over_limit(*keys):
        return _render_form(request, service, status=429, message=_(
            "Too many messages have been sent from here. Please try again later."))
    files = {
        f.code: [AttachmentInput(u.name or "attachment", u.read(), u.content_type or "")
                 for u in request.FILES.getlist(f.code)[:10]]
        for f in service.fields.all() if f.kind == FieldKind.ATTACHMENT
    }
    values = {key: (request.POST.getlist(key) if len(request.POST.getlist(key)) > 1
                    else request.POST.get(key, "")) for key in request.POST}
    user = request.user if request.user.is_authenticated else None
    sub = Submission(
        service=service, channel=Channel.WEB_FORM, language=_language(),
        description=request.POST.get("description", ""), values=values, files=files,
        location=_location(request), name=request.POST.get("name", "")[:200],
        email=email, phone=request.POST.get("phone", "")[:40],
        actor=None,
    )
    if user is not None and not sub.email and user.email:
        sub.email = user.email
        sub.name = sub.name or user.get_full_name()
    try:
        result = submit(sub)
    except ActionError as exc:
        errors = dict(exc.details.get("fields") or {})
        if exc.field and exc.field not in errors:
            target = {"attachments": next((f.code for f in service.fields.all()
                                           if f.kind == FieldKind.ATTACHMENT), "description"),
                      "location": next((f.code for f in service.fields.all()
                                        if f.kind == FieldKind.LOCATION), "description"),
                      }.get(exc.field, exc.field)
            errors[target] = exc.message
        return _render_form(request, service, errors=errors, status=exc.status,
                            message=exc.message)
    token = signing.TimestampSigner(salt=THANKS_SALT).sign(str(result.ticket.pk))
    return HttpResponseRedirect(reverse("webform:thanks", args=[
        service.organisation.slug, service.code, token]))


@require_GET
def thanks_view(request: HttpRequest, org: str, code: str, token: str) -> HttpResponse:
    organisation = _organisation(org)
    try:
        ticket_id = signing.TimestampSigner(salt=THANKS_SALT).unsign(token, max_age=3600)
    except signing.BadSignature:
        raise Http404 from None
    ticket = Ticket.objects.filter(pk=int(ticket_id), organisation=organisation).only(
        "number", "customer_id").first()
    service = Service.objects.filter(organisation=organisation, code=code).first()
    if ticket is None or service is None:
        raise Http404
    emailed = bool(ticket.customer_id) and ticket.customer is not None and any(
        c.kind == "email" for c in ticket.customer.contacts.all())
    return render(request, "webform/thanks.html", {
        "organisation": organisation, "service": service, "ticket": ticket,
        "emailed": emailed, "title": _("Thank you"),
    })
