"""Model instances to JSON-ready dicts (the shapes in :mod:`kapula.api.schemas`).

Built by hand rather than through the ORM helpers so that every attribute touched is known
not to trigger a query; related rows must be prefetched by the caller.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse

from kapula.core.models import ContactKind, Customer, TranslatedName
from kapula.tickets.actions import allowed_transitions
from kapula.tickets.models import Attachment, CustomFieldValue, Message, Ticket

_ENCODER = DjangoJSONEncoder()


def _iso(value: dt.datetime | None) -> str | None:
    """The same text Django's JSON encoder (used for every other response) writes."""
    return _ENCODER.default(value) if value is not None else None


def tag_names(names: Any) -> list[str]:
    """The tag names the tag action keeps, in its order (spares a query after create)."""
    return sorted({n.strip()[:64] for n in names if n and n.strip()})


def ticket(t: Ticket, tags: list[str] | None = None) -> dict[str, Any]:
    if tags is None:
        tags = sorted(tag.name for tag in t.tags.all())
    has_location = t.latitude is not None or bool(t.address)
    return {
        "id": t.pk,
        "number": t.number,
        "title": t.title,
        "status": t.status,
        "allowed_transitions": allowed_transitions(t.status),
        "priority": t.priority,
        "impact": t.impact,
        "urgency": t.urgency,
        "channel": t.channel,
        "language": t.language,
        "type": t.ticket_type_id,
        "category": t.category_id,
        "team": t.team_id,
        "assignee": t.assignee_id,
        "customer": t.customer_id,
        "parent": t.parent_id,
        "merged_into": t.merged_into_id,
        "location": {
            "latitude": t.latitude, "longitude": t.longitude, "northing": t.etrs_n,
            "easting": t.etrs_e, "address": t.address,
        } if has_location else None,
        "tags": tags,
        "first_contact_resolution": t.first_contact_resolution,
        "message_count": t.message_count,
        "version": t.version,
        "created_at": _iso(t.created_at),
        "updated_at": _iso(t.updated_at),
        "first_response_at": _iso(t.first_response_at),
        "resolved_at": _iso(t.resolved_at),
        "closed_at": _iso(t.closed_at),
    }


def _field_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral() else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def ticket_detail(t: Ticket) -> dict[str, Any]:
    out = ticket(t)
    values = CustomFieldValue.objects.filter(ticket=t).select_related("field")
    out["custom_fields"] = {v.field.key: _field_value(v.value) for v in values}
    out["external_refs"] = [{"system": r.system, "id": r.external_id}
                            for r in t.external_refs.all().order_by("id")]
    return out


def attachment(a: Attachment) -> dict[str, Any]:
    return {
        "id": a.pk, "filename": a.filename, "content_type": a.content_type, "size": a.size,
        "sha256": a.sha256, "url": reverse("api:attachment_download", args=[a.pk]),
    }


def message(m: Message, attachments: list[Attachment] | None = None) -> dict[str, Any]:
    items = attachments if attachments is not None else list(m.attachments.all())
    return {
        "id": m.pk, "ticket": m.ticket_id, "kind": m.kind, "channel": m.channel,
        "author_kind": m.author_kind, "author_name": m.author_name,
        "author_user": m.author_user_id, "body_text": m.body_text, "body_html": m.body_html,
        "language": m.language, "created_at": _iso(m.created_at),
        "attachments": [attachment(a) for a in items],
    }


def customer(c: Customer) -> dict[str, Any]:
    contacts = list(c.contacts.all())
    return {
        "id": c.pk, "name": c.name, "language": c.language,
        "organisation_name": c.organisation_name,
        "emails": [x.value for x in contacts if x.kind == ContactKind.EMAIL],
        "phones": [x.value for x in contacts if x.kind == ContactKind.PHONE],
        "created_at": _iso(c.created_at),
    }


def names(obj: TranslatedName) -> dict[str, str]:
    return {"fi": obj.name_fi, "sv": obj.name_sv, "en": obj.name_en}
