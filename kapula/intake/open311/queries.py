"""Reads of the Open311 API: the listed services, their definitions, and the published
service requests.

A service is *listed* when it is active, offered in the mobile app (``on_mobile``) and
public. A request is *published* when its ticket was opened from the catalogue (it has a
:class:`~kapula.catalogue.models.FormSubmission`) for a service that is listed now. Nothing
about the customer (name, email, phone) is ever read here.

The request listing is one query over ``FormSubmission`` (newest first, served by the
``submission_recent`` / ``submission_service_recent`` indexes) with the ticket, its Open311
details and three small correlated subqueries (the description, the latest public reply
and the first image); the extensions add two queries per page, whatever its size."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery, TextField
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils.translation import gettext as _

from kapula.catalogue.models import FieldKind, FormSubmission, Service, ServiceField, Visibility
from kapula.tickets.models import Attachment, HistoryEntry, Message, MessageKind, Status

HELSINKI = ZoneInfo("Europe/Helsinki")
LANGUAGES = ("fi", "sv", "en")
#: form fields that are not Open311 attributes: they come from lat/long/address and media
NOT_ATTRIBUTES = (FieldKind.LOCATION, FieldKind.ATTACHMENT)
CLOSED = (Status.RESOLVED, Status.CLOSED)
OPEN = tuple(s for s in Status.values if s not in CLOSED)
DEFAULT_DAYS = 90
MAX_PAGE_SIZE = 1000
MAX_DESCRIPTION = 4000
MAX_NOTES = 4000
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")

DATATYPES: dict[str, str] = {
    FieldKind.TEXT: "string", FieldKind.DEVICE: "string", FieldKind.TEXTAREA: "text",
    FieldKind.NUMBER: "number", FieldKind.DATE: "datetime", FieldKind.CHOICE: "singlevaluelist",
    FieldKind.YESNO: "singlevaluelist", FieldKind.MULTICHOICE: "multivaluelist",
}


def listed_services(organisation_id: int) -> QuerySet[Service]:
    return Service.objects.filter(
        organisation_id=organisation_id, is_active=True, on_mobile=True,
        visibility__in=[Visibility.PUBLIC, Visibility.BOTH])


def organisations_with_services() -> list[int]:
    """The ids of (at most two) organisations that list Open311 services."""
    return list(Service.objects.filter(
        is_active=True, on_mobile=True, visibility__in=[Visibility.PUBLIC, Visibility.BOTH])
        .order_by().values_list("organisation_id", flat=True).distinct()[:2])


def _in(row: Mapping[str, Any], stem: str, language: str) -> str:
    return str(row.get(f"{stem}_{language}") or row.get(f"{stem}_fi") or row.get(f"{stem}_en")
               or row.get(f"{stem}_sv") or "")


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with the offset, in Finnish time (what the spec's examples show)."""
    if value is None:
        return None
    return value.astimezone(HELSINKI).isoformat(timespec="seconds")


# --- services -----------------------------------------------------------------------------------


def services(organisation_id: int, language: str) -> list[dict[str, Any]]:
    attributes = ServiceField.objects.filter(service=OuterRef("pk")).exclude(
        kind__in=NOT_ATTRIBUTES)
    rows = listed_services(organisation_id).annotate(metadata=Exists(attributes)).values(
        "code", "name_fi", "name_sv", "name_en", "description_fi", "description_sv",
        "description_en", "group", "keywords", "metadata")
    return [{
        "service_code": r["code"], "service_name": _in(r, "name", language),
        "description": _in(r, "description", language), "metadata": bool(r["metadata"]),
        "type": "realtime", "keywords": r["keywords"], "group": r["group"],
    } for r in rows]


def attribute(f: ServiceField, language: str) -> dict[str, Any]:
    """One form field as an Open311 attribute."""
    values: list[dict[str, str]] = []
    if f.kind in (FieldKind.CHOICE, FieldKind.MULTICHOICE):
        values = [{"key": k, "name": n} for k, n in f.choice_pairs(language)]
    elif f.kind == FieldKind.YESNO:
        values = [{"key": "yes", "name": _("Yes")}, {"key": "no", "name": _("No")}]
    hint = in_help(f, language)
    if not hint and f.kind == FieldKind.DATE:
        hint = _("A date, for example 2026-11-23.")
    item: dict[str, Any] = {
        "variable": True, "code": f.code, "datatype": DATATYPES.get(f.kind, "string"),
        "required": f.required, "datatype_description": hint, "order": f.ordering,
        "description": f.label_in(language),
    }
    if values:
        item["values"] = values
    return item


def in_help(f: ServiceField, language: str) -> str:
    return str(getattr(f, f"help_{language}", "") or f.help_fi or f.help_en or f.help_sv)


def definition(service: Service, language: str) -> dict[str, Any]:
    fields = [f for f in service.fields.all() if f.kind not in NOT_ATTRIBUTES]
    return {"service_code": service.code,
            "attributes": [attribute(f, language) for f in fields]}


# --- requests -----------------------------------------------------------------------------------


@dataclass
class RequestFilter:
    numbers: list[str] = field(default_factory=list)
    service_codes: list[str] = field(default_factory=list)
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    statuses: set[str] = field(default_factory=set)  # "open", "closed"
    page: int = 1
    page_size: int = MAX_PAGE_SIZE
    extensions: bool = False


@dataclass
class Listed:
    """The listed services of an organisation, by id."""

    by_id: dict[int, dict[str, Any]]

    @classmethod
    def load(cls, organisation_id: int) -> Listed:
        rows = listed_services(organisation_id).values("id", "code", "name_fi", "name_sv",
                                                       "name_en")
        return cls({r["id"]: dict(r) for r in rows})

    def ids_for(self, codes: Iterable[str]) -> list[int]:
        wanted = set(codes)
        return [i for i, r in self.by_id.items() if r["code"] in wanted]


REQUEST_VALUES = (
    "ticket_id", "service_id", "ticket__number", "ticket__status", "ticket__created_at",
    "ticket__updated_at", "ticket__latitude", "ticket__longitude", "ticket__address",
    "ticket__open311__address_id", "ticket__open311__media_url",
)
EXTENSION_VALUES = ("ticket__title", "ticket__assignee_id", "ticket__open311__geometry")


def request_rows(organisation_id: int, listed: Listed, flt: RequestFilter,
                 language: str = "fi") -> list[dict[str, Any]]:
    """One page of published requests, newest first, as ``values()`` rows (the team's
    name in ``language`` as ``team``, in Finnish as ``team_fi``)."""
    if not listed.by_id:
        return []
    qs = FormSubmission.objects.filter(service_id__in=sorted(listed.by_id))
    if flt.numbers:
        qs = qs.filter(ticket__organisation_id=organisation_id, ticket__number__in=flt.numbers)
    else:
        if flt.service_codes:
            qs = qs.filter(service_id__in=listed.ids_for(flt.service_codes))
        if flt.start is not None:
            qs = qs.filter(created_at__gte=flt.start)
        if flt.end is not None:
            qs = qs.filter(created_at__lte=flt.end)
        if flt.statuses == {"open"}:
            qs = qs.filter(ticket__status__in=OPEN)
        elif flt.statuses == {"closed"}:
            qs = qs.filter(ticket__status__in=CLOSED)
    first_inbound = Message.objects.filter(
        ticket_id=OuterRef("ticket_id"), kind=MessageKind.INBOUND).order_by("created_at", "id")
    latest_reply = Message.objects.filter(
        ticket_id=OuterRef("ticket_id"), kind=MessageKind.REPLY).order_by("-created_at", "-id")
    first_image = Attachment.objects.filter(
        ticket_id=OuterRef("ticket_id"), content_type__in=IMAGE_TYPES,
        message__kind=MessageKind.INBOUND).order_by("id")
    lang = language if language in LANGUAGES else "fi"
    qs = qs.annotate(
        description=Subquery(first_inbound.values("body_text")[:1]),
        status_notes=Subquery(latest_reply.values("body_text")[:1]),
        image_id=Subquery(first_image.values("id")[:1]),
        team=F(f"ticket__team__name_{lang}"), team_fi=F("ticket__team__name_fi"),
        # as text: decoded only when the description has answer lines to take off
        answers_text=Cast("answers", output_field=TextField()),
    ).order_by("-created_at", "-id")
    start = (flt.page - 1) * flt.page_size
    names = (*REQUEST_VALUES, *(EXTENSION_VALUES if flt.extensions else ()), "description",
             "status_notes", "image_id", "team", "team_fi", "answers_text")
    return list(qs.values(*names)[start:start + flt.page_size])


def detailed_status(status: str, assigned: bool) -> str:
    """The Helsinki extension's detailed status."""
    if status == Status.NEW:
        return "received"
    if status in CLOSED:
        return "done"
    if status == Status.OPEN and not assigned:
        return "allocated"
    return "handling"


def media_prefix() -> str:
    """The absolute address of request images, without the id."""
    path = reverse("open311:media", args=[0])
    return settings.KAPULA_BASE_URL.rstrip("/") + path[:-1]


def _status_history(ticket_ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """(ticket id, time, field, new value) of the creation and status changes, in order."""
    if connection.vendor == "postgresql":
        # one array parameter instead of a thousand: half the time of the ORM's IN list
        table = connection.ops.quote_name(HistoryEntry._meta.db_table)
        with connection.cursor() as cur:
            cur.execute(f"SELECT ticket_id, at, field, new FROM {table} "
                        "WHERE ticket_id = ANY(%s) AND field IN ('created', 'status') "
                        "ORDER BY at, id", [list(ticket_ids)])
            return list(cur.fetchall())
    return list(HistoryEntry.objects.filter(ticket_id__in=ticket_ids,
                                            field__in=["created", "status"])
                .order_by("at", "id").values_list("ticket_id", "at", "field", "new"))


def _extensions(ticket_ids: Sequence[int], with_images: Sequence[int]
                ) -> tuple[dict[int, list[dict[str, Any]]], dict[int, list[int]]]:
    """Status history and image ids per ticket: a query for the whole page each (none for
    images when no request of the page has one)."""
    history: dict[int, list[dict[str, Any]]] = {}
    for ticket_id, at, name, new in _status_history(ticket_ids):
        status = "received" if name == "created" else detailed_status(new, True)
        history.setdefault(ticket_id, []).append({"time": iso(at), "status": status})
    images: dict[int, list[int]] = {}
    if with_images:
        for image_id, ticket_id in (
                Attachment.objects.filter(ticket_id__in=with_images,
                                          content_type__in=IMAGE_TYPES,
                                          message__kind=MessageKind.INBOUND)
                .order_by("id").values_list("id", "ticket_id")):
            images.setdefault(ticket_id, []).append(image_id)
    return history, images


def description(body: str, answers_text: str | None) -> str:
    """What the customer wrote: the ticket's first message without the answer lines that
    the catalogue appends to it (the answers are not published)."""
    if "\n" not in body or not answers_text or answers_text == "[]":
        return body
    try:
        answers = json.loads(answers_text)
    except ValueError:
        return body
    if not isinstance(answers, list):
        return body
    lines = "\n".join(f"{a.get('label')}: {a.get('display')}" for a in answers
                      if isinstance(a, dict) and a.get("kind") != FieldKind.ATTACHMENT)
    if lines and body.endswith(lines):
        return body[:-len(lines)].rstrip()
    return body


def geometry(posted: Any, lat: float | None, lon: float | None) -> dict[str, Any] | None:
    """The extension's GeoJSON geometry: the line or area that was posted, else a Point of
    the ticket's location (which an agent may have moved since)."""
    if isinstance(posted, dict) and posted.get("type") not in (None, "Point"):
        return posted
    if lat is None or lon is None:
        return None
    return {"type": "Point", "coordinates": [lon, lat]}


def records(rows: list[dict[str, Any]], listed: Listed, language: str,
            extensions: bool) -> list[dict[str, Any]]:
    """``values()`` rows as Open311 request records."""
    prefix = media_prefix()
    history: dict[int, list[dict[str, Any]]] = {}
    images: dict[int, list[int]] = {}
    if extensions and rows:
        history, images = _extensions([r["ticket_id"] for r in rows],
                                      [r["ticket_id"] for r in rows if r["image_id"]])
    services = {pk: (row["code"], _in(row, "name", language) or None)
                for pk, row in listed.by_id.items()}
    out = []
    for r in rows:
        code, service_name = services.get(r["service_id"], (None, None))
        status = r["ticket__status"]
        lat, lon = r["ticket__latitude"], r["ticket__longitude"]
        image_id = r["image_id"]
        record: dict[str, Any] = {
            "service_request_id": r["ticket__number"],
            "status": "closed" if status in CLOSED else "open",
            "status_notes": (r["status_notes"] or "")[:MAX_NOTES] or None,
            "service_name": service_name,
            "service_code": code,
            "description": description(r["description"] or "", r["answers_text"])[:MAX_DESCRIPTION],
            "agency_responsible": r["team"] or r["team_fi"] or None,
            "service_notice": None,
            "requested_datetime": iso(r["ticket__created_at"]),
            "updated_datetime": iso(r["ticket__updated_at"]),
            "expected_datetime": None,
            "address": r["ticket__address"] or None,
            "address_id": r["ticket__open311__address_id"] or None,
            "zipcode": None,
            "lat": lat, "long": lon,
            "media_url": f"{prefix}{image_id}" if image_id
            else r["ticket__open311__media_url"] or None,
        }
        if extensions:
            record["extended_attributes"] = {
                "title": r["ticket__title"],
                "media_urls": [f"{prefix}{i}" for i in images.get(r["ticket_id"], ())],
                "detailed_status": detailed_status(status,
                                                   r["ticket__assignee_id"] is not None),
                "geometry": geometry(r["ticket__open311__geometry"], lat, lon),
                "request_history": history.get(r["ticket_id"], []),
            }
        out.append(record)
    return out


def published_image(attachment_id: int) -> Attachment | None:
    """An image of a published request, sent by the customer; None for anything else."""
    attachment = (Attachment.objects.filter(pk=attachment_id, content_type__in=IMAGE_TYPES,
                                            message__kind=MessageKind.INBOUND)
                  .select_related("ticket__submission__service").first())
    if attachment is None:
        return None
    submission = getattr(attachment.ticket, "submission", None)
    service = submission.service if submission is not None else None
    if service is None or not (service.is_active and service.on_mobile and service.is_public):
        return None
    return attachment
