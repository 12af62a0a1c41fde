"""The one intake path. Every channel adapter (email, web form, Open311, phone, chat, the
agent's "new ticket" form, the REST API...) builds an :class:`Intake` and calls
:func:`receive`, which decides: a follow-up to an existing ticket, or a new ticket.

Threading, in order: the channel's own message id seen before (a redelivery: nothing new
is written); references to earlier messages (e.g. In-Reply-To); an external reference
(system, id); a ticket number. A follow-up to a merged ticket lands in the ticket it was
merged into; a follow-up to a closed ticket opens a new ticket linked to the old one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kapula.core.access import scope_for
from kapula.core.actions import CustomerIdentity, find_or_create_customer
from kapula.core.db import atomic_action
from kapula.core.models import Customer, Organisation, User
from kapula.tickets import actions as ticket_actions
from kapula.tickets.actions import Location
from kapula.tickets.attachments import AttachmentInput
from kapula.tickets.models import (
    Category,
    ExternalReference,
    LinkKind,
    Message,
    MessageKind,
    Status,
    Team,
    Ticket,
    TicketType,
)


@dataclass
class ThreadRefs:
    ticket_number: str = ""
    message_ids: Sequence[str] = ()
    external_refs: Sequence[tuple[str, str]] = ()


@dataclass
class Intake:
    organisation: Organisation
    channel: str
    body: str
    subject: str = ""
    body_html: str = ""
    customer: CustomerIdentity = field(default_factory=CustomerIdentity)
    language: str | None = None
    attachments: Sequence[AttachmentInput] = ()
    thread: ThreadRefs = field(default_factory=ThreadRefs)
    message_id: str = ""
    location: Location | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)
    ticket_type: TicketType | None = None
    category: Category | None = None
    team: Team | None = None
    assignee: User | None = None
    impact: str = "medium"
    urgency: str = "medium"
    tags: Sequence[str] = ()
    status: str = Status.NEW
    first_contact_resolution: bool = False
    author_kind: str | None = None
    #: the agent entering a contact on the customer's behalf (walk-in, phone...), if any
    actor: User | None = None


@dataclass
class IntakeResult:
    ticket: Ticket
    message: Message
    created: bool
    duplicate: bool = False


NUMBER_IN_TEXT = re.compile(r"\b([A-Z]{2,10}-\d{4}-\d{4,9})\b")


def find_number(text: str, prefix: str) -> str:
    for match in NUMBER_IN_TEXT.finditer(text or ""):
        if match.group(1).startswith(prefix + "-"):
            return match.group(1)
    return ""


def _follow(ticket: Ticket) -> Ticket:
    seen = 0
    while ticket.merged_into_id and seen < 20:
        ticket = Ticket.objects.get(pk=ticket.merged_into_id)
        seen += 1
    return ticket


def find_thread(intake: Intake) -> tuple[Ticket | None, str]:
    """The ticket this contact continues, and how it was found: "message" (a reference to
    one of the ticket's messages), "external" (another system's id) or "number"."""
    org = intake.organisation
    refs = [m for m in intake.thread.message_ids if m]
    if refs:
        msg = (Message.objects.filter(ticket__organisation=org, external_id__in=refs[-50:])
               .select_related("ticket").order_by("-id").first())
        if msg is not None:
            return _follow(msg.ticket), "message"
    for system, ext_id in intake.thread.external_refs:
        ref = ExternalReference.objects.filter(organisation=org, system=system,
                                               external_id=ext_id).select_related("ticket")
        found = ref.first()
        if found is not None:
            return _follow(found.ticket), "external"
    number = intake.thread.ticket_number or find_number(intake.subject, org.ticket_prefix)
    if number:
        ticket = Ticket.objects.filter(organisation=org, number=number.strip().upper()).first()
        if ticket is not None:
            return _follow(ticket), "number"
    return None, ""


def _may_continue(intake: Intake, ticket: Ticket, how: str, customer: Customer | None) -> bool:
    """Whether this contact may be added to ``ticket``.

    Ticket numbers are easy to guess, so a number alone continues a ticket only for the
    ticket's own customer. A reference to one of the ticket's messages or another system's
    id is evidence enough, unless the contact names a different customer. An agent recording
    a contact never writes into a ticket they may not see.
    """
    if intake.actor is not None and not scope_for(intake.actor).can_see(ticket):
        return False
    if how == "number":
        return customer is not None and ticket.customer_id == customer.pk
    return customer is None or ticket.customer_id in (None, customer.pk)


@atomic_action
def receive(intake: Intake) -> IntakeResult:
    """Create a ticket or append to an existing one. Idempotent on ``message_id``."""
    org = intake.organisation
    if intake.message_id:
        seen = (Message.objects.filter(ticket__organisation=org, external_id=intake.message_id,
                                       kind=MessageKind.INBOUND)
                .select_related("ticket").first())
        if seen is not None:
            return IntakeResult(seen.ticket, seen, created=False, duplicate=True)

    customer = find_or_create_customer(actor=intake.actor, organisation=org,
                                       identity=intake.customer)
    existing, how = find_thread(intake)
    if existing is not None and not _may_continue(intake, existing, how, customer):
        existing = None
    if existing is not None and existing.status != Status.CLOSED:
        message = ticket_actions.add_message(
            actor=None, ticket=existing, kind=MessageKind.INBOUND, body=intake.body,
            body_html=intake.body_html, channel=intake.channel,
            attachments=intake.attachments, author_customer=customer,
            author_kind=intake.author_kind, author_name=intake.customer.name,
            language=intake.language, external_id=intake.message_id,
            actor_label=intake.actor.display_name if intake.actor else intake.channel,
        )
        existing.refresh_from_db()
        return IntakeResult(existing, message, created=False)

    ticket = ticket_actions.create_ticket(
        actor=intake.actor, organisation=org, title=intake.subject, body=intake.body,
        body_html=intake.body_html, channel=intake.channel, customer=customer,
        language=intake.language, ticket_type=intake.ticket_type, category=intake.category,
        team=intake.team, assignee=intake.assignee, impact=intake.impact,
        urgency=intake.urgency, location=intake.location, custom_fields=intake.custom_fields,
        tags=intake.tags, attachments=intake.attachments,
        external_refs=[r for r in intake.thread.external_refs if existing is None],
        message_external_id=intake.message_id, author_kind=intake.author_kind,
        author_name=intake.customer.name, status=intake.status,
        first_contact_resolution=intake.first_contact_resolution,
    )
    if existing is not None:  # a follow-up to a closed ticket: a new one, linked
        ticket_actions.link(actor=None, ticket=ticket, other=existing, kind=LinkKind.RELATED)
        # the other system's ids now lead to the new ticket, so its later updates land there
        for system, ext_id in intake.thread.external_refs:
            ExternalReference.objects.filter(ticket=existing, system=system,
                                             external_id=ext_id).update(ticket=ticket)
    return IntakeResult(ticket, ticket.first_message, created=True)  # type: ignore[attr-defined]
