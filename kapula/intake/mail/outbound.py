"""Outbound mail: acknowledgments, agent replies and resolution notices.

An outbox subscriber turns ticket events into :class:`OutboundEmail` rows in the same
transaction that records the event as delivered, so each mail is queued exactly once. A
task then sends the queue through SMTP. A failed send waits (2, 4, 8 ... minutes, at most
an hour) and is tried again; admins see waiting and failed mail in the admin. Each row is
locked while it is sent, so two workers never send the same mail.

Every mail carries our own Message-ID (threading: the customer's reply references it), the
ticket number in the subject, Reply-To the mailbox, ``X-Kapula-Ticket`` (so a bounce finds
its ticket) and ``X-Kapula-Loop`` (so our mail coming back is recognised). Automatic mails
also carry ``Auto-Submitted: auto-replied`` (RFC 3834) and ask Exchange not to answer them.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from datetime import timedelta
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.db import connection, transaction
from django.tasks import default_task_backend, task
from django.template import Context, Engine, TemplateSyntaxError
from django.urls import reverse
from django.utils import timezone

from kapula.core.models import ContactKind, CustomerContact, OutboxEvent
from kapula.core.outbox import subscriber
from kapula.core.text import normalise_email
from kapula.intake.mail.ingest import our_addresses
from kapula.intake.mail.models import (
    EmailTemplate,
    InboundEmail,
    Mailbox,
    OutboundEmail,
    OutboundKind,
    OutboundStatus,
)
from kapula.sla.calendars import expected_due
from kapula.tickets.models import Attachment, Channel, Message, MessageKind, Status, Ticket

log = logging.getLogger("kapula.mail")

#: channels whose new tickets are acknowledged by mail when the customer gave an address
ACKNOWLEDGED_CHANNELS = (Channel.EMAIL, Channel.WEB_FORM, Channel.MOBILE_APP)

# --- templates -----------------------------------------------------------------------------

PLACEHOLDERS = ("number", "title", "customer_name", "organisation", "team", "expected_days",
                "expected_date", "body", "agent_name", "status", "portal_url")

DEFAULT_TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    OutboundKind.ACKNOWLEDGMENT: {
        "fi": ("Asianne on vastaanotettu: {{ title }}",
               "Hei{% if customer_name %} {{ customer_name }}{% endif %},\n\n"
               "kiitos yhteydenotostanne. Asianne on kirjattu numerolla {{ number }}.\n"
               "Pyrimme käsittelemään sen {{ expected_days }} arkipäivän kuluessa, viimeistään "
               "{{ expected_date }}.\n\n"
               "Jos haluatte lisätä tietoja, vastatkaa tähän viestiin; viesti liitetään "
               "samaan asiaan. Asian tilaa voitte seurata asiointiportaalissa:\n"
               "{{ portal_url }}\n\nYstävällisin terveisin\n{{ organisation }}\n"),
        "sv": ("Ditt ärende har tagits emot: {{ title }}",
               "Hej{% if customer_name %} {{ customer_name }}{% endif %},\n\n"
               "tack för ditt meddelande. Ditt ärende har registrerats med nummer "
               "{{ number }}.\nVi strävar efter att behandla det inom {{ expected_days }} "
               "arbetsdagar, senast {{ expected_date }}.\n\nOm du vill lägga till något, svara "
               "på det här meddelandet; svaret kopplas till samma ärende. Du kan följa ärendet i "
               "e-tjänsten:\n{{ portal_url }}\n\n"
               "Med vänliga hälsningar\n"
               "{{ organisation }}\n"),
        "en": ("We have received your request: {{ title }}",
               "Hello{% if customer_name %} {{ customer_name }}{% endif %},\n\n"
               "thank you for contacting us. Your request has been registered as "
               "{{ number }}.\nWe aim to handle it within {{ expected_days }} working days, by "
               "{{ expected_date }}.\n\n"
               "To add information, reply to this message; your reply is added to the same "
               "request. You can follow it in the customer portal:\n{{ portal_url }}\n\n"
               "Kind regards\n{{ organisation }}\n"),
    },
    OutboundKind.REPLY: {
        "fi": ("Re: {{ title }}",
               "{{ body }}\n\n{{ agent_name }}\n{{ organisation }}\n\n"
               "Voitte vastata tähän viestiin; vastauksenne liitetään asiaan {{ number }}.\n"),
        "sv": ("Sv: {{ title }}",
               "{{ body }}\n\n{{ agent_name }}\n{{ organisation }}\n\n"
               "Du kan svara på det här meddelandet; svaret kopplas till ärende "
               "{{ number }}.\n"),
        "en": ("Re: {{ title }}",
               "{{ body }}\n\n{{ agent_name }}\n{{ organisation }}\n\n"
               "You can reply to this message; your reply is added to request {{ number }}.\n"),
    },
    OutboundKind.RESOLUTION: {
        "fi": ("Asianne on ratkaistu: {{ title }}",
               "Hei{% if customer_name %} {{ customer_name }}{% endif %},\n\n"
               "asianne {{ number }} on merkitty ratkaistuksi.\n\n"
               "Jos asia ei ratkennut, vastatkaa tähän viestiin, niin asia avataan "
               "uudelleen. Voitte myös arvioida asian käsittelyn asiointiportaalissa:\n"
               "{{ portal_url }}\n\nYstävällisin terveisin\n{{ organisation }}\n"),
        "sv": ("Ditt ärende har lösts: {{ title }}",
               "Hej{% if customer_name %} {{ customer_name }}{% endif %},\n\n"
               "ditt ärende {{ number }} har markerats som löst.\n\n"
               "Om ärendet inte är löst, svara på det här meddelandet så öppnas det igen. "
               "Du kan också bedöma hur ärendet sköttes i e-tjänsten:\n{{ portal_url }}"
               "\n\nMed vänliga hälsningar\n{{ organisation }}\n"),
        "en": ("Your request has been resolved: {{ title }}",
               "Hello{% if customer_name %} {{ customer_name }}{% endif %},\n\n"
               "your request {{ number }} has been marked as resolved.\n\n"
               "If it is not solved, reply to this message and it will be reopened. You can "
               "also rate how it was handled in the customer portal:\n{{ portal_url }}\n\n"
               "Kind regards\n{{ organisation }}\n"),
    },
}

_engine = Engine(autoescape=False, debug=False, libraries={}, builtins=[
    "django.template.defaulttags", "django.template.defaultfilters"])


def check_template(text: str) -> None:
    """Raise TemplateSyntaxError if ``text`` is not a valid template."""
    _engine.from_string(text)


def render(organisation_id: int, kind: str, language: str,
           context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) in ``language`` from the organisation's own template, else the
    built-in one. A broken custom template falls back to the built-in text."""
    custom = EmailTemplate.objects.filter(organisation_id=organisation_id, kind=kind,
                                          language=language).first()
    default = DEFAULT_TEMPLATES[kind].get(language) or DEFAULT_TEMPLATES[kind]["fi"]
    pairs = [(custom.subject, custom.body)] if custom is not None else []
    for subject_src, body_src in [*pairs, default]:
        try:
            subject = str(_engine.from_string(subject_src).render(Context(context)))
            body = str(_engine.from_string(body_src).render(Context(context)))
        except (TemplateSyntaxError, ValueError, TypeError) as exc:
            log.warning("email template %s/%s of organisation %s is broken: %s", kind,
                        language, organisation_id, exc)
            continue
        subject = " ".join(subject.split())
        number = context["number"]
        if number not in subject:
            subject = f"[{number}] {subject}"
        return subject[:400], body
    raise AssertionError("the built-in templates render")  # pragma: no cover


# --- queueing ------------------------------------------------------------------------------


def ticket_mailbox(ticket: Ticket) -> Mailbox | None:
    """The mailbox the ticket's mail goes out from: the one it came in through, else the
    organisation's default sender."""
    first = (InboundEmail.objects.filter(ticket=ticket, mailbox__isnull=False)
             .select_related("mailbox").order_by("id").first())
    if first is not None and first.mailbox is not None:
        return first.mailbox
    return (Mailbox.objects.filter(organisation_id=ticket.organisation_id, is_active=True)
            .order_by("-is_default_outbound", "id").first())


def customer_address(ticket: Ticket) -> CustomerContact | None:
    if ticket.customer_id is None:
        return None
    return (CustomerContact.objects.filter(customer_id=ticket.customer_id,
                                           kind=ContactKind.EMAIL).order_by("id").first())


def _thread_ids(ticket: Ticket) -> tuple[str, list[str]]:
    """(In-Reply-To, References) for a new mail on ``ticket``: the customer's latest mail,
    and the ticket's mail so far (at most 20, oldest first)."""
    inbound = list(InboundEmail.objects.filter(ticket=ticket).order_by("-id")
                   .values_list("msgid", flat=True)[:10])
    outbound = list(OutboundEmail.objects.filter(ticket=ticket).order_by("-id")
                    .values_list("msgid", flat=True)[:10])
    refs = [m for m in reversed(inbound) if not m.endswith("@kapula.invalid>")]
    refs += list(reversed(outbound))
    in_reply_to = inbound[0] if inbound and not inbound[0].endswith("@kapula.invalid>") else ""
    return in_reply_to, refs[-20:]


def _recent_automatic(address: str) -> int:
    since = timezone.now() - timedelta(hours=1)
    return OutboundEmail.objects.filter(recipient=normalise_email(address), automatic=True,
                                        created_at__gte=since).count()


def queue_mail(*, ticket: Ticket, kind: str, event_id: int | None = None,
               message: Message | None = None) -> OutboundEmail | None:
    """Queue one mail about ``ticket`` to its customer, or None when it must not be sent
    (no address, an automatic mail to a failing address or a suspected loop)."""
    contact = customer_address(ticket)
    if contact is None:
        return None
    automatic = kind != OutboundKind.REPLY
    address = contact.value
    if automatic and contact.failing_since is not None:
        return None
    mailbox = ticket_mailbox(ticket)
    own = our_addresses()
    if address.lower() in own:
        return None  # never write to ourselves
    if automatic and _recent_automatic(address) >= settings.KAPULA_MAIL_AUTOMATIC_PER_HOUR:
        log.warning("not sending %s to %s: automatic mail limit reached (loop guard)", kind,
                    address)
        return None
    from_addr = mailbox.address if mailbox is not None else settings.DEFAULT_FROM_EMAIL
    org_name = ticket.organisation.name
    cc: list[str] = []
    if kind == OutboundKind.REPLY:
        latest = InboundEmail.objects.filter(ticket=ticket).order_by("-id").first()
        if latest is not None:
            cc = [c for c in latest.cc if c.lower() not in own and c.lower() != address.lower()]
    context = {
        "number": ticket.number, "title": ticket.title, "organisation": org_name,
        "customer_name": ticket.customer.name if ticket.customer else "",
        "team": str(ticket.team) if ticket.team_id else "",
        "expected_days": mailbox.expected_handling_days if mailbox else 5,
        # the same in business days by the team's calendar (kapula/sla), as a local date
        "expected_date": timezone.localtime(expected_due(
            organisation_id=ticket.organisation_id, team_id=ticket.team_id,
            business_days=mailbox.expected_handling_days if mailbox else 5,
            start=ticket.created_at)).strftime(
                "%-d.%-m.%Y"),
        "body": message.body_text if message is not None else "",
        "agent_name": message.author_name if message is not None else "",
        "status": ticket.get_status_display(),
        # the matter in the customer portal (kapula/portal): a login link is asked there
        "portal_url": settings.KAPULA_BASE_URL.rstrip("/") + reverse(
            "portal:ticket", args=[ticket.organisation.slug, ticket.number]),
    }
    subject, body = render(ticket.organisation_id, kind, ticket.language, context)
    domain = (mailbox.domain if mailbox else from_addr.rsplit("@", 1)[-1]) or "kapula.invalid"
    msgid = f"<kapula.{ticket.pk}.{secrets.token_hex(8)}@{domain}>"
    in_reply_to, refs = _thread_ids(ticket)
    mail = OutboundEmail.objects.create(
        organisation_id=ticket.organisation_id, ticket=ticket, message=message,
        mailbox=mailbox, kind=kind, event_id=event_id,
        from_addr=formataddr((org_name, from_addr)), to=[address], cc=cc, subject=subject,
        recipient=normalise_email(address),
        msgid=msgid, in_reply_to=in_reply_to, references=" ".join(refs), body_text=body,
        language=ticket.language, automatic=automatic,
    )
    if message is not None and not message.external_id:
        Message.objects.filter(pk=message.pk).update(external_id=msgid)
    transaction.on_commit(schedule_sending)
    return mail


def _stale(moment: Any) -> bool:
    """A mail about something this old would confuse more than help (e.g. imported or
    back-dated tickets, or events handled after a very long outage)."""
    return moment is None or moment < timezone.now() - timedelta(
        hours=settings.KAPULA_MAIL_STALE_HOURS)


@subscriber("email", "ticket.created", "message.added", "ticket.status_changed")
def on_ticket_event(event: OutboxEvent) -> None:
    payload = event.payload
    if event.topic == "ticket.created":
        ticket = Ticket.objects.select_related("organisation", "customer").filter(
            pk=event.aggregate_id).first()
        if ticket is None or ticket.channel not in ACKNOWLEDGED_CHANNELS \
                or ticket.status in (Status.RESOLVED, Status.CLOSED) \
                or _stale(ticket.created_at):
            return
        first = InboundEmail.objects.filter(ticket=ticket).select_related("mailbox") \
            .order_by("id").first()
        if first is not None and (first.auto_kind or (
                first.mailbox is not None and not first.mailbox.send_acknowledgment)):
            return
        queue_mail(ticket=ticket, kind=OutboundKind.ACKNOWLEDGMENT, event_id=event.pk)
    elif event.topic == "message.added" and payload.get("kind") == MessageKind.REPLY:
        message = Message.objects.filter(pk=payload.get("message")).first()
        if message is None or _stale(message.created_at):
            return
        ticket = Ticket.objects.select_related("organisation", "customer").get(
            pk=message.ticket_id)
        queue_mail(ticket=ticket, kind=OutboundKind.REPLY, event_id=event.pk, message=message)
    elif event.topic == "ticket.status_changed" and payload.get("new") == Status.RESOLVED:
        ticket = Ticket.objects.select_related("organisation", "customer").get(
            pk=event.aggregate_id)
        if ticket.status == Status.RESOLVED and not _stale(ticket.resolved_at):
            queue_mail(ticket=ticket, kind=OutboundKind.RESOLUTION, event_id=event.pk)


# --- sending -------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """2, 4, 8 ... minutes between tries, at most an hour."""
    return timedelta(minutes=min(2 ** max(attempts, 1), 60))


def build(mail: OutboundEmail) -> EmailMessage:
    headers = {
        "Message-ID": mail.msgid,
        "X-Kapula-Ticket": mail.ticket.number,
        "X-Kapula-Loop": settings.KAPULA_INSTANCE_ID,
        "Content-Language": mail.language,
    }
    if mail.in_reply_to:
        headers["In-Reply-To"] = mail.in_reply_to
    if mail.references:
        headers["References"] = mail.references
    if mail.automatic:
        headers["Auto-Submitted"] = "auto-replied" if mail.kind == OutboundKind.ACKNOWLEDGMENT \
            else "auto-generated"
        headers["X-Auto-Response-Suppress"] = "All"
        headers["Precedence"] = "auto_reply" if mail.kind == OutboundKind.ACKNOWLEDGMENT \
            else "bulk"
    reply_to = [mail.mailbox.address] if mail.mailbox is not None else []
    email = EmailMessage(subject=mail.subject, body=mail.body_text, from_email=mail.from_addr,
                         to=list(mail.to), cc=list(mail.cc), reply_to=reply_to,
                         headers=headers)
    if mail.message_id is not None:
        for item in Attachment.objects.filter(message_id=mail.message_id).order_by("id"):
            with item.file.open("rb") as fh:
                email.attach(item.filename, fh.read(), item.content_type)
    return email


def send_due(limit: int = 100) -> tuple[int, int]:
    """Send queued mail whose time has come: (sent, failed this round)."""
    sent = failed = 0
    now = timezone.now()
    ids = list(OutboundEmail.objects.filter(status=OutboundStatus.QUEUED,
                                            next_attempt_at__lte=now)
               .order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
    smtp = None
    try:
        for pk in ids:
            with transaction.atomic():
                qs = OutboundEmail.objects.filter(pk=pk, status=OutboundStatus.QUEUED)
                if connection.features.has_select_for_update_skip_locked:
                    qs = qs.select_for_update(skip_locked=True, of=("self",))
                mail = qs.select_related("ticket", "mailbox").first()
                if mail is None:
                    continue  # another worker has it, or it was sent meanwhile
                try:
                    if smtp is None:
                        smtp = mailers.default
                        smtp.open()
                    smtp.send_messages([build(mail)])
                except Exception as exc:  # SMTP down, refused, timed out ...
                    failed += 1
                    mail.attempts += 1
                    mail.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    if mail.attempts >= settings.KAPULA_MAIL_MAX_ATTEMPTS:
                        mail.status = OutboundStatus.FAILED
                    else:
                        mail.next_attempt_at = timezone.now() + backoff(mail.attempts)
                    mail.save(update_fields=["attempts", "last_error", "status",
                                             "next_attempt_at"])
                    log.warning("sending mail %s failed (attempt %s): %s", mail.pk,
                                mail.attempts, exc)
                    if smtp is not None:
                        with contextlib.suppress(Exception):  # it is broken anyway
                            smtp.close()
                    smtp = None
                    continue
                mail.status = OutboundStatus.SENT
                mail.sent_at = timezone.now()
                mail.attempts += 1
                mail.last_error = ""
                mail.save(update_fields=["status", "sent_at", "attempts", "last_error"])
                sent += 1
    finally:
        if smtp is not None:
            with contextlib.suppress(Exception):
                smtp.close()
    return sent, failed


@task()
def send_mail_task() -> int:
    sent, _failed = send_due()
    _schedule_retry()
    return sent


_lock = threading.Lock()
_scheduled_until = 0.0
DEBOUNCE_SECONDS = 0.25


def schedule_sending() -> None:
    """After a commit that queued mail: one sending run, not one per mail (a run started
    later than the commit always sees it)."""
    global _scheduled_until
    if not default_task_backend.supports_defer:
        send_mail_task.enqueue()
        return
    now = time.monotonic()
    with _lock:
        if now < _scheduled_until:
            return
        _scheduled_until = now + DEBOUNCE_SECONDS
    send_mail_task.using(
        run_after=timezone.now() + timedelta(seconds=DEBOUNCE_SECONDS)).enqueue()


def _schedule_retry() -> None:
    nxt = (OutboundEmail.objects.filter(status=OutboundStatus.QUEUED)
           .order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first())
    if nxt is not None and nxt > timezone.now() and default_task_backend.supports_defer:
        send_mail_task.using(run_after=nxt).enqueue()


def retry_now(mails: Any) -> int:
    """Admin action: put failed or waiting mail back in the queue for an immediate try."""
    count = int(mails.filter(status__in=[OutboundStatus.QUEUED, OutboundStatus.FAILED]).update(
        status=OutboundStatus.QUEUED, next_attempt_at=timezone.now()))
    if count:
        transaction.on_commit(schedule_sending)
    return count
