"""Request and response shapes. Inputs forbid unknown fields, so a typo is a 422, never a
silently ignored value."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


class Error(Schema):
    code: str = Field(description="Stable machine-readable error code.")
    message: str = Field(description="Human-readable explanation in the request's language.")
    field: str | None = None
    details: dict[str, Any] | None = None


# --- shared pieces -----------------------------------------------------------------------

Level = Literal["high", "medium", "low"]
Language = Literal["fi", "sv", "en"]
FieldValue = str | int | float | bool | None
#: database ids: bounded so that no input overflows a bigint column
Id = Annotated[int, Field(ge=1, le=2**62)]
Version = Annotated[int, Field(ge=0, le=2**31 - 1)]


class LocationIn(Input):
    latitude: float | None = Field(None, allow_inf_nan=False, ge=-90, le=90)
    longitude: float | None = Field(None, allow_inf_nan=False, ge=-180, le=180)
    northing: float | None = Field(None, allow_inf_nan=False,
                                   description="EPSG:3067 (ETRS-TM35FIN) northing")
    easting: float | None = Field(None, allow_inf_nan=False,
                                  description="EPSG:3067 (ETRS-TM35FIN) easting")
    address: str = Field("", max_length=300)


class LocationOut(Schema):
    latitude: float | None
    longitude: float | None
    northing: float | None
    easting: float | None
    address: str


class CustomerIn(Input):
    name: str = Field("", max_length=200)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=40)
    language: Language | None = None


class ExternalRefIn(Input):
    system: str = Field(min_length=1, max_length=64)
    id: str = Field(min_length=1, max_length=255)


class ExternalRefOut(Schema):
    system: str
    id: str


# --- tickets ---------------------------------------------------------------------------


class TicketCreate(Input):
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(description="The first message (plain text).")
    channel: str = Field(description="Channel of origin, e.g. api, email, phone, walk_in.")
    body_html: str = Field("", description="Optional HTML version; it is sanitised.")
    customer: Id | CustomerIn | None = Field(
        None, description="A customer id, or an identity to find or create the customer by.")
    language: Language | None = Field(None, description="Detected when not given.")
    type: Id | str | None = Field(None, description="Ticket type id or code.")
    category: Id | None = None
    team: Id | str | None = Field(None, description="Team id or identifier (slug).")
    impact: Level = "medium"
    urgency: Level = "medium"
    location: LocationIn | None = None
    custom_fields: dict[str, FieldValue] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list, max_length=30)
    external_refs: list[ExternalRefIn] = Field(default_factory=list, max_length=20)


class TicketUpdate(Input):
    version: Version | None = Field(None, description="The version you read; or send If-Match.")
    title: str | None = Field(None, min_length=1, max_length=300)
    status: str | None = None
    team: Id | str | None = None
    assignee: Id | None = None
    impact: Level | None = None
    urgency: Level | None = None
    type: Id | str | None = None
    category: Id | None = None
    customer: Id | None = None
    language: Language | None = None
    tags: list[str] | None = Field(None, max_length=30)
    custom_fields: dict[str, FieldValue] | None = None
    location: LocationIn | None = None
    first_contact_resolution: bool | None = None


class StatusChange(Input):
    status: str
    version: Version | None = None


class LinkIn(Input):
    ticket: Id | str = Field(description="The other ticket: id or number.")
    kind: Literal["related", "parent", "child"] = "related"


class MergeIn(Input):
    into: Id | str = Field(description="The ticket to merge this one into: id or number.")


class TicketOut(Schema):
    id: int
    number: str
    title: str
    status: str
    allowed_transitions: list[str]
    priority: int
    impact: str
    urgency: str
    channel: str
    language: str
    type: int | None
    category: int | None
    team: int | None
    assignee: int | None
    customer: int | None
    parent: int | None
    merged_into: int | None
    location: LocationOut | None
    tags: list[str]
    first_contact_resolution: bool
    message_count: int
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None


class TicketCreated(TicketOut):
    message: int = Field(description="Id of the first message.")


class TicketDetail(TicketOut):
    custom_fields: dict[str, Any]
    external_refs: list[ExternalRefOut]


class TicketPage(Schema):
    items: list[TicketOut]
    next_cursor: str | None


# --- messages --------------------------------------------------------------------------


class MessageCreate(Input):
    kind: Literal["reply", "note"]
    body: str = ""
    body_html: str = ""
    version: Version | None = None


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    url: str


class MessageOut(Schema):
    id: int
    ticket: int
    kind: str
    channel: str
    author_kind: str
    author_name: str
    author_user: int | None
    body_text: str
    body_html: str
    language: str
    created_at: dt.datetime
    attachments: list[AttachmentOut]


class MessagePage(Schema):
    items: list[MessageOut]
    next_cursor: str | None


# --- customers and catalogue -------------------------------------------------------------


class CustomerCreate(Input):
    name: str = Field("", max_length=200)
    emails: list[str] = Field(default_factory=list, max_length=10)
    phones: list[str] = Field(default_factory=list, max_length=10)
    language: Language | None = None
    organisation_name: str = Field("", max_length=200)


class CustomerOut(Schema):
    id: int
    name: str
    language: str
    organisation_name: str
    emails: list[str]
    phones: list[str]
    created_at: dt.datetime


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None


class Names(Schema):
    fi: str
    sv: str
    en: str


class TeamOut(Schema):
    id: int
    slug: str
    name: str
    names: Names
    tier: str
    unit: int | None


class CategoryOut(Schema):
    id: int
    parent: int | None
    name: str
    names: Names
    default_team: int | None


class TypeOut(Schema):
    id: int
    code: str
    name: str
    names: Names
