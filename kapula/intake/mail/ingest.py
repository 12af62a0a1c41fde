"""Inbound mail: one RFC 5322 message in, one decision out.

Every channel of mail (IMAP fetching, the LMTP listener, ``kapula email_ingest``) hands the
raw bytes to :func:`ingest`. It keeps the original (.eml, content-addressed), parses it,
decides what it is — a new contact, a follow-up, an automatic reply, a bounce, a loop,
noise — and records the decision in an :class:`InboundEmail` row *in the same transaction*
as the ticket change. The row is unique per mailbox and Message-ID, so a message fetched
twice (a crash between committing and flagging it on the IMAP server) is a duplicate the
second time, never a second ticket.

Bad mail never raises: it becomes a ticket or is quarantined with a reason that admins
see. Only infrastructure failures (the database is down) raise, so that the caller leaves
the message where it is and tries again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kapula.core.actions import CustomerIdentity
from kapula.core.db import atomic_action
from kapula.core.errors import ActionError
from kapula.core.models import ContactKind, CustomerContact, Organisation
from kapula.core.text import detect_language_confidence, normalise_email
from kapula.intake.actions import Intake, IntakeResult, ThreadRefs, find_number, receive
from kapula.intake.mail.models import (
    InboundEmail,
    InboundStatus,
    Mailbox,
    OutboundEmail,
    OutboundStatus,
    Outcome,
)
from kapula.intake.mail.parse import Limits, ParsedEmail, parse_email
from kapula.suppliers.mail import take_supplier_mail
from kapula.tickets import attachments as att
from kapula.tickets import config
from kapula.tickets.models import Channel, Message, MessageKind, Ticket

log = logging.getLogger("kapula.mail")


@dataclass
class IngestResult:
    outcome: str
    ticket_number: str = ""
    reason: str = ""
    inbound_id: int | None = None
    quarantined: bool = False

    def as_dict(self, **extra: Any) -> dict[str, Any]:
        return {**extra, "outcome": self.outcome, "ticket": self.ticket_number or None,
                "reason": self.reason, "quarantined": self.quarantined}


def limits() -> Limits:
    return Limits(
        max_message_bytes=settings.KAPULA_MAX_EMAIL_BYTES,
        max_attachment_bytes=settings.KAPULA_MAX_ATTACHMENT_BYTES,
        max_body_chars=settings.KAPULA_MAX_BODY_CHARS,
    )


def mailbox_for(recipients: Sequence[str]) -> Mailbox | None:
    """The active mailbox whose address is one of ``recipients``."""
    wanted = [normalise_email(r) for r in recipients if r and "@" in r]
    if not wanted:
        return None
    query = Q()
    for address in wanted:
        query |= Q(address__iexact=address)
    return Mailbox.objects.filter(query, is_active=True).select_related("organisation").first()


def _configured(mailbox_id: int) -> Mailbox:
    """The mailbox with its defaults loaded (cached per process like other configuration:
    a change in the admin reaches other processes within 30 seconds)."""
    return config.cached("mailbox", mailbox_id, lambda: Mailbox.objects.select_related(
        "organisation", "team", "ticket_type", "category").get(pk=mailbox_id))


def store_raw(raw: bytes) -> tuple[str, str]:
    """Keep the original bytes once per distinct content: (storage name, sha256)."""
    digest = hashlib.sha256(raw).hexdigest()
    name = f"mail/{digest[:2]}/{digest}.eml"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(raw))
    return name, digest


def ingest(raw: bytes, *, mailbox: Mailbox | None = None,
           organisation: Organisation | None = None, source: str = "file",
           recipients: Sequence[str] = (), released: bool = False) -> IngestResult:
    """Take in one message; see the module documentation. ``released``: an admin let a
    quarantined message through, so the sender's rate limit does not apply."""
    try:
        parsed = parse_email(raw, limits())
    except Exception as exc:  # a parser defect must not block the mailbox behind this mail
        log.exception("parsing a message failed")
        parsed = parse_email(b"", limits())
        parsed.problems.append(f"internal error: the parser failed: {type(exc).__name__}")
        parsed.size = len(raw)
    if mailbox is None:
        mailbox = mailbox_for(list(recipients) or [*parsed.to, *parsed.cc])
    if mailbox is not None:
        mailbox = _configured(mailbox.pk)
    org = mailbox.organisation if mailbox is not None else organisation
    if org is None:
        return IngestResult(Outcome.REJECTED, reason="no mailbox is configured for the "
                            "recipients " + ", ".join([*parsed.to, *parsed.cc][:5]))
    name, digest = store_raw(raw)
    msgid = (parsed.message_id or f"<sha256.{digest}@kapula.invalid>")[:255]
    row = InboundEmail(
        organisation=org, mailbox=mailbox, msgid=msgid, raw=name, sha256=digest,
        size=len(raw), source=source[:10], sender=parsed.from_addr[:254],
        recipients=parsed.to[:50], cc=parsed.cc[:50], subject=parsed.subject[:300],
        auto_kind=parsed.auto_kind or ("bounce" if parsed.bounce else ""),
    )
    # With a mailbox, the unique (mailbox, Message-ID) constraint finds a redelivery when
    # the row is inserted (saving a query on every message); without one it cannot (NULLs
    # are distinct), so look first.
    earlier = _earlier(row) if mailbox is None else None
    if earlier is not None:
        return _duplicate(earlier)
    failed = [p for p in parsed.problems if p.startswith("internal error")]
    if failed:
        return _quarantine(row, failed[0])
    try:
        return _decide(row, parsed, org, mailbox, released)
    except IntegrityError:
        earlier = _earlier(row)
        if earlier is not None:  # the same message, taken in concurrently
            return _duplicate(earlier)
        return _quarantine(row, "could not be stored: database constraint")
    except ActionError as exc:
        return _quarantine(row, f"{exc.code}: {exc.message}")
    except DatabaseError:
        raise  # infrastructure: leave the message for the next try
    except Exception as exc:  # a defect of ours must not lose the message or stop the fetcher
        log.exception("ingesting %s failed", msgid)
        return _quarantine(row, f"internal error: {type(exc).__name__}: {exc}"[:1000])


def _earlier(row: InboundEmail) -> InboundEmail | None:
    qs = InboundEmail.objects.filter(msgid=row.msgid)
    qs = qs.filter(mailbox=row.mailbox) if row.mailbox is not None else \
        qs.filter(mailbox__isnull=True, organisation=row.organisation)
    return qs.select_related("ticket").first()


def _duplicate(earlier: InboundEmail) -> IngestResult:
    return IngestResult(Outcome.DUPLICATE, earlier.ticket.number if earlier.ticket else "",
                        f"already received ({earlier.get_outcome_display()})", earlier.pk,
                        earlier.status == InboundStatus.QUARANTINED)


def _quarantine(row: InboundEmail, reason: str) -> IngestResult:
    """Store the message as quarantined (in its own transaction: whatever failed before
    was rolled back)."""
    row.pk = None
    row.status = InboundStatus.QUARANTINED
    row.outcome = Outcome.REJECTED
    row.reason = reason
    row.ticket = None
    row.message = None
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        earlier = _earlier(row)
        if earlier is not None:
            return _duplicate(earlier)
        raise
    log.warning("quarantined mail %s from %s: %s", row.msgid, row.sender, reason)
    return IngestResult(Outcome.REJECTED, "", reason, row.pk, quarantined=True)


def _finish(row: InboundEmail, outcome: str, *, result: IntakeResult | None = None,
            ticket: Ticket | None = None, reason: str = "",
            status: str = InboundStatus.PROCESSED) -> IngestResult:
    if result is not None:
        ticket = result.ticket
        row.message = result.message
    row.ticket = ticket
    row.outcome = outcome
    row.status = status
    row.reason = reason
    row.save(force_insert=True)
    return IngestResult(outcome, ticket.number if ticket else "", reason, row.pk,
                        status == InboundStatus.QUARANTINED)


def our_addresses() -> set[str]:
    """Every mailbox address (cached per process like other configuration)."""
    return config.cached("mail_addresses", 0, lambda: {
        a.lower() for a in Mailbox.objects.values_list("address", flat=True)})


@atomic_action
def _decide(row: InboundEmail, parsed: ParsedEmail, org: Organisation,
            mailbox: Mailbox | None, released: bool = False) -> IngestResult:
    if settings.KAPULA_INSTANCE_ID in parsed.loop_markers:
        return _finish(row, Outcome.REJECTED,
                       reason="mail loop: a message sent by Kapula came back")
    if parsed.from_addr and parsed.from_addr in our_addresses():
        return _finish(row, Outcome.REJECTED,
                       reason="mail loop: the sender is one of Kapula's own mailboxes")
    too_large = [p for p in parsed.problems if p.startswith("message too large")]
    if too_large:
        return _finish(row, Outcome.REJECTED, reason=too_large[0],
                       status=InboundStatus.QUARANTINED)
    if (mailbox is not None and parsed.from_addr and mailbox.rate_limit_per_hour
            and not released):
        recent = InboundEmail.objects.filter(
            mailbox=mailbox, sender=parsed.from_addr,
            received_at__gte=timezone.now() - timedelta(hours=1)).count()
        if recent >= mailbox.rate_limit_per_hour:
            return _finish(row, Outcome.REJECTED, status=InboundStatus.QUARANTINED,
                           reason=f"rate limit: {recent} messages from this sender in the "
                                  "last hour")
    if (supplier_ticket := take_supplier_mail(row, parsed, org)) is not None:
        return _finish(row, Outcome.APPENDED, ticket=supplier_ticket, reason="supplier mail")
    if parsed.bounce is not None:
        return _bounce(row, parsed, org)
    if parsed.auto_kind:
        return _automatic(row, parsed, org, mailbox)
    if not parsed.from_addr:
        return _finish(row, Outcome.REJECTED, status=InboundStatus.QUARANTINED,
                       reason="the message has no sender address")
    return _contact(row, parsed, org, mailbox)


def _references(parsed: ParsedEmail) -> list[str]:
    refs = [*parsed.references, *parsed.in_reply_to]
    return [r for r in refs if r][-50:]


def ticket_from_outbound(org: Organisation, refs: Sequence[str]) -> Ticket | None:
    """The ticket one of our own outgoing mails (by Message-ID) belongs to."""
    if not refs:
        return None
    sent = (OutboundEmail.objects.filter(organisation=org, msgid__in=list(refs))
            .select_related("ticket").order_by("-id").first())
    return sent.ticket if sent is not None else None


def _body(parsed: ParsedEmail, org: Organisation) -> str:
    body = parsed.visible_text.strip() or parsed.text.strip()
    if body:
        return body
    with translation.override(org.default_language):
        return parsed.subject.strip() or _("(The message had no text.)")


def _attachments(parsed: ParsedEmail) -> tuple[list[att.AttachmentInput], list[str]]:
    """Attachments that pass the product's rules; the rest are named with the reason."""
    kept: list[att.AttachmentInput] = []
    withheld = [f"{name}: {reason}" for name, reason in parsed.withheld]
    for item in parsed.attachments:
        candidate = att.AttachmentInput(item.filename, item.content, item.content_type)
        if len(kept) >= 20:
            withheld.append(f"{item.filename}: too many attachments")
            continue
        try:
            att.check([candidate])
        except ActionError as exc:
            withheld.append(f"{item.filename}: {exc.message}")
            continue
        kept.append(candidate)
    return kept, withheld


def _language(parsed: ParsedEmail, org: Organisation,
              mailbox: Mailbox | None) -> tuple[str | None, str, bool]:
    fixed = mailbox.language if mailbox is not None and mailbox.language else None
    sample = f"{parsed.subject}\n{parsed.visible_text or parsed.text}"
    detected, confident = detect_language_confidence(sample, org.default_language)
    return fixed, detected, confident


def _note_withheld(result: IntakeResult, withheld: list[str], org: Organisation) -> None:
    if not withheld:
        return
    from kapula.tickets.actions import add_message

    with translation.override(org.default_language):
        text = _("Attachments not kept (the original message can be downloaded):") + "\n" + \
            "\n".join(f"- {w}" for w in withheld)
    add_message(actor=None, ticket=result.ticket, kind=MessageKind.NOTE, body=text,
                author_kind="system", author_name="Kapula", actor_label="email")


def _contact(row: InboundEmail, parsed: ParsedEmail, org: Organisation,
             mailbox: Mailbox | None) -> IngestResult:
    refs = _references(parsed)
    fixed, detected, confident = _language(parsed, org, mailbox)
    kept, withheld = _attachments(parsed)
    intake = Intake(
        organisation=org, channel=Channel.EMAIL, subject=parsed.subject[:300],
        body=_body(parsed, org), body_html=parsed.visible_html,
        customer=CustomerIdentity(name=parsed.from_name, email=parsed.from_addr),
        language=fixed, detected_language=detected, language_confident=confident,
        attachments=kept, message_id=row.msgid,
        thread=ThreadRefs(message_ids=refs, ticket=ticket_from_outbound(org, refs)),
        team=mailbox.team if mailbox else None,
        ticket_type=mailbox.ticket_type if mailbox else None,
        category=mailbox.category if mailbox else None,
        mailbox_id=mailbox.pk if mailbox else None,
    )
    result = receive(intake)
    if result.duplicate:  # the same mail reached another of the organisation's mailboxes
        return _finish(row, Outcome.DUPLICATE, result=result,
                       reason="the same message already arrived through another mailbox")
    _note_withheld(result, withheld, org)
    contact = getattr(result.customer, "matched_contact", None)
    if contact is not None and contact.failing_since is not None:
        # the customer evidently uses this address again
        CustomerContact.objects.filter(pk=contact.pk).update(failing_since=None,
                                                             failure_reason="")
    return _finish(row, Outcome.CREATED if result.created else Outcome.APPENDED,
                   result=result, reason="; ".join(parsed.problems)[:1000])


def _thread_of_automatic(parsed: ParsedEmail, org: Organisation) -> Ticket | None:
    refs = _references(parsed)
    ticket = ticket_from_outbound(org, refs)
    if ticket is None and refs:
        msg = (Message.objects.filter(ticket__organisation=org, external_id__in=refs)
               .select_related("ticket").order_by("-id").first())
        ticket = msg.ticket if msg is not None else None
    if ticket is None and parsed.from_addr:
        # "Automatic reply: Re: [TRE-2026-000123] ...": the number counts only when the
        # responder answers for the ticket's own customer
        number = find_number(parsed.subject, org.ticket_prefix)
        if number:
            ticket = Ticket.objects.filter(
                organisation=org, number=number,
                customer__contacts__kind=ContactKind.EMAIL,
                customer__contacts__normalised=normalise_email(parsed.from_addr)).first()
    return ticket


def _automatic(row: InboundEmail, parsed: ParsedEmail, org: Organisation,
               mailbox: Mailbox | None) -> IngestResult:
    ticket = _thread_of_automatic(parsed, org)
    reason = parsed.auto_reply or parsed.auto_kind
    if ticket is not None:
        kept, _withheld = _attachments(parsed)
        with translation.override(ticket.language):
            heading = _("Automatic reply from %(sender)s") % {"sender": parsed.from_addr}
        result = receive(Intake(
            organisation=org, channel=Channel.EMAIL, subject=parsed.subject,
            body=f"{heading}\n\n{_body(parsed, org)}", attachments=kept,
            customer=CustomerIdentity(name=parsed.from_name or parsed.from_addr),
            message_id=row.msgid, thread=ThreadRefs(ticket=ticket), automatic="auto_reply",
        ))
        return _finish(row, Outcome.AUTO_REPLY, result=result, reason=reason)
    if (mailbox is not None and mailbox.accept_automated and parsed.from_addr
            and parsed.auto_kind != "auto_replied"):
        found = _contact(row, parsed, org, mailbox)
        return found
    return _finish(row, Outcome.AUTO_REPLY, reason=f"{reason}; continues no ticket")


def _bounce(row: InboundEmail, parsed: ParsedEmail, org: Organisation) -> IngestResult:
    info = parsed.bounce
    assert info is not None
    ticket: Ticket | None = None
    sent = None
    if info.original_message_id:
        sent = (OutboundEmail.objects.filter(organisation=org, msgid=info.original_message_id)
                .select_related("ticket").first())
        ticket = sent.ticket if sent is not None else None
    if ticket is None:
        number = info.original_headers.get("X-Kapula-Ticket", "") or \
            find_number(info.original_subject, org.ticket_prefix) or \
            find_number(parsed.subject, org.ticket_prefix)
        if number:
            ticket = Ticket.objects.filter(organisation=org, number=number.strip()).first()
    recipients = info.recipients or (sent.to if sent is not None else [])
    detail = f"{info.status} {info.diagnostic}".strip()[:500]
    if info.permanent:
        if sent is not None:
            OutboundEmail.objects.filter(pk=sent.pk).update(
                status=OutboundStatus.BOUNCED, last_error=detail or "bounced")
        if recipients:
            CustomerContact.objects.filter(
                organisation=org, kind=ContactKind.EMAIL,
                normalised__in=[normalise_email(r) for r in recipients],
            ).update(failing_since=timezone.now(), failure_reason=detail or "bounced")
    if ticket is None:
        return _finish(row, Outcome.BOUNCE, reason=f"bounce for a message Kapula does not "
                                                   f"know: {detail}")
    with translation.override(ticket.language):
        if info.permanent:
            heading = _("Mail to %(to)s could not be delivered.") % {
                "to": ", ".join(recipients) or "?"}
        else:
            heading = _("Mail to %(to)s is delayed; the mail server keeps trying.") % {
                "to": ", ".join(recipients) or "?"}
    body = f"{heading}\n{detail}" if detail else heading
    result = receive(Intake(
        organisation=org, channel=Channel.EMAIL, subject=parsed.subject, body=body,
        customer=CustomerIdentity(name=parsed.from_addr or "mailer-daemon"),
        message_id=row.msgid, thread=ThreadRefs(ticket=ticket), automatic="bounce",
    ))
    return _finish(row, Outcome.BOUNCE, result=result, reason=detail)


def reprocess(inbound: InboundEmail) -> IngestResult:
    """Take a quarantined message in again (an admin's decision, e.g. after the sender's
    rate limit passed or a limit was raised). The old log row gives way to the new one."""
    with default_storage.open(str(inbound.raw.name), "rb") as fh:
        raw = fh.read()
    mailbox, org, source = inbound.mailbox, inbound.organisation, inbound.source
    with transaction.atomic():
        InboundEmail.objects.filter(pk=inbound.pk, status=InboundStatus.QUARANTINED).delete()
        return ingest(raw, mailbox=mailbox, organisation=org, source=source, released=True)
