"""Reads of the customer portal. Everything is scoped by (organisation, verified email):
a customer sees the tickets of every Customer record of that organisation that has the
email address as a contact, and nothing else."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from kapula.core.models import ContactKind, CustomerContact, Organisation
from kapula.core.text import normalise_email
from kapula.tickets.models import (
    ACTIVE_STATUSES,
    Attachment,
    Message,
    MessageKind,
    Status,
    Ticket,
)

PUBLIC_KINDS = (MessageKind.INBOUND, MessageKind.REPLY)
FINISHED_STATUSES = (Status.RESOLVED, Status.CLOSED)
#: the list's filter tabs: key -> statuses (None: every status)
FILTERS: dict[str, tuple[str, ...] | None] = {
    "all": None,
    "open": tuple(ACTIVE_STATUSES),
    "finished": FINISHED_STATUSES,
}


def customer_ids(organisation: Organisation | int, email: str) -> QuerySet[Any]:
    """The ids of the organisation's customers that have ``email`` as a contact, as a
    subquery (it is evaluated inside the query that uses it: no extra round trip)."""
    org_id = organisation if isinstance(organisation, int) else organisation.pk
    return CustomerContact.objects.filter(
        organisation_id=org_id, kind=ContactKind.EMAIL, normalised=normalise_email(email),
    ).values("customer_id")


def has_contact(organisation: Organisation, email: str) -> bool:
    return customer_ids(organisation, email).exists()


def customers(organisation: Organisation, email: str) -> list[Any]:
    """The Customer rows behind the address (usually one), oldest first."""
    from kapula.core.models import Customer

    return list(Customer.objects.filter(pk__in=customer_ids(organisation, email))
                .order_by("pk"))


def my_tickets(organisation: Organisation, email: str, status_filter: str = "all"
               ) -> QuerySet[Ticket]:
    """The customer's tickets, newest update first. Tickets merged into another one are
    left out: their conversation continues on the ticket they were merged into."""
    qs = Ticket.objects.filter(
        organisation=organisation, customer_id__in=customer_ids(organisation, email),
        merged_into__isnull=True,
    )
    statuses = FILTERS.get(status_filter)
    if statuses is not None:
        qs = qs.filter(status__in=statuses)
    return qs.only(
        "number", "title", "status", "channel", "language", "created_at", "updated_at",
    ).order_by("-updated_at", "-id")


def my_ticket(organisation: Organisation, email: str, number: str) -> Ticket | None:
    """One of the customer's tickets by its number, or None (unknown, another person's or
    another organisation's: the caller answers all of them the same way)."""
    if not number or len(number) > 32:
        return None
    return (Ticket.objects.filter(
        organisation=organisation, number=number,
        customer_id__in=customer_ids(organisation, email),
    ).select_related("customer", "merged_into").first())


def conversation(ticket: Ticket) -> list[Message]:
    """The public conversation: the customer's messages and the replies to them, with
    their attachments. Internal notes and system events are never read."""
    return list(
        Message.objects.filter(ticket=ticket, kind__in=PUBLIC_KINDS)
        .order_by("created_at", "id")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
    )


def my_attachment(organisation: Organisation, email: str, attachment_id: int
                  ) -> Attachment | None:
    """An attachment of a public message of one of the customer's own tickets, or None."""
    return Attachment.objects.filter(
        Q(pk=attachment_id), ticket__organisation=organisation,
        ticket__customer_id__in=customer_ids(organisation, email),
        message__kind__in=PUBLIC_KINDS,
    ).first()
