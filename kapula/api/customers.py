"""Customers of the caller's organisation: search, create, read."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from kapula.api import idempotency
from kapula.api import serialise as out
from kapula.api.schemas import CustomerCreate, CustomerOut, CustomerPage, Id
from kapula.api.tickets import ERRORS, organisation_of
from kapula.core.actions import create_customer
from kapula.core.errors import NotFound, ValidationFailed
from kapula.core.models import ContactKind, Customer, CustomerContact, User
from kapula.core.text import normalise_email, normalise_phone

router = Router(tags=["customers"])


class CustomerQuery(Schema):
    q: str = Field("", max_length=200, description="Name, email address or phone number.")
    cursor: str | None = Field(None, max_length=40)
    limit: int = Field(50, ge=1, le=200)


@router.get("/customers", response={200: CustomerPage, **ERRORS}, summary="Find customers")
def list_customers(request: HttpRequest, params: Query[CustomerQuery]) -> dict[str, Any]:
    """Customers by id, newest first. `q` matches a name (in part), or an email address or
    phone number exactly."""
    user: User = request.auth  # type: ignore[attr-defined]
    org = organisation_of(user)
    qs = Customer.objects.filter(organisation=org)
    text = params.q.strip()
    if text:
        match = Q(name__icontains=text)
        if "@" in text:
            match |= Q(pk__in=CustomerContact.objects.filter(
                organisation=org, kind=ContactKind.EMAIL,
                normalised=normalise_email(text)).values("customer_id"))
        digits = normalise_phone(text)
        if sum(c.isdigit() for c in digits) >= 6:
            match |= Q(pk__in=CustomerContact.objects.filter(
                organisation=org, kind=ContactKind.PHONE,
                normalised=digits).values("customer_id"))
        qs = qs.filter(match)
    if params.cursor:
        if not (params.cursor.isascii() and params.cursor.isdigit()) or len(params.cursor) > 18:
            raise ValidationFailed(_("Invalid page cursor."), code="invalid_cursor",
                                   field="cursor")
        qs = qs.filter(pk__lt=int(params.cursor))
    items = list(qs.prefetch_related("contacts").order_by("-pk")[: params.limit + 1])
    next_cursor = None
    if len(items) > params.limit:
        items = items[: params.limit]
        next_cursor = str(items[-1].pk)
    return {"items": [out.customer(c) for c in items], "next_cursor": next_cursor}


@router.post("/customers", response={201: CustomerOut, **ERRORS},
             openapi_extra=idempotency.OPENAPI, summary="Create a customer")
def add_customer(request: HttpRequest, payload: CustomerCreate) -> HttpResponse:
    """A new customer; an email address or phone number already in use is 409
    `customer_exists`."""
    user: User = request.auth  # type: ignore[attr-defined]
    org = organisation_of(user)

    def action() -> idempotency.Result:
        customer = create_customer(
            actor=user, organisation=org, name=payload.name, emails=payload.emails,
            phones=payload.phones, language=payload.language,
            organisation_name=payload.organisation_name)
        return 201, out.customer(customer)

    return idempotency.run(request, action)


@router.get("/customers/{customer_id}", response={200: CustomerOut, **ERRORS},
            summary="Read a customer")
def read_customer(request: HttpRequest, customer_id: Id) -> dict[str, Any]:
    user: User = request.auth  # type: ignore[attr-defined]
    org = organisation_of(user)
    customer = Customer.objects.filter(organisation=org, pk=customer_id).prefetch_related(
        "contacts").first()
    if customer is None:
        raise NotFound(_("No such customer."), code="customer_not_found")
    return out.customer(customer)
