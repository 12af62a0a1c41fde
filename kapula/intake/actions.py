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
from dataclasses import dataclass, field, replace
from typing import Any

from kapula.core.access import scope_for
from kapula.core.actions import CustomerIdentity, find_or_create_customer
from kapula.core.db import atomic_action
from kapula.core.models import Customer, Organisation, User
from kapula.routing import actions as routing
from kapula.tickets import actions as ticket_actions
from kapula.tickets.actions import Location
from kapula.tickets.attachments import AttachmentInput
from kapula.tickets.models import (
    AuthorKind,
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
    #: the ticket the channel itself found from a reference to something it sent (e.g. the
    #: Message-ID of an acknowledgment mail); as strong as a reference to a message
    ticket: Ticket | None = None


@dataclass
class Intake:
    organisation: Organisation
    channel: str
    body: str
    subject: str = ""
    body_html: str = ""
    customer: CustomerIdentity = field(default_factory=CustomerIdentity)
    #: the language the channel fixes (a Swedish-language form or mailbox), if any
    language: str | None = None
    #: the language detected from the text, and whether the detection is confident enough
    #: to change what is known about the customer
    detected_language: str = ""
    language_confident: bool = False
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
    #: "auto_reply" or "bounce": a machine's message about a ticket. It is added to the
    #: ticket it continues as an internal note and never changes the ticket's status.
    automatic: str = ""
    #: where the contact came in, for routing rules: the mailbox or the catalogue service
    mailbox_id: int | None = None
    service_id: int | None = None


@dataclass
class IntakeResult:
    ticket: Ticket
    message: Message
    created: bool
    duplicate: bool = False
    customer: Customer | None = None


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
    if intake.thread.ticket is not None and intake.thread.ticket.organisation_id == org.pk:
        return _follow(intake.thread.ticket), "message"
    refs = [m for m in intake.thread.message_ids if m]
    if refs:
        msg = next((m for m in Message.objects.filter(external_id__in=refs[-50:])
                    .select_related("ticket").order_by("-id")[:50]
                    if m.ticket.organisation_id == org.pk), None)
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
        # by the id alone (its index), then the organisation: a plan that stays fast
        # whatever the planner's statistics say about the organisation's size
        candidates = Message.objects.filter(external_id=intake.message_id,
                                            kind=MessageKind.INBOUND)
        seen = next((m for m in candidates.select_related("ticket").order_by("id")[:20]
                     if m.ticket.organisation_id == org.pk), None) \
            if candidates.exists() else None  # (the cheap question first: usually "no")
        if seen is not None:
            return IntakeResult(seen.ticket, seen, created=False, duplicate=True)

    identity = intake.customer
    if not identity.language and (intake.language or intake.detected_language):
        identity = replace(identity, language=intake.language or intake.detected_language)
    # a machine's message (auto-reply, bounce) names no customer: its sender is not one
    customer = None if intake.automatic else find_or_create_customer(
        actor=intake.actor, organisation=org, identity=identity)
    confident = intake.detected_language if intake.language_confident else ""
    if customer is not None and confident and customer.language != confident:
        # a later message changes what we know of the customer only on a confident detection
        customer.language = confident
        customer.save(update_fields=["language"])
    existing, how = find_thread(intake)
    if existing is not None and not _may_continue(intake, existing, how, customer):
        existing = None
    message_language = intake.language or intake.detected_language or None
    if existing is not None and intake.automatic:
        message = ticket_actions.add_message(
            actor=None, ticket=existing, kind=MessageKind.NOTE, body=intake.body,
            body_html=intake.body_html, channel=intake.channel,
            attachments=intake.attachments, author_kind=AuthorKind.SYSTEM,
            author_name=intake.customer.name or intake.customer.email,
            external_id=intake.message_id, actor_label=intake.channel,
        )
        existing.refresh_from_db()
        return IntakeResult(existing, message, created=False)
    if existing is not None and existing.status != Status.CLOSED:
        message = ticket_actions.add_message(
            actor=None, ticket=existing, kind=MessageKind.INBOUND, body=intake.body,
            body_html=intake.body_html, channel=intake.channel,
            attachments=intake.attachments, author_customer=customer,
            author_kind=intake.author_kind, author_name=intake.customer.name,
            language=message_language, external_id=intake.message_id,
            actor_label=intake.actor.display_name if intake.actor else intake.channel,
        )
        if (confident and existing.language != confident
                and existing.status not in (Status.RESOLVED, Status.CLOSED)):
            ticket_actions.update_ticket(actor=None, ticket=existing,
                                         changes={"language": confident},
                                         actor_label=intake.channel)
        existing.refresh_from_db()
        return IntakeResult(existing, message, created=False, customer=customer)

    ticket_language = intake.language or confident or (
        customer.language if customer is not None and customer.language else None
    ) or intake.detected_language or None
    routed = routing.route(intake, customer, ticket_language)  # rules for a new ticket
    intake = routed.intake
    ticket = ticket_actions.create_ticket(
        actor=intake.actor, organisation=org, title=intake.subject, body=intake.body,
        body_html=intake.body_html, channel=intake.channel, customer=customer,
        language=ticket_language, ticket_type=intake.ticket_type, category=intake.category,
        team=intake.team, assignee=intake.assignee, impact=intake.impact,
        urgency=intake.urgency, location=intake.location, custom_fields=intake.custom_fields,
        tags=intake.tags, attachments=intake.attachments,
        external_refs=[r for r in intake.thread.external_refs if existing is None],
        message_external_id=intake.message_id, author_kind=intake.author_kind,
        author_name=intake.customer.name, status=intake.status,
        first_contact_resolution=intake.first_contact_resolution,
    )
    ticket = routed.apply(ticket)  # history, notify, out-of-scope answer, team assignment
    if existing is not None:  # a follow-up to a closed ticket: a new one, linked
        ticket_actions.link(actor=None, ticket=ticket, other=existing, kind=LinkKind.RELATED)
        # the other system's ids now lead to the new ticket, so its later updates land there
        for system, ext_id in intake.thread.external_refs:
            ExternalReference.objects.filter(ticket=existing, system=system,
                                             external_id=ext_id).update(ticket=ticket)
    return IntakeResult(ticket, ticket.first_message, created=True,  # type: ignore[attr-defined]
                        customer=customer)
