"""Sending to the supplier: outbox subscribers of ``supplier.escalated`` (the case) and
``supplier.message`` (an agent's later message about it).

* Email suppliers get a mail queued in the email channel's outgoing queue
  (:class:`OutboundEmail`), sent by the same task, with the same conventions as mail to
  customers: our own Message-ID (the supplier's answer refers to it and threads back), the
  ticket number in the subject and in ``X-Kapula-Ticket``, Reply-To the ticket's mailbox.
  The mail is linked to the escalation's internal note, so the desk shows its delivery
  state there. It is queued once per event (the queue's unique event id).
* Webhook suppliers get a JSON POST. A failure (no answer, an HTTP error) raises, and the
  outbox tries again later with backoff; ``X-Kapula-Event`` lets the receiver drop a
  repeated delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import urllib.request
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kapula.core.models import OutboxEvent
from kapula.core.outbox import subscriber
from kapula.core.text import normalise_email
from kapula.intake.mail.models import OutboundEmail, OutboundKind
from kapula.intake.mail.outbound import schedule_sending, ticket_mailbox
from kapula.suppliers.models import Escalation, SupplierChannel, SupplierEngagement
from kapula.tickets.models import Message

WEBHOOK_TIMEOUT_SECONDS = 10


def _engagement(event: OutboxEvent) -> SupplierEngagement | None:
    return (SupplierEngagement.objects.select_related("supplier", "ticket",
                                                      "ticket__organisation")
            .filter(pk=event.payload.get("engagement")).first())


def _escalation(event: OutboxEvent) -> Escalation | None:
    return Escalation.objects.filter(pk=event.payload.get("escalation")).first()


def _local(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def supplier_mail_text(engagement: SupplierEngagement, escalation: Escalation | None
                       ) -> tuple[str, str]:
    """(subject, body) of the mail to the supplier, in the supplier's language."""
    supplier, ticket = engagement.supplier, engagement.ticket
    language = supplier.language or ticket.organisation.default_language
    with translation.override(language):
        subject = f"[{ticket.number}] {ticket.title}"
        lines = [
            _("Hello,"), "",
            _("%(organisation)s asks you to handle the following matter.")
            % {"organisation": ticket.organisation.name}, "",
            _("Our reference: %(number)s") % {"number": ticket.number},
            _("Title: %(title)s") % {"title": ticket.title},
        ]
        if escalation is not None:
            lines.append(_("Reason: %(reason)s") % {"reason": escalation.reason})
        if engagement.response_due_at:
            lines.append(_("Response expected by: %(when)s")
                         % {"when": _local(engagement.response_due_at)})
        if engagement.resolution_due_at:
            lines.append(_("Resolution expected by: %(when)s")
                         % {"when": _local(engagement.resolution_due_at)})
        if escalation is not None and escalation.note:
            lines += ["", escalation.note]
        lines += ["", _("Please reply to this message and keep %(number)s in the subject; "
                        "tell us your own reference for the matter.")
                  % {"number": ticket.number}, "", ticket.organisation.name]
    return subject[:400], "\n".join(lines) + "\n"


def _note_text(message: Message | None) -> str:
    """The agent's own words of a "message to the supplier" note (without its heading)."""
    return message.body_text.split("\n\n", 1)[-1] if message is not None else ""


def follow_up_text(engagement: SupplierEngagement, message: Message | None) -> tuple[str, str]:
    supplier, ticket = engagement.supplier, engagement.ticket
    with translation.override(supplier.language or ticket.organisation.default_language):
        subject = f"Re: [{ticket.number}] {ticket.title}"
        lines = [_note_text(message), "", ticket.organisation.name,
                 _("Our reference: %(number)s") % {"number": ticket.number}]
        if engagement.reference:
            lines.append(_("Your reference: %(reference)s") % {"reference": engagement.reference})
    return subject[:400], "\n".join(lines) + "\n"


@subscriber("supplier-email", "supplier.escalated", "supplier.message")
def send_by_email(event: OutboxEvent) -> None:
    engagement = _engagement(event)
    if engagement is None or engagement.supplier.channel != SupplierChannel.EMAIL \
            or not engagement.supplier.email:
        return
    supplier, ticket = engagement.supplier, engagement.ticket
    message_id = event.payload.get("message")
    message = Message.objects.filter(pk=message_id).first() if message_id else None
    if event.topic == "supplier.escalated":
        subject, body = supplier_mail_text(engagement, _escalation(event))
    else:
        subject, body = follow_up_text(engagement, message)
    mailbox = ticket_mailbox(ticket)
    from_addr = mailbox.address if mailbox is not None else settings.DEFAULT_FROM_EMAIL
    domain = (mailbox.domain if mailbox else from_addr.rsplit("@", 1)[-1]) or "kapula.invalid"
    msgid = f"<kapula.{ticket.pk}.{secrets.token_hex(8)}@{domain}>"
    recipient = normalise_email(supplier.email)
    earlier = list(OutboundEmail.objects.filter(ticket=ticket, recipient=recipient)
                   .order_by("-id").values_list("msgid", flat=True)[:10])
    OutboundEmail.objects.create(
        organisation_id=ticket.organisation_id, ticket=ticket, message=message,
        mailbox=mailbox, kind=OutboundKind.REPLY, event_id=event.pk,
        from_addr=formataddr((ticket.organisation.name, from_addr)), to=[supplier.email],
        recipient=recipient, subject=subject, msgid=msgid,
        in_reply_to=earlier[0] if earlier else "", references=" ".join(reversed(earlier)),
        body_text=body, language=supplier.language or ticket.organisation.default_language,
        automatic=False,
    )
    if message is not None and not message.external_id:
        Message.objects.filter(pk=message.pk).update(external_id=msgid)
    transaction.on_commit(schedule_sending)


def webhook_payload(event: OutboxEvent, engagement: SupplierEngagement,
                    escalation: Escalation | None) -> dict[str, Any]:
    ticket = engagement.ticket
    return {
        "event": "supplier.escalated", "event_id": event.pk,
        "organisation": ticket.organisation.slug,
        "ticket": {"number": ticket.number, "title": ticket.title,
                   "priority": ticket.priority, "language": ticket.language},
        "engagement": {
            "id": engagement.pk, "sent_at": engagement.sent_at.isoformat(),
            "response_due_at": engagement.response_due_at.isoformat()
            if engagement.response_due_at else None,
            "resolution_due_at": engagement.resolution_due_at.isoformat()
            if engagement.resolution_due_at else None,
        },
        "reason": escalation.reason if escalation else "",
        "note": escalation.note if escalation else "",
        "reference": engagement.reference,
    }


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@subscriber("supplier-webhook", "supplier.escalated", "supplier.message")
def send_by_webhook(event: OutboxEvent) -> None:
    engagement = _engagement(event)
    if engagement is None or engagement.supplier.channel != SupplierChannel.WEBHOOK \
            or not engagement.supplier.webhook_url:
        return
    supplier = engagement.supplier
    if not supplier.webhook_url.lower().startswith(("https://", "http://")):
        return  # refused when saved; never open another kind of URL
    payload = webhook_payload(event, engagement, _escalation(event))
    if event.topic == "supplier.message":
        message = Message.objects.filter(pk=event.payload.get("message")).first()
        payload.update(event="supplier.message", reason="", note="",
                       message=_note_text(message))
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8",
               "User-Agent": "Kapula", "X-Kapula-Event": str(event.pk),
               "X-Kapula-Ticket": engagement.ticket.number}
    secret = os.environ.get(supplier.webhook_secret_env, "") \
        if supplier.webhook_secret_env else ""
    if secret:
        headers["X-Kapula-Signature"] = sign(secret, body)
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        supplier.webhook_url, data=body, headers=headers, method="POST")
    # an HTTP error status raises HTTPError: the outbox retries this subscriber later
    with urllib.request.urlopen(  # noqa: S310 - http(s) only, checked above
            request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
        response.read(1024)
