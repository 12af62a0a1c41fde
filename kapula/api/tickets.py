"""Tickets, their messages and attachments."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Prefetch
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Header, Query, Router, Schema
from ninja.files import UploadedFile
from pydantic import Field

from kapula.api import idempotency
from kapula.api import serialise as out
from kapula.api.errors import error_response
from kapula.api.schemas import (
    Error,
    Id,
    LinkIn,
    LocationIn,
    MergeIn,
    MessageCreate,
    MessageOut,
    MessagePage,
    StatusChange,
    TicketCreate,
    TicketCreated,
    TicketDetail,
    TicketOut,
    TicketPage,
    TicketUpdate,
)
from kapula.core.access import scope_for
from kapula.core.actions import CustomerIdentity
from kapula.core.errors import Conflict, Forbidden, NotFound, TooLarge, ValidationFailed
from kapula.core.models import Customer, Language, Organisation, Team, User
from kapula.intake.actions import Intake, receive
from kapula.tickets import actions
from kapula.tickets import queries as q
from kapula.tickets.attachments import AttachmentInput
from kapula.tickets.models import (
    Attachment,
    Category,
    Channel,
    Message,
    Status,
    Tag,
    Ticket,
    TicketType,
)

router = Router(tags=["tickets"])

ERRORS: dict[int, Any] = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error,
                          413: Error, 422: Error}
MAX_REF = 10**15


# --- helpers -------------------------------------------------------------------------------


def organisation_of(user: User) -> Organisation:
    if user.organisation_id is None or user.organisation is None:
        raise Forbidden(_("Your account does not belong to an organisation."),
                        code="no_organisation")
    return user.organisation


def find_ticket(user: User, ref: str | int, field: str | None = None) -> Ticket:
    """A ticket the user may see, by id or number; anything else is 404."""
    text = str(ref).strip()
    qs = Ticket.objects.filter(scope_for(user).ticket_q())
    if text.isascii() and text.isdigit() and len(text) < 16:
        found = qs.filter(pk=int(text)).first()
    elif 0 < len(text) <= 32:
        found = qs.filter(number=text.upper()).first()
    else:
        found = None
    if found is None:
        raise NotFound(_("No such ticket."), code="ticket_not_found", field=field)
    return found


def parse_if_match(value: str | None) -> int | None:
    """``3``, ``"3"`` and ``W/"3"`` all mean version 3; ``*`` or nothing means no check."""
    if value is None:
        return None
    text = value.strip()
    if text in ("", "*"):
        return None
    if text.startswith(("W/", "w/")):
        text = text[2:]
    text = text.strip().strip('"')
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise ValidationFailed(_("If-Match must hold a ticket version such as \"3\"."),
                               code="invalid_if_match", field="If-Match")
    return int(text)


def expected_version(if_match: str | None, body_version: int | None) -> int | None:
    header = parse_if_match(if_match)
    if header is not None and body_version is not None and header != body_version:
        raise ValidationFailed(_("If-Match and version disagree."), code="version_mismatch",
                               field="version")
    return header if header is not None else body_version


def etag(version: int) -> str:
    return f'"{version}"'


def _by_id_or_code(model: Any, org_id: int, value: int | str | None, field: str,
                   code_field: str) -> Any:
    if value is None:
        return None
    qs = model.objects.filter(organisation_id=org_id)
    obj = qs.filter(pk=value).first() if isinstance(value, int) else \
        qs.filter(**{code_field: value[:100]}).first()
    if obj is None:
        raise ValidationFailed(_("No such %(field)s in your organisation.") % {"field": field},
                               code=f"invalid_{field}", field=field)
    return obj


def _type(org_id: int, value: int | str | None) -> TicketType | None:
    return _by_id_or_code(TicketType, org_id, value, "type", "code")


def _team(org_id: int, value: int | str | None) -> Team | None:
    return _by_id_or_code(Team, org_id, value, "team", "slug")


def _category(org_id: int, value: int | None) -> Category | None:
    return _by_id_or_code(Category, org_id, value, "category", "pk")


def _location(value: LocationIn | None) -> actions.Location | None:
    if value is None:
        return None
    return actions.Location(latitude=value.latitude, longitude=value.longitude,
                            northing=value.northing, easting=value.easting,
                            address=value.address)


def _tags_prefetch() -> Prefetch:
    return Prefetch("tags", queryset=Tag.objects.only("id", "name"))


def _with_etag(status: int, body: dict[str, Any]) -> HttpResponse:
    return idempotency.json_response(status, body, {"ETag": etag(body["version"])})


# --- list ----------------------------------------------------------------------------------


#: a date filter; bounded so that day arithmetic and time zones cannot overflow
Day = Annotated[dt.date, Field(ge=dt.date(1900, 1, 1), le=dt.date(9998, 12, 31))]


class TicketQuery(Schema):
    status: list[str] = Field(default_factory=list)
    priority: list[int] = Field(default_factory=list)
    type: list[int] = Field(default_factory=list)
    channel: list[str] = Field(default_factory=list)
    language: list[str] = Field(default_factory=list)
    category: list[int] = Field(default_factory=list)
    team: list[int] = Field(default_factory=list)
    assignee: str | None = Field(None, description='A user id, "me" or "none".')
    tag: list[str] = Field(default_factory=list)
    customer: Id | None = None
    created_from: Day | None = None
    created_to: Day | None = None
    updated_from: Day | None = None
    updated_to: Day | None = None
    sort: str = Field("-updated", description=", ".join(q.SORTS))
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)


def _split(values: list[str]) -> list[str]:
    """Repeated parameters and comma-separated lists both work: ?status=new,open."""
    return [part.strip() for v in values for part in v.split(",") if part.strip()][:50]


def _ints(values: list[int], field: str) -> list[int]:
    if any(v < 0 or v > 2**62 for v in values):
        raise ValidationFailed(_("Invalid id."), code="invalid_filter", field=field)
    return values[:200]


def _choices(values: list[str], allowed: list[str], field: str) -> list[str]:
    values = _split(values)
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ValidationFailed(
            _("Unknown value for %(field)s: %(values)s") % {"field": field,
                                                           "values": ", ".join(bad[:5])},
            code="invalid_filter", field=field, details={"allowed": allowed})
    return values


def build_filter(user: User, f: TicketQuery) -> q.TicketFilter:
    assignee: int | str | None = None
    if f.assignee is not None:
        value = f.assignee.strip().lower()
        if value == "me":
            assignee = user.pk
        elif value == "none":
            assignee = "none"
        elif value.isascii() and value.isdigit() and len(value) < 16:
            assignee = int(value)
        elif value:
            raise ValidationFailed(_('assignee must be a user id, "me" or "none".'),
                                   code="invalid_filter", field="assignee")
    return q.TicketFilter(
        statuses=_choices(f.status, list(Status.values), "status"),
        priorities=_ints(f.priority, "priority"),
        types=_ints(f.type, "type"),
        channels=_choices(f.channel, list(Channel.values), "channel"),
        languages=_choices(f.language, list(Language.values), "language"),
        categories=_ints(f.category, "category"),
        teams=_ints(f.team, "team"),
        tags=[t[:64] for t in _split(f.tag)],
        assignee=assignee,
        customer=f.customer,
        created_from=f.created_from, created_to=f.created_to,
        updated_from=f.updated_from, updated_to=f.updated_to,
    )


@router.get("/tickets", response={200: TicketPage, **ERRORS}, summary="List tickets")
def list_tickets(request: HttpRequest, filters: Query[TicketQuery]) -> dict[str, Any]:
    """Tickets you may see, newest change first by default. Follow `next_cursor` (pass it
    as `cursor`) for the next page; it is null on the last page."""
    user: User = request.auth  # type: ignore[attr-defined]
    qs = q.apply_filter(Ticket.objects.filter(scope_for(user).ticket_q()),
                        build_filter(user, filters))
    page = q.paginate(qs.prefetch_related(_tags_prefetch()), sort=filters.sort,
                      cursor=filters.cursor, limit=filters.limit)
    return {"items": [out.ticket(t) for t in page.items], "next_cursor": page.next_cursor}


# --- create --------------------------------------------------------------------------------


def _identity(value: int | Any | None) -> CustomerIdentity:
    if value is None:
        return CustomerIdentity()
    if isinstance(value, int):
        return CustomerIdentity(customer_id=value)
    return CustomerIdentity(name=value.name.strip(), email=value.email.strip(),
                            phone=value.phone.strip(), language=value.language)


@router.post("/tickets", response={201: TicketCreated, 200: TicketCreated, **ERRORS},
             openapi_extra=idempotency.OPENAPI, summary="Create a ticket")
def create_ticket(request: HttpRequest, payload: TicketCreate) -> HttpResponse:
    """Open a ticket whose first message is `body`. It passes through the same intake as
    every other channel: a title quoting an existing ticket number of the same customer
    adds the message to that ticket instead (then the status is 200, not 201)."""
    user: User = request.auth  # type: ignore[attr-defined]
    org = organisation_of(user)

    def action() -> idempotency.Result:
        intake = Intake(
            organisation=org, channel=payload.channel, body=payload.body,
            subject=payload.title, body_html=payload.body_html,
            customer=_identity(payload.customer), language=payload.language,
            location=_location(payload.location), custom_fields=dict(payload.custom_fields),
            ticket_type=_type(org.pk, payload.type), category=_category(org.pk,
                                                                        payload.category),
            team=_team(org.pk, payload.team), impact=payload.impact, urgency=payload.urgency,
            tags=payload.tags, actor=user,
        )
        result = receive(intake)
        ticket = result.ticket
        if not result.created:
            if not scope_for(user).can_see(ticket):
                raise Conflict(_("The title refers to a ticket you cannot see."),
                               code="thread_forbidden", field="title")
            body = out.ticket(ticket)
        else:
            body = out.ticket(ticket, tags=out.tag_names(payload.tags))
        for ref in payload.external_refs:
            actions.add_external_reference(actor=None, ticket=ticket, system=ref.system,
                                           external_id=ref.id)
        body["message"] = result.message.pk
        return (201 if result.created else 200), body

    # receive() is one transaction by itself; external references are written after it and
    # must roll back with it, so only then is an outer transaction needed
    return idempotency.run(request, action, lambda r: {"ETag": etag(r[1]["version"])},
                           atomic=bool(payload.external_refs))


# --- read and update -----------------------------------------------------------------------


@router.get("/tickets/{ref}", response={200: TicketDetail, **ERRORS}, summary="Read a ticket")
def read_ticket(request: HttpRequest, ref: str) -> HttpResponse:
    """`ref` is the ticket id or its number (e.g. TRE-2026-000123)."""
    user: User = request.auth  # type: ignore[attr-defined]
    ticket = find_ticket(user, ref)
    return _with_etag(200, out.ticket_detail(ticket))


def _changes(org_id: int, payload: TicketUpdate) -> dict[str, Any]:
    given = payload.model_fields_set - {"version"}
    changes: dict[str, Any] = {}
    for name in given:
        value = getattr(payload, name)
        if name == "type":
            changes["ticket_type"] = _type(org_id, value)
        elif name == "team":
            changes["team"] = _team(org_id, value)
        elif name == "category":
            changes["category"] = _category(org_id, value)
        elif name == "customer":
            changes["customer"] = None if value is None else _by_id_or_code(
                Customer, org_id, value, "customer", "pk")
        elif name == "assignee":
            changes["assignee"] = None if value is None else _by_id_or_code(
                User, org_id, value, "assignee", "pk")
        elif name == "location":
            changes["location"] = _location(value)
        elif name in ("title", "status", "impact", "urgency", "language"):
            if value is None:
                raise ValidationFailed(_("%(field)s cannot be null.") % {"field": name},
                                       code="invalid_input", field=name)
            changes[name] = value
        elif name == "tags":
            changes["tags"] = value or []
        elif name == "custom_fields":
            changes["custom_fields"] = value or {}
        elif name == "first_contact_resolution":
            changes[name] = bool(value)
    return changes


@router.patch("/tickets/{ref}", response={200: TicketDetail, **ERRORS, 428: Error},
              summary="Update a ticket")
def update_ticket(request: HttpRequest, ref: str, payload: TicketUpdate,
                  if_match: str | None = Header(None, alias="If-Match")) -> HttpResponse:
    """Change any of the ticket's fields in one step. Send the version you read, either as
    `If-Match` (`"3"`) or as `version`; if someone changed the ticket since, the answer is
    409 `stale_version` and nothing is changed. The response carries the new `ETag`."""
    user: User = request.auth  # type: ignore[attr-defined]
    ticket = find_ticket(user, ref)
    version = expected_version(if_match, payload.version)
    if version is None:
        return error_response(428, "version_required",
                              _("Send the ticket version as If-Match or as version."),
                              field="version")
    changes = _changes(ticket.organisation_id, payload)
    updated = actions.update_ticket(actor=user, ticket=ticket, changes=changes,
                                    expected_version=version)
    fresh = Ticket.objects.get(pk=updated.pk)
    return _with_etag(200, out.ticket_detail(fresh))


@router.post("/tickets/{ref}/status", response={200: TicketOut, **ERRORS},
             openapi_extra=idempotency.OPENAPI, summary="Change a ticket's status")
def change_status(request: HttpRequest, ref: str, payload: StatusChange,
                  if_match: str | None = Header(None, alias="If-Match")) -> HttpResponse:
    """Move the ticket to another status; `allowed_transitions` of a ticket lists where it
    can go. An impossible move is 422 `invalid_transition`."""
    user: User = request.auth  # type: ignore[attr-defined]
    ticket = find_ticket(user, ref)
    version = expected_version(if_match, payload.version)

    def action() -> idempotency.Result:
        updated = actions.change_status(actor=user, ticket=ticket, status=payload.status,
                                        expected_version=version)
        return 200, out.ticket(updated)

    return idempotency.run(request, action, lambda r: {"ETag": etag(r[1]["version"])})


@router.post("/tickets/{ref}/links", response={201: TicketOut, **ERRORS},
             openapi_extra=idempotency.OPENAPI, summary="Link two tickets")
def link_tickets(request: HttpRequest, ref: str, payload: LinkIn) -> HttpResponse:
    """`related` links both ways; `parent` makes the other ticket this one's parent,
    `child` makes it this one's child."""
    user: User = request.auth  # type: ignore[attr-defined]
    ticket = find_ticket(user, ref)
    other = find_ticket(user, payload.ticket, field="ticket")

    def action() -> idempotency.Result:
        actions.link(actor=user, ticket=ticket, other=other, kind=payload.kind)
        return 201, out.ticket(Ticket.objects.get(pk=ticket.pk))

    return idempotency.run(request, action)


@router.post("/tickets/{ref}/merge", response={200: TicketOut, **ERRORS},
             openapi_extra=idempotency.OPENAPI, summary="Merge a ticket into another")
def merge_tickets(request: HttpRequest, ref: str, payload: MergeIn) -> HttpResponse:
    """The conversation of this ticket moves to `into`; this ticket is closed and points
    to it. The answer is the target ticket."""
    user: User = request.auth  # type: ignore[attr-defined]
    source = find_ticket(user, ref)
    target = find_ticket(user, payload.into, field="into")

    def action() -> idempotency.Result:
        merged = actions.merge(actor=user, source=source, target=target)
        return 200, out.ticket(merged)

    return idempotency.run(request, action)


# --- messages ------------------------------------------------------------------------------


class MessageQuery(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(100, ge=1, le=500)


MESSAGE_ORDER = ("created_at", "id")


@router.get("/tickets/{ref}/messages", response={200: MessagePage, **ERRORS},
            summary="List a ticket's messages")
def list_messages(request: HttpRequest, ref: str, page: Query[MessageQuery]
                  ) -> dict[str, Any]:
    """The conversation in order, internal notes and system events included."""
    user: User = request.auth  # type: ignore[attr-defined]
    ticket = find_ticket(user, ref)
    qs = Message.objects.filter(ticket=ticket).prefetch_related("attachments")
    if page.cursor:
        qs = qs.filter(q._after(MESSAGE_ORDER, q._decode(page.cursor, MESSAGE_ORDER)))
    items = list(qs.order_by(*MESSAGE_ORDER)[: page.limit + 1])
    next_cursor = None
    if len(items) > page.limit:
        items = items[: page.limit]
        next_cursor = q._encode([items[-1].created_at, items[-1].pk])
    return {"items": [out.message(m) for m in items], "next_cursor": next_cursor}


def _add_message(request: HttpRequest, ticket: Ticket, kind: str, body: str, body_html: str,
                 version: int | None, files: list[AttachmentInput]) -> HttpResponse:
    user: User = request.auth  # type: ignore[attr-defined]

    def action() -> idempotency.Result:
        message = actions.add_message(actor=user, ticket=ticket, kind=kind, body=body,
                                      body_html=body_html, attachments=files,
                                      expected_version=version)
        return 201, out.message(message, list(message.attachments.all()) if files else [])

    return idempotency.run(request, action)


@router.post("/tickets/{ref}/messages", response={201: MessageOut, **ERRORS},
             openapi_extra=idempotency.OPENAPI, summary="Reply or add an internal note")
def add_message(request: HttpRequest, ref: str, payload: MessageCreate,
                if_match: str | None = Header(None, alias="If-Match")) -> HttpResponse:
    """`reply` goes to the customer, `note` stays internal. HTML is sanitised."""
    user: User = request.auth  # type: ignore[attr-defined]
    ticket = find_ticket(user, ref)
    return _add_message(request, ticket, payload.kind, payload.body, payload.body_html,
                        expected_version(if_match, payload.version), [])


@router.post("/tickets/{ref}/messages/upload", response={201: MessageOut, **ERRORS},
             openapi_extra=idempotency.OPENAPI,
             summary="Reply or add a note with attachments (multipart)")
def add_message_with_files(
    request: HttpRequest, ref: str, kind: Form[str], body: Form[str] = "",
    version: Form[int | None] = None, files: File[list[UploadedFile]] = None,  # type: ignore[assignment]
) -> HttpResponse:
    """A `multipart/form-data` request with fields `kind` (reply or note), `body` and one
    or more `files`. Size and type limits apply to every file."""
    user: User = request.auth  # type: ignore[attr-defined]
    ticket = find_ticket(user, ref)
    if kind not in ("reply", "note"):
        raise ValidationFailed(_("kind must be reply or note."), code="invalid_kind",
                               field="kind")
    inputs: list[AttachmentInput] = []
    for upload in files or []:
        if (upload.size or 0) > settings.KAPULA_MAX_ATTACHMENT_BYTES:
            raise TooLarge(
                _("The attachment %(name)s is too large (at most %(mb)s MB).")
                % {"name": upload.name,
                   "mb": settings.KAPULA_MAX_ATTACHMENT_BYTES // (1024 * 1024)},
                code="attachment_too_large", field="files")
        inputs.append(AttachmentInput(filename=upload.name or "attachment",
                                      content=upload.read(),
                                      content_type=upload.content_type or ""))
    return _add_message(request, ticket, kind, body, "",
                        expected_version(request.headers.get("If-Match"), version), inputs)


@router.get("/attachments/{attachment_id}", url_name="attachment_download",
            response={200: None, **ERRORS}, summary="Download an attachment")
def download_attachment(request: HttpRequest, attachment_id: Id) -> FileResponse:
    """The file itself, always as a download (never rendered inline)."""
    user: User = request.auth  # type: ignore[attr-defined]
    item = Attachment.objects.select_related("ticket").filter(pk=attachment_id).first()
    if item is None or not scope_for(user).can_see(item.ticket):
        raise NotFound(_("No such attachment."), code="attachment_not_found")
    try:
        handle = default_storage.open(item.file.name or "", "rb")
    except OSError:
        raise NotFound(_("The file is missing."), code="attachment_missing") from None
    response = FileResponse(handle, as_attachment=True, filename=item.filename,
                            content_type=item.content_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
