"""Forwarding an out-of-scope ticket by email.

An outbox subscriber turns ``routing.forwarded`` events into an :class:`OutboundEmail` to
the rule's address, queued like every other mail (retries, the admin's mail list). It
carries the customer's first message and its attachments; the ticket number in the subject
and our Message-ID let an answer from the recipient thread back into the ticket.
"""

from __future__ import annotations

import secrets
from email.utils import formataddr

from django.conf import settings
from django.db import transaction

from kapula.core.models import OutboxEvent
from kapula.core.outbox import subscriber
from kapula.core.text import normalise_email
from kapula.intake.mail.models import OutboundEmail, OutboundKind
from kapula.intake.mail.outbound import schedule_sending, ticket_mailbox
from kapula.tickets.models import Message, MessageKind, Ticket

SUBJECTS = {"fi": "Välitetty", "sv": "Vidarebefordrat", "en": "Forwarded"}


@subscriber("routing-forward", "routing.forwarded")
def on_forwarded(event: OutboxEvent) -> None:
    address = str(event.payload.get("address") or "")
    ticket = Ticket.objects.select_related("organisation", "customer").filter(
        pk=event.aggregate_id).first()
    if ticket is None or not address:
        return
    if OutboundEmail.objects.filter(event_id=event.pk, kind=OutboundKind.REPLY).exists():
        return  # delivered before (a retried event)
    first = (Message.objects.filter(ticket=ticket, kind=MessageKind.INBOUND)
             .order_by("created_at", "id").first())
    mailbox = ticket_mailbox(ticket)
    from_addr = mailbox.address if mailbox is not None else settings.DEFAULT_FROM_EMAIL
    domain = from_addr.rsplit("@", 1)[-1] or "kapula.invalid"
    who = ticket.customer.name if ticket.customer else ""
    body = "\n".join([
        f"{ticket.organisation.name}: {ticket.number}",
        f"{who}".strip(),
        "",
        first.body_text if first is not None else "",
    ])
    OutboundEmail.objects.create(
        organisation_id=ticket.organisation_id, ticket=ticket, message=first, mailbox=mailbox,
        kind=OutboundKind.REPLY, event_id=event.pk,
        from_addr=formataddr((ticket.organisation.name, from_addr)), to=[address],
        recipient=normalise_email(address),
        subject=f"{SUBJECTS.get(ticket.language, 'Forwarded')}: [{ticket.number}] "
                f"{ticket.title}"[:400],
        msgid=f"<kapula.{ticket.pk}.{secrets.token_hex(8)}@{domain}>", body_text=body,
        language=ticket.language, automatic=True,
    )
    transaction.on_commit(schedule_sending)
