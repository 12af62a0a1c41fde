"""Every write to tickets goes through one of these actions.

Each action takes keyword-only arguments, checks permission once, validates before it
writes, runs in one transaction, writes history rows and records outbox events. Callers
(views, API handlers, channel adapters, tasks) only parse input and render the result.

``actor=None`` means the system itself (a channel adapter acting for a customer).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kapula.core import geo
from kapula.core.access import require_ticket, scope_for
from kapula.core.db import atomic_action, insert_objects
from kapula.core.errors import Conflict, Forbidden, NotFound, TooLarge, ValidationFailed
from kapula.core.models import (
    Customer,
    CustomerContact,
    Language,
    Organisation,
    OutboxEvent,
    Team,
    User,
)
from kapula.core.outbox import emit_many
from kapula.core.text import detect_language, html_to_text, sanitise_html, text_to_html
from kapula.sla import clocks as sla
from kapula.tickets import attachments as att
from kapula.tickets import config, numbering, search
from kapula.tickets.models import (
    ACTIVE_STATUSES,
    DEFAULT_MATRIX,
    Attachment,
    AuthorKind,
    Category,
    Channel,
    CustomField,
    CustomFieldValue,
    ExternalReference,
    FieldKind,
    HistoryEntry,
    Level,
    LinkKind,
    Message,
    MessageKind,
    Priority,
    PriorityRule,
    Status,
    Tag,
    Ticket,
    TicketLink,
    TicketType,
)

# --- status machine ----------------------------------------------------------------------

TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_THIRD_PARTY,
                 Status.RESOLVED, Status.CLOSED},
    Status.OPEN: {Status.PENDING_CUSTOMER, Status.PENDING_THIRD_PARTY, Status.RESOLVED},
    Status.PENDING_CUSTOMER: {Status.OPEN, Status.PENDING_THIRD_PARTY, Status.RESOLVED},
    Status.PENDING_THIRD_PARTY: {Status.OPEN, Status.PENDING_CUSTOMER, Status.RESOLVED},
    Status.RESOLVED: {Status.CLOSED, Status.OPEN},
    Status.CLOSED: {Status.OPEN},
}


def allowed_transitions(status: str) -> list[str]:
    return [s for s in Status.values if s in TRANSITIONS.get(status, set())]


# --- helpers -----------------------------------------------------------------------------


@dataclass
class Location:
    latitude: float | None = None
    longitude: float | None = None
    northing: float | None = None  # EPSG:3067
    easting: float | None = None
    address: str = ""


@dataclass
class _Change:
    ticket: Ticket
    actor: User | None
    actor_label: str
    history: list[HistoryEntry] = field(default_factory=list)
    events: list[OutboxEvent] = field(default_factory=list)
    changed_fields: set[str] = field(default_factory=set)

    def record(self, name: str, old: Any, new: Any) -> None:
        self.history.append(HistoryEntry(
            ticket=self.ticket, actor=self.actor, actor_label=self.actor_label, field=name,
            old=_show(old), new=_show(new),
        ))
        self.changed_fields.add(name)

    def event(self, topic: str, **payload: Any) -> None:
        t = self.ticket
        self.events.append(OutboxEvent(
            organisation_id=t.organisation_id, topic=topic, aggregate="ticket",
            aggregate_id=t.pk, payload={"number": t.number, **payload},
        ))

    def flush(self) -> None:
        insert_objects(self.history)
        emit_many(self.events)


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, set)):
        return ", ".join(sorted(str(v) for v in value))
    if hasattr(value, "pk"):
        return f"{value} (#{value.pk})"
    return str(value)


def _label(actor: User | None, fallback: str = "system") -> str:
    return actor.display_name if actor is not None else fallback


def _check_body(body: str) -> None:
    if len(body) > settings.KAPULA_MAX_BODY_CHARS:
        raise TooLarge(
            _("The message is too long (at most %(n)s characters).")
            % {"n": settings.KAPULA_MAX_BODY_CHARS},
            code="body_too_large", field="body",
        )


def _check_version(ticket: Ticket, expected: int | None) -> None:
    if expected is not None and expected != ticket.version:
        raise Conflict(
            _("The ticket was changed by someone else. Reload it and try again."),
            code="stale_version", details={"current_version": ticket.version},
        )


def _locked(ticket: Ticket) -> Ticket:
    """Re-read the ticket with a row lock for the rest of the transaction."""
    try:
        return Ticket.objects.select_for_update().get(pk=ticket.pk)
    except Ticket.DoesNotExist:
        raise NotFound(_("No such ticket."), code="ticket_not_found") from None


def _actor_org(actor: User | None, organisation_id: int) -> None:
    if actor is not None and actor.organisation_id != organisation_id:
        raise Forbidden(_("You cannot act in another organisation."), code="organisation_forbidden")


def priority_for(organisation_id: int, impact: str, urgency: str) -> int:
    matrix = config.cached("priority", organisation_id, lambda: {
        (r.impact, r.urgency): r.priority
        for r in PriorityRule.objects.filter(organisation_id=organisation_id)})
    found = matrix.get((impact, urgency))
    return int(found) if found is not None else DEFAULT_MATRIX.get((impact, urgency),
                                                                  Priority.NORMAL)


def _resolve_location(loc: Location | None) -> dict[str, Any]:
    """The ticket's location columns: WGS84 and EPSG:3067, whichever was given; the point
    must lie in the service area (``KAPULA_MAP_AREA``)."""
    if loc is None:
        return {}
    out: dict[str, Any] = {"address": (loc.address or "")[:300]}
    outside = ValidationFailed(_("The location is outside the service area."),
                               code="location_out_of_range", field="location")
    area = settings.KAPULA_MAP_AREA
    if loc.latitude is not None and loc.longitude is not None:
        if not geo.in_area(loc.latitude, loc.longitude, area):
            raise outside
        n, e = geo.wgs84_to_etrs(loc.latitude, loc.longitude)
        out.update(latitude=loc.latitude, longitude=loc.longitude, etrs_n=n, etrs_e=e)
    elif loc.northing is not None and loc.easting is not None:
        if not (math.isfinite(loc.northing) and math.isfinite(loc.easting)):
            raise outside
        lat, lon = geo.etrs_to_wgs84(loc.northing, loc.easting)
        if not geo.in_area(lat, lon, area):
            raise outside
        out.update(latitude=lat, longitude=lon, etrs_n=loc.northing, etrs_e=loc.easting)
    return out


def _coerce_field(cf: CustomField, raw: Any) -> dict[str, Any]:
    """Turn a raw value into the typed column values for ``cf``; raise on bad input."""
    empty = {"value_text": None, "value_integer": None, "value_decimal": None,
             "value_boolean": None, "value_date": None}
    if raw is None or raw == "":
        return empty
    bad = ValidationFailed(
        _("%(field)s: invalid value.") % {"field": cf.name}, code="invalid_custom_field",
        field=f"custom_fields.{cf.key}",
    )
    try:
        if cf.kind == FieldKind.TEXT:
            return {**empty, "value_text": str(raw)[:5000]}
        if cf.kind == FieldKind.CHOICE:
            if str(raw) not in [str(c) for c in cf.choices]:
                raise bad
            return {**empty, "value_text": str(raw)}
        if cf.kind == FieldKind.INTEGER:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise bad
            value = int(str(raw).strip())
            if abs(value) > 2**62:
                raise bad
            return {**empty, "value_integer": value}
        if cf.kind == FieldKind.DECIMAL:
            dec = Decimal(str(raw).strip().replace(",", "."))
            if not dec.is_finite() or abs(dec) >= Decimal(10) ** 12:
                raise bad
            dec = dec.quantize(Decimal("0.000001"))  # the column's scale: 18 digits, 6 decimals
            if abs(dec) >= Decimal(10) ** 12:
                raise bad
            return {**empty, "value_decimal": dec}
        if cf.kind == FieldKind.BOOLEAN:
            if isinstance(raw, bool):
                return {**empty, "value_boolean": raw}
            text = str(raw).strip().lower()
            if text in {"true", "1", "yes", "on", "kyllä", "ja"}:
                return {**empty, "value_boolean": True}
            if text in {"false", "0", "no", "off", "ei", "nej"}:
                return {**empty, "value_boolean": False}
            raise bad
        if cf.kind == FieldKind.DATE:
            if isinstance(raw, dt.date):
                return {**empty, "value_date": raw}
            return {**empty, "value_date": dt.date.fromisoformat(str(raw).strip())}
    except (ValueError, TypeError, InvalidOperation):
        raise bad from None
    raise bad


def fields_for(organisation_id: int, ticket_type_id: int | None,
               category_id: int | None) -> list[CustomField]:
    """The custom fields that apply to a ticket of this type and category."""
    every = config.cached("fields", organisation_id, lambda: list(
        CustomField.objects.filter(organisation_id=organisation_id).order_by("id")))
    return [cf for cf in every
            if cf.ticket_type_id in (None, ticket_type_id)
            and cf.category_id in (None, category_id)]


def _prepare_custom_fields(
    organisation_id: int, ticket_type_id: int | None, category_id: int | None,
    values: dict[str, Any], *, check_required: bool,
) -> list[tuple[CustomField, dict[str, Any]]]:
    applicable = {cf.key: cf for cf in fields_for(organisation_id, ticket_type_id, category_id)}
    unknown = sorted(set(values) - set(applicable))
    if unknown:
        raise ValidationFailed(
            _("Unknown custom field: %(keys)s") % {"keys": ", ".join(unknown)},
            code="unknown_custom_field", field="custom_fields",
        )
    out = [(applicable[k], _coerce_field(applicable[k], v)) for k, v in values.items()]
    if check_required:
        for cf in applicable.values():
            if cf.required and values.get(cf.key) in (None, ""):
                raise ValidationFailed(
                    _("%(field)s is required.") % {"field": cf.name},
                    code="custom_field_required", field=f"custom_fields.{cf.key}",
                )
    return out


def _save_custom_fields(ticket: Ticket, prepared: list[tuple[CustomField, dict[str, Any]]],
                        change: _Change | None) -> None:
    if not prepared:
        return
    existing = {v.field_id: v for v in CustomFieldValue.objects.filter(
        ticket=ticket, field_id__in=[cf.pk for cf, _ in prepared])}
    for cf, columns in prepared:
        current = existing.get(cf.pk)
        old = current.value if current else None
        if current is None:
            current = CustomFieldValue(ticket=ticket, field=cf, **columns)
            current.save()
        else:
            for k, v in columns.items():
                setattr(current, k, v)
            current.save()
        new = current.value
        if change is not None and old != new:
            change.record(f"custom_fields.{cf.key}", old, new)


def _tags(organisation_id: int, names: Iterable[str]) -> list[Tag]:
    clean = sorted({n.strip()[:64] for n in names if n and n.strip()})
    if len(clean) > 30:
        raise ValidationFailed(_("At most 30 tags."), code="too_many_tags", field="tags")
    existing = {t.name: t for t in Tag.objects.filter(organisation_id=organisation_id,
                                                       name__in=clean)}
    missing = [Tag(organisation_id=organisation_id, name=n) for n in clean if n not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {t.name: t for t in Tag.objects.filter(organisation_id=organisation_id,
                                                           name__in=clean)}
    return [existing[n] for n in clean]


def _team_in_org(team: Team | None, organisation_id: int) -> None:
    if team is not None and team.organisation_id != organisation_id:
        raise ValidationFailed(_("The team belongs to another organisation."),
                               code="invalid_team", field="team")


def _assignee_ok(assignee: User | None, team: Team | None, organisation_id: int) -> None:
    if assignee is None:
        return
    if assignee.organisation_id != organisation_id or not assignee.is_active:
        raise ValidationFailed(_("The assignee is not an agent of this organisation."),
                               code="invalid_assignee", field="assignee")
    if team is not None and not assignee.memberships.filter(team=team).exists():
        raise ValidationFailed(_("The assignee is not a member of the team."),
                               code="assignee_not_in_team", field="assignee")


def _index_rows(tickets: Sequence[Ticket]) -> list[search.IndexRow]:
    """Build search documents for tickets from the database (title, customer, messages)."""
    ids = [t.pk for t in tickets]
    bodies: dict[int, list[str]] = {i: [] for i in ids}
    for tid, text in Message.objects.filter(ticket_id__in=ids).exclude(
            kind=MessageKind.EVENT).order_by("created_at", "id").values_list("ticket_id",
                                                                          "body_text"):
        bodies[tid].append(text)
    rows = []
    for t in tickets:
        who = _customer_words(t.customer) if t.customer_id else ""
        rows.append(search.IndexRow(
            ticket_id=t.pk, organisation_id=t.organisation_id, team_id=t.team_id,
            assignee_id=t.assignee_id, created_at=t.created_at, language=t.language,
            title=f"{t.title} {t.number}", body=f"{who}\n" + "\n".join(bodies[t.pk]),
        ))
    return rows


def _customer_words(customer: Customer | None) -> str:
    if customer is None:
        return ""
    cached = getattr(customer, "_prefetched_objects_cache", {}).get("contacts")
    values = [c.value for c in cached] if cached is not None else list(
        CustomerContact.objects.filter(customer=customer).values_list("value", flat=True))
    parts = [customer.name, *values]
    return " ".join(p for p in parts if p)


def reindex(tickets: Sequence[Ticket]) -> None:
    search.upsert(_index_rows(tickets))


# --- create --------------------------------------------------------------------------------


def _default_type(organisation_id: int) -> TicketType | None:
    return config.cached("default_type", organisation_id, lambda: TicketType.objects.filter(
        organisation_id=organisation_id, is_active=True).order_by("ordering", "id").first())


@atomic_action
def create_ticket(
    *,
    actor: User | None,
    organisation: Organisation,
    title: str,
    body: str,
    channel: str,
    body_html: str = "",
    customer: Customer | None = None,
    language: str | None = None,
    ticket_type: TicketType | None = None,
    category: Category | None = None,
    team: Team | None = None,
    assignee: User | None = None,
    impact: str = Level.MEDIUM,
    urgency: str = Level.MEDIUM,
    location: Location | None = None,
    custom_fields: dict[str, Any] | None = None,
    tags: Sequence[str] = (),
    attachments: Sequence[att.AttachmentInput] = (),
    external_refs: Sequence[tuple[str, str]] = (),
    parent: Ticket | None = None,
    message_external_id: str = "",
    author_kind: str | None = None,
    author_name: str = "",
    first_contact_resolution: bool = False,
    status: str = Status.NEW,
    actor_label: str = "",
) -> Ticket:
    """Open a new ticket whose first message is ``body`` (from the customer, or recorded by
    an agent on their behalf for walk-in, phone and social-media contacts)."""
    org_id = organisation.pk
    _actor_org(actor, org_id)
    title = (title or "").strip()
    body = body or ""
    if body_html and not body.strip():
        body = html_to_text(body_html)
    if not title:
        title = (body.strip().splitlines() or [""])[0][:120]
    if not title:
        raise ValidationFailed(_("A title or a message is required."), code="title_required",
                               field="title")
    if len(title) > 300:
        raise ValidationFailed(_("The title is too long (at most 300 characters)."),
                               code="title_too_long", field="title")
    _check_body(body)
    _check_body(body_html)
    if channel not in Channel.values:
        raise ValidationFailed(_("Unknown channel."), code="invalid_channel", field="channel")
    if language is not None and language not in Language.values:
        raise ValidationFailed(_("Language must be fi, sv or en."), code="invalid_language",
                               field="language")
    if impact not in Level.values or urgency not in Level.values:
        raise ValidationFailed(_("Impact and urgency must be high, medium or low."),
                               code="invalid_priority", field="impact")
    if status not in (Status.NEW, Status.OPEN, Status.RESOLVED, Status.CLOSED):
        raise ValidationFailed(_("A new ticket cannot start in this status."),
                               code="invalid_status", field="status")
    for obj, name in ((customer, "customer"), (ticket_type, "ticket_type"),
                      (category, "category"), (parent, "parent")):
        if obj is not None and obj.organisation_id != org_id:
            raise ValidationFailed(_("%(field)s belongs to another organisation.")
                                   % {"field": name}, code=f"invalid_{name}", field=name)
    if category is not None and team is None and category.default_team_id:
        team = category.default_team
    if team is None:
        team = organisation.default_team
    _team_in_org(team, org_id)
    _assignee_ok(assignee, team, org_id)
    loc = _resolve_location(location)
    ticket_type = ticket_type or _default_type(org_id)
    prepared_fields = _prepare_custom_fields(
        org_id, ticket_type.pk if ticket_type else None, category.pk if category else None,
        dict(custom_fields or {}), check_required=actor is not None,
    )
    checked = att.check(list(attachments))
    lang = language or (customer.language if customer and customer.language else None) or \
        detect_language(f"{title}\n{body}", default=organisation.default_language)
    safe_html = sanitise_html(body_html) if body_html else text_to_html(body)

    now = timezone.now()
    ticket = Ticket(
        organisation=organisation, number=numbering.next_number(organisation,
                                                                timezone.localdate(now).year),
        ticket_type=ticket_type, category=category, title=title, status=status,
        impact=impact, urgency=urgency, priority=priority_for(org_id, impact, urgency),
        channel=channel, language=lang, team=team, assignee=assignee, customer=customer,
        parent=parent, first_contact_resolution=first_contact_resolution, created_by=actor,
        created_at=now, updated_at=now, message_count=1, **loc,
    )
    if status in (Status.RESOLVED, Status.CLOSED):
        ticket.resolved_at = now
        ticket.first_response_at = now
    if status == Status.CLOSED:
        ticket.closed_at = now
    sla_clocks = sla.prepare_new(ticket, customer)  # kapula/sla: match the policy
    ticket.save(force_insert=True)
    sla.save_new(ticket, sla_clocks)

    if author_kind is None:
        author_kind = AuthorKind.CUSTOMER if customer is not None or actor is None else \
            AuthorKind.AGENT
    message = Message.objects.create(
        ticket=ticket, kind=MessageKind.INBOUND, channel=channel, author_kind=author_kind,
        author_user=actor if author_kind == AuthorKind.AGENT else None,
        author_customer=customer, author_name=author_name or (customer.name if customer else ""),
        body_text=body, body_html=safe_html, language=lang,
        external_id=message_external_id[:255], created_at=now,
    )
    _store_attachments(ticket, message, checked)
    if tags:
        ticket.tags.set(_tags(org_id, tags))
    _save_custom_fields(ticket, prepared_fields, None)
    for system, ext_id in external_refs:
        ExternalReference.objects.create(ticket=ticket, organisation=organisation,
                                         system=system[:64], external_id=ext_id[:255])

    change = _Change(ticket, actor, actor_label or _label(actor, channel))
    change.record("created", None, ticket.number)
    change.event("ticket.created", channel=channel, language=lang, team=ticket.team_id,
                 status=ticket.status, customer=ticket.customer_id)
    change.event("message.added", message=message.pk, kind=message.kind)
    if assignee is not None:
        change.event("ticket.assigned", assignee=assignee.pk, team=ticket.team_id,
                     by=actor.pk if actor is not None else None)
    change.flush()
    search.upsert([search.IndexRow(
        ticket_id=ticket.pk, organisation_id=org_id, team_id=ticket.team_id,
        assignee_id=ticket.assignee_id, created_at=now, language=lang,
        title=f"{title} {ticket.number}", body=f"{_customer_words(customer)}\n{body}",
    )])
    ticket.first_message = message  # type: ignore[attr-defined]  # spares callers a query
    return ticket


def _store_attachments(ticket: Ticket, message: Message,
                       checked: list[att.CheckedAttachment]) -> list[Attachment]:
    items = [
        Attachment(ticket=ticket, message=message, file=att.store(c), filename=c.filename,
                   content_type=c.content_type, size=c.size, sha256=c.sha256)
        for c in checked
    ]
    if items:
        Attachment.objects.bulk_create(items)
    return items


# --- messages ------------------------------------------------------------------------------


@atomic_action
def add_message(
    *,
    actor: User | None,
    ticket: Ticket,
    kind: str,
    body: str,
    body_html: str = "",
    channel: str | None = None,
    attachments: Sequence[att.AttachmentInput] = (),
    author_kind: str | None = None,
    author_customer: Customer | None = None,
    author_name: str = "",
    language: str | None = None,
    external_id: str = "",
    expected_version: int | None = None,
    actor_label: str = "",
) -> Message:
    """Add to the conversation: an inbound message, a reply to the customer, an internal
    note or a system event. A customer's message reopens a resolved or waiting ticket."""
    if actor is not None:
        require_ticket(actor, ticket)
    if kind not in MessageKind.values:
        raise ValidationFailed(_("Unknown message kind."), code="invalid_kind", field="kind")
    if actor is None and kind in (MessageKind.REPLY, MessageKind.NOTE) and author_kind is None:
        raise Forbidden(_("Only agents can reply or add notes."), code="agent_required")
    if body_html and not body.strip():
        body = html_to_text(body_html)
    if not body.strip() and not attachments:
        raise ValidationFailed(_("The message is empty."), code="body_required", field="body")
    _check_body(body)
    _check_body(body_html)
    if channel is not None and channel not in Channel.values:
        raise ValidationFailed(_("Unknown channel."), code="invalid_channel", field="channel")
    if language is not None and language not in Language.values:
        raise ValidationFailed(_("Language must be fi, sv or en."), code="invalid_language",
                               field="language")
    checked = att.check(list(attachments))
    ticket = _locked(ticket)
    _check_version(ticket, expected_version)
    if ticket.merged_into_id and kind == MessageKind.INBOUND:
        raise Conflict(_("The ticket was merged into another ticket."), code="ticket_merged")
    now = timezone.now()
    if author_kind is None:
        author_kind = AuthorKind.AGENT if actor is not None else AuthorKind.CUSTOMER
    if kind in (MessageKind.REPLY, MessageKind.INBOUND):
        lang = ticket.language if kind == MessageKind.REPLY else (
            language or detect_language(body, default=ticket.language))
    else:
        lang = language or ""
    message = Message.objects.create(
        ticket=ticket, kind=kind, channel=channel or (
            Channel.INTERNAL if kind in (MessageKind.NOTE, MessageKind.EVENT) else ticket.channel),
        author_kind=author_kind, author_user=actor if author_kind == AuthorKind.AGENT else None,
        author_customer=author_customer or (ticket.customer if kind == MessageKind.INBOUND
                                            and author_kind == AuthorKind.CUSTOMER else None),
        author_name=author_name or (actor.display_name if actor else ""),
        body_text=body, body_html=sanitise_html(body_html) if body_html else text_to_html(body),
        language=lang, external_id=external_id[:255], created_at=now,
    )
    _store_attachments(ticket, message, checked)

    change = _Change(ticket, actor, actor_label or _label(actor, message.channel))
    updates: dict[str, Any] = {"updated_at": now, "version": F("version") + 1,
                               "message_count": F("message_count") + 1}
    if kind == MessageKind.REPLY:
        if ticket.first_response_at is None:
            updates["first_response_at"] = now
            change.record("first_response_at", None, now.isoformat())
        if ticket.status == Status.NEW:
            updates["status"] = Status.OPEN
            change.record("status", ticket.status, Status.OPEN)
            change.event("ticket.status_changed", old=ticket.status, new=Status.OPEN)
    elif kind == MessageKind.INBOUND and ticket.status in (
            Status.PENDING_CUSTOMER, Status.RESOLVED, Status.CLOSED):
        updates["status"] = Status.OPEN
        updates["resolved_at"] = None
        updates["closed_at"] = None
        change.record("status", ticket.status, Status.OPEN)
        change.event("ticket.status_changed", old=ticket.status, new=Status.OPEN,
                     reopened=ticket.status in (Status.RESOLVED, Status.CLOSED))
    Ticket.objects.filter(pk=ticket.pk).update(**updates)
    sla.message_added(ticket, kind=kind, author_kind=author_kind,
                      new_status=updates.get("status"), now=now)
    change.event("message.added", message=message.pk, kind=kind, channel=message.channel,
                 language=lang)
    change.flush()
    ticket.refresh_from_db()
    if kind != MessageKind.EVENT:
        reindex([ticket])
    return message


# --- updates -------------------------------------------------------------------------------

UPDATABLE = {
    "title", "status", "team", "assignee", "impact", "urgency", "ticket_type", "category",
    "language", "tags", "custom_fields", "location", "first_contact_resolution", "customer",
}


@atomic_action
def update_ticket(
    *, actor: User | None, ticket: Ticket, changes: dict[str, Any],
    expected_version: int | None = None, actor_label: str = "",
) -> Ticket:
    """Change any of the ticket's own fields in one step (one version, one history set).

    ``changes`` keys: title, status, team, assignee, impact, urgency, ticket_type, category,
    language, tags (list of names), custom_fields (dict), location (:class:`Location`),
    first_contact_resolution, customer. Objects are model instances (or None).
    """
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValidationFailed(_("Unknown field: %(f)s") % {"f": ", ".join(sorted(unknown))},
                               code="unknown_field")
    if actor is not None:
        require_ticket(actor, ticket)
    ticket = _locked(ticket)
    _check_version(ticket, expected_version)
    org_id = ticket.organisation_id
    change = _Change(ticket, actor, actor_label or _label(actor))
    now = timezone.now()
    fields: dict[str, Any] = {}

    def setf(name: str, new: Any, attr: str | None = None) -> None:
        attr = attr or name
        is_fk = Ticket._meta.get_field(attr).is_relation
        old_key = getattr(ticket, f"{attr}_id") if is_fk else getattr(ticket, attr)
        new_key = (new.pk if new is not None else None) if is_fk else new
        if old_key != new_key:
            change.record(name, getattr(ticket, attr) if is_fk else old_key, new)
            fields[attr] = new

    if "title" in changes:
        title = (changes["title"] or "").strip()
        if not title or len(title) > 300:
            raise ValidationFailed(_("The title must have 1 to 300 characters."),
                                   code="invalid_title", field="title")
        setf("title", title)
    if "language" in changes:
        if changes["language"] not in Language.values:
            raise ValidationFailed(_("Language must be fi, sv or en."),
                                   code="invalid_language", field="language")
        setf("language", changes["language"])
    for name, model in (("ticket_type", TicketType), ("category", Category),
                        ("customer", Customer)):
        if name in changes:
            obj = changes[name]
            if obj is not None and (not isinstance(obj, model) or obj.organisation_id != org_id):
                raise ValidationFailed(_("%(field)s belongs to another organisation.")
                                       % {"field": name}, code=f"invalid_{name}", field=name)
            setf(name, obj)
    if "first_contact_resolution" in changes:
        setf("first_contact_resolution", bool(changes["first_contact_resolution"]))

    # priority
    impact = changes.get("impact", ticket.impact)
    urgency = changes.get("urgency", ticket.urgency)
    if impact not in Level.values or urgency not in Level.values:
        raise ValidationFailed(_("Impact and urgency must be high, medium or low."),
                               code="invalid_priority", field="impact")
    if "impact" in changes or "urgency" in changes:
        setf("impact", impact)
        setf("urgency", urgency)
        new_priority = priority_for(org_id, impact, urgency)
        if new_priority != ticket.priority:
            setf("priority", new_priority)
            change.event("ticket.priority_changed", old=ticket.priority, new=new_priority)

    # routing
    team = changes.get("team", ticket.team) if "team" in changes else None
    if "team" in changes:
        if team is None:
            raise ValidationFailed(_("A ticket must belong to a team."), code="team_required",
                                   field="team")
        _team_in_org(team, org_id)
    new_team = team if "team" in changes else ticket.team
    if "assignee" in changes:
        _assignee_ok(changes["assignee"], new_team, org_id)
    elif ("team" in changes and ticket.assignee is not None and team is not None
          and team.pk != ticket.team_id
          and not ticket.assignee.memberships.filter(team=team).exists()):
        changes = {**changes, "assignee": None}  # the agent stays behind with the old team
    routed = False
    if "team" in changes:
        before = len(fields)
        setf("team", team)
        routed = routed or len(fields) != before
    if "assignee" in changes:
        before = len(fields)
        setf("assignee", changes["assignee"])
        routed = routed or len(fields) != before
    # status
    if "status" in changes and changes["status"] != ticket.status:
        new = changes["status"]
        if new not in Status.values:
            raise ValidationFailed(_("Unknown status."), code="invalid_status", field="status")
        if new not in TRANSITIONS[ticket.status]:
            raise ValidationFailed(
                _("A ticket cannot go from %(old)s to %(new)s.")
                % {"old": Status(ticket.status).label, "new": Status(new).label},
                code="invalid_transition", field="status",
                details={"allowed": allowed_transitions(ticket.status)},
            )
        change.record("status", ticket.status, new)
        change.event("ticket.status_changed", old=ticket.status, new=new,
                     reopened=ticket.status in (Status.RESOLVED, Status.CLOSED))
        fields["status"] = new
        if new == Status.RESOLVED:
            fields["resolved_at"] = now
        elif new == Status.CLOSED:
            fields["closed_at"] = now
            if ticket.resolved_at is None:
                fields["resolved_at"] = now
        elif new in ACTIVE_STATUSES:
            fields["resolved_at"] = None
            fields["closed_at"] = None

    # location
    if "location" in changes:
        loc = _resolve_location(changes["location"]) if changes["location"] else {
            "latitude": None, "longitude": None, "etrs_n": None, "etrs_e": None, "address": ""}
        for k, v in loc.items():
            setf(k, v)

    # related rows
    def new_id(name: str) -> int | None:
        if name in fields:  # changed, possibly to none
            return fields[name].pk if fields[name] is not None else None
        return getattr(ticket, f"{name}_id")

    new_type_id, new_cat_id = new_id("ticket_type"), new_id("category")
    prepared = _prepare_custom_fields(org_id, new_type_id, new_cat_id,
                                      dict(changes.get("custom_fields") or {}),
                                      check_required=False)
    new_tags: list[Tag] | None = None
    if "tags" in changes:
        new_tags = _tags(org_id, changes["tags"] or [])
        old_names = {t.name for t in ticket.tags.all()}
        if old_names != {t.name for t in new_tags}:
            change.record("tags", old_names, {t.name for t in new_tags})

    _save_custom_fields(ticket, prepared, change)
    if new_tags is not None and "tags" in change.changed_fields:
        ticket.tags.set(new_tags)
    if not change.history:
        return ticket
    for k, v in fields.items():
        setattr(ticket, k, v)
    ticket.updated_at = now
    ticket.version += 1
    ticket.save(update_fields=[*fields.keys(), "updated_at", "version"])
    sla.ticket_updated(ticket, change.history, now)
    if routed:
        change.event("ticket.assigned", team=ticket.team_id, assignee=ticket.assignee_id,
                     by=actor.pk if actor is not None else None)
    change.event("ticket.updated", fields=sorted(change.changed_fields), version=ticket.version)
    change.flush()
    if change.changed_fields & {"title", "customer", "language"}:
        reindex([ticket])
    elif routed:
        search.update_routing([ticket.pk], ticket.team_id, ticket.assignee_id)
    if "team" in change.changed_fields and ticket.assignee_id is None:  # kapula/routing
        from kapula.routing.actions import after_team_change  # (imports this module)
        ticket = after_team_change(ticket)
    return ticket


def change_status(*, actor: User | None, ticket: Ticket, status: str,
                  expected_version: int | None = None) -> Ticket:
    return update_ticket(actor=actor, ticket=ticket, changes={"status": status},
                         expected_version=expected_version)


def assign(*, actor: User | None, ticket: Ticket, team: Team | None = None,
           assignee: User | None = None, expected_version: int | None = None) -> Ticket:
    """Move the ticket to ``team`` (when given) and/or give it to ``assignee`` (None frees)."""
    changes: dict[str, Any] = {"assignee": assignee}
    if team is not None:
        changes["team"] = team
    return update_ticket(actor=actor, ticket=ticket, changes=changes,
                         expected_version=expected_version)


def set_priority(*, actor: User | None, ticket: Ticket, impact: str, urgency: str,
                 expected_version: int | None = None) -> Ticket:
    return update_ticket(actor=actor, ticket=ticket,
                         changes={"impact": impact, "urgency": urgency},
                         expected_version=expected_version)


# --- links and merge -----------------------------------------------------------------------


@atomic_action
def link(*, actor: User | None, ticket: Ticket, other: Ticket, kind: str) -> Ticket:
    """Link two tickets: ``related``, ``parent`` (other becomes this one's parent) or
    ``child`` (other becomes this one's child)."""
    if actor is not None:
        require_ticket(actor, ticket)
        require_ticket(actor, other)
    if ticket.organisation_id != other.organisation_id:
        raise Forbidden(_("Tickets of different organisations cannot be linked."),
                        code="organisation_forbidden")
    if ticket.pk == other.pk:
        raise ValidationFailed(_("A ticket cannot be linked to itself."), code="self_link")
    change = _Change(ticket, actor, _label(actor))
    now = timezone.now()
    if kind == LinkKind.RELATED:
        if TicketLink.objects.filter(source=ticket, target=other).exists() or \
                TicketLink.objects.filter(source=other, target=ticket).exists():
            raise Conflict(_("The tickets are already linked."), code="already_linked")
        TicketLink.objects.create(source=ticket, target=other, kind=kind)
        change.record("related", None, other.number)
    elif kind in ("parent", "child"):
        child, parent = (ticket, other) if kind == "parent" else (other, ticket)
        node_id: int | None = parent.pk
        depth = 0
        while node_id is not None and depth < 100:
            if node_id == child.pk:
                raise ValidationFailed(_("That link would make a loop."), code="link_cycle")
            node_id = Ticket.objects.filter(pk=node_id).values_list("parent_id", flat=True)[0]
            depth += 1
        child = _locked(child)
        old_parent = child.parent
        child.parent = parent
        child.version += 1
        child.updated_at = now
        child.save(update_fields=["parent", "version", "updated_at"])
        change = _Change(child, actor, _label(actor))
        change.record("parent", old_parent.number if old_parent else None, parent.number)
    else:
        raise ValidationFailed(_("Unknown link kind."), code="invalid_link_kind", field="kind")
    change.event("ticket.linked", kind=kind, other=other.number)
    change.flush()
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
    return ticket


@atomic_action
def merge(*, actor: User | None, source: Ticket, target: Ticket) -> Ticket:
    """Merge ``source`` into ``target``: its conversation and attachments move to the target,
    the source is closed and points to the target, so later messages land there."""
    if actor is not None:
        require_ticket(actor, source)
        require_ticket(actor, target)
    if source.organisation_id != target.organisation_id:
        raise Forbidden(_("Tickets of different organisations cannot be merged."),
                        code="organisation_forbidden")
    if source.pk == target.pk:
        raise ValidationFailed(_("A ticket cannot be merged into itself."), code="self_merge")
    # lock both rows in one statement, in id order, so that two opposite merges at the same
    # time wait for each other instead of deadlocking
    locked = {t.pk: t for t in Ticket.objects.select_for_update().filter(
        pk__in=[source.pk, target.pk]).order_by("pk")}
    if len(locked) != 2:
        raise NotFound(_("No such ticket."), code="ticket_not_found")
    source, target = locked[source.pk], locked[target.pk]
    if source.merged_into_id:
        raise Conflict(_("The ticket was already merged."), code="already_merged")
    if target.merged_into_id:
        raise ValidationFailed(_("The target ticket was itself merged."), code="target_merged")
    now = timezone.now()
    moved = Message.objects.filter(ticket=source).update(ticket=target)
    Attachment.objects.filter(ticket=source).update(ticket=target)
    ExternalReference.objects.filter(ticket=source).update(ticket=target)
    label = _label(actor)
    src_change = _Change(source, actor, label)
    src_change.record("merged_into", None, target.number)
    if source.status != Status.CLOSED:
        src_change.record("status", source.status, Status.CLOSED)
    Ticket.objects.filter(pk=source.pk).update(
        merged_into=target, status=Status.CLOSED, closed_at=now, updated_at=now,
        version=F("version") + 1, message_count=0,
        resolved_at=source.resolved_at or now,
    )
    Message.objects.create(
        ticket=source, kind=MessageKind.EVENT, channel=Channel.INTERNAL,
        author_kind=AuthorKind.SYSTEM, author_name=label,
        body_text=_("Merged into %(number)s.") % {"number": target.number},
        body_html=text_to_html(_("Merged into %(number)s.") % {"number": target.number}),
    )
    Message.objects.create(
        ticket=target, kind=MessageKind.EVENT, channel=Channel.INTERNAL,
        author_kind=AuthorKind.SYSTEM, author_name=label,
        body_text=_("%(number)s was merged into this ticket.") % {"number": source.number},
        body_html=text_to_html(_("%(number)s was merged into this ticket.")
                               % {"number": source.number}),
    )
    Ticket.objects.filter(pk=target.pk).update(
        updated_at=now, version=F("version") + 1, message_count=F("message_count") + moved + 1)
    tgt_change = _Change(target, actor, label)
    tgt_change.record("merged_from", None, source.number)
    src_change.event("ticket.merged", into=target.number)
    tgt_change.event("ticket.updated", fields=["merged_from"])
    src_change.flush()
    sla.ticket_stopped(source, now)
    tgt_change.flush()
    target.refresh_from_db()
    source.refresh_from_db()
    reindex([target, source])
    return target


def add_external_reference(*, actor: User | None, ticket: Ticket, system: str,
                           external_id: str) -> ExternalReference:
    if actor is not None:
        require_ticket(actor, ticket)
    system, external_id = system.strip()[:64], external_id.strip()[:255]
    if not system or not external_id:
        raise ValidationFailed(_("System and id are required."), code="invalid_reference")
    try:
        with transaction.atomic():
            ref = ExternalReference.objects.create(
                ticket=ticket, organisation_id=ticket.organisation_id, system=system,
                external_id=external_id)
            change = _Change(ticket, actor, _label(actor))
            change.record("external_ref", None, f"{system}:{external_id}")
            change.event("ticket.updated", fields=["external_refs"])
            change.flush()
            return ref
    except IntegrityError:
        raise Conflict(_("That reference is already linked to a ticket."),
                       code="reference_exists") from None


def visible_or_404(user: Any, ticket_id: int) -> Ticket:
    """Fetch a ticket the user may see; unknown and forbidden look the same (404)."""
    ticket = Ticket.objects.filter(scope_for(user).ticket_q(), pk=ticket_id).first()
    if ticket is None:
        raise NotFound(_("No such ticket."), code="ticket_not_found")
    return ticket
