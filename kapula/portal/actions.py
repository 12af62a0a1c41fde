"""Every write of the customer portal.

The customer is not a :class:`~kapula.core.models.User`: an action gets the organisation
and the verified email address of the portal session, and finds the customer's tickets
through :mod:`kapula.portal.queries` itself, so a view that forgot a check still cannot
reach another person's ticket. Ticket changes go through :mod:`kapula.tickets.actions`
with ``actor=None`` and an ``actor_label`` that names the customer, so the ticket's
history tells who did it. Errors are :mod:`kapula.core.errors` exceptions with stable
codes; nothing is written when one is raised.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kapula.core import ratelimit
from kapula.core.db import atomic_action, insert_objects
from kapula.core.errors import ActionError, Conflict, NotFound, ValidationFailed
from kapula.core.models import Customer, Organisation, hash_token
from kapula.core.outbox import emit
from kapula.core.text import normalise_email
from kapula.portal import queries
from kapula.portal.models import PortalLink, ResolutionRating
from kapula.tickets import actions as ticket_actions
from kapula.tickets.attachments import AttachmentInput
from kapula.tickets.models import (
    AuthorKind,
    Channel,
    HistoryEntry,
    Message,
    MessageKind,
    Status,
    Ticket,
)

log = logging.getLogger("kapula.portal")

#: the longest reply or reopening reason, and the longest rating comment
MAX_REPLY_CHARS = 10_000
MAX_REASON_CHARS = 2_000
MAX_COMMENT_CHARS = 2_000
#: a form key (double-submit guard) as the portal's forms generate it
FORM_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class TooManyRequests(ActionError):
    status = 429
    code = "rate_limited"


class LinkGone(ActionError):
    """A login link that existed but can no longer be used (expired or used)."""

    status = 410
    code = "link_gone"


def link_minutes() -> int:
    return max(1, int(getattr(settings, "KAPULA_PORTAL_LINK_MINUTES", 30)))


def _rate(name: str, default: tuple[int, int]) -> tuple[int, int]:
    return ratelimit.parse_rate(str(getattr(settings, name, "")), default)


# --- login by an emailed link ------------------------------------------------------------


@dataclass
class LinkRequest:
    """What became of a login-link request. The page the customer sees is the same for
    every outcome (it never tells whether the address is known)."""

    sent: bool
    reason: str  # "sent", "unknown", "limited"


def clean_email(value: str) -> str:
    address = normalise_email(value or "")
    if not address:
        raise ValidationFailed(_("Enter your email address."), code="email_required",
                               field="email")
    try:
        if len(address) > 254:
            raise ValidationError("too long")
        validate_email(address)
    except ValidationError:
        raise ValidationFailed(_("Enter a valid email address, like name@example.fi."),
                               code="invalid_email", field="email") from None
    return address


def safe_next(organisation: Organisation, value: str) -> str:
    """``value`` if it is a page of this organisation's portal on this site, else ""."""
    value = (value or "").strip()
    prefix = f"/portal/{organisation.slug}/"
    if (not value.startswith(prefix) or len(value) > 300 or "\\" in value or "//" in value
            or any(c in value for c in "\r\n\t")):
        return ""
    return value


@atomic_action
def request_link(*, organisation: Organisation, email: str, language: str,
                 client_ip: str = "", next_path: str = "") -> LinkRequest:
    """Mail a one-time login link to ``email`` if the organisation has a customer with that
    address. Counts the request against the per-address and per-client limits first."""
    address = clean_email(email)
    ip_limit, ip_seconds = _rate("KAPULA_PORTAL_IP_RATE", (20, 900))
    if ratelimit.count(f"kapula:portal:ip:{client_ip or 'unknown'}", ip_seconds) > ip_limit:
        raise TooManyRequests(
            _("Too many login links have been asked for from here. Please try again in a "
              "quarter of an hour."), code="rate_limited_client")
    mail_limit, mail_seconds = _rate("KAPULA_PORTAL_EMAIL_RATE", (5, 900))
    key = hash_token(f"{organisation.pk}:{address}")
    if ratelimit.count(f"kapula:portal:email:{key}", mail_seconds) > mail_limit:
        return LinkRequest(False, "limited")
    known = queries.customers(organisation, address)
    if not known:
        return LinkRequest(False, "unknown")
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    PortalLink.objects.create(
        organisation=organisation, email=address, token_hash=hash_token(raw), created_at=now,
        expires_at=now + timedelta(minutes=link_minutes()),
        next_path=safe_next(organisation, next_path),
    )
    lang = next((c.language for c in known if c.language), "") or language
    if lang not in ("fi", "sv", "en"):
        lang = organisation.default_language or "fi"
    url = settings.KAPULA_BASE_URL.rstrip("/") + reverse(
        "portal:redeem", args=[organisation.slug, raw])
    message = _link_mail(organisation, address, url, lang)
    transaction.on_commit(lambda: _send_later(message))
    return LinkRequest(True, "sent")


def _link_mail(organisation: Organisation, address: str, url: str, lang: str) -> EmailMessage:
    with translation.override(lang):
        subject = _("Your login link to the customer service of %(org)s") % {
            "org": organisation.name}
        body = "\n".join([
            _("Hello,"),
            "",
            _("Someone (hopefully you) asked for a link to see your matters with %(org)s.")
            % {"org": organisation.name},
            _("Open this link to log in. It works once and for %(minutes)s minutes:")
            % {"minutes": link_minutes()},
            "",
            url,
            "",
            _("If you did not ask for it, you can ignore this message: nobody can log in "
              "without the link."),
            "",
            organisation.name,
        ])
    return EmailMessage(
        subject=subject, body=body, to=[address], from_email=_sender(organisation),
        headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All",
                 "X-Kapula-Loop": settings.KAPULA_INSTANCE_ID, "Content-Language": lang},
    )


def _sender(organisation: Organisation) -> str:
    """The organisation's own service address (its default outgoing mailbox), as its
    other mail to customers; the installation's default sender if it has none."""
    from email.utils import formataddr

    from kapula.intake.mail.models import Mailbox

    address = (Mailbox.objects.filter(organisation=organisation, is_active=True)
               .order_by("-is_default_outbound", "id").values_list("address", flat=True)
               .first())
    return formataddr((organisation.name, address)) if address else settings.DEFAULT_FROM_EMAIL


def _send(message: EmailMessage) -> None:
    try:
        message.send()
    except Exception:  # SMTP down or refusing: the customer can ask for a new link
        log.exception("portal: could not send a login link")


def send_in_background(fn: Callable[[], None]) -> None:
    """How a login mail leaves: in a thread, so that the answer to a known address takes no
    longer than the answer to an unknown one (tests replace it to send at once)."""
    threading.Thread(target=fn, name="portal-link-mail", daemon=True).start()


def _send_later(message: EmailMessage) -> None:
    send_in_background(lambda: _send(message))


def find_link(organisation: Organisation, token: str) -> PortalLink:
    """The link of ``token`` if it can still be used (does not use it)."""
    if not token or len(token) > 128:
        raise NotFound(_("This login link is not valid."), code="link_unknown")
    link = PortalLink.objects.filter(organisation=organisation,
                                     token_hash=hash_token(token)).first()
    if link is None:
        raise NotFound(_("This login link is not valid."), code="link_unknown")
    if link.used_at is not None:
        raise LinkGone(_("This login link has already been used."), code="link_used")
    if link.expires_at <= timezone.now():
        raise LinkGone(_("This login link has expired."), code="link_expired")
    return link


@atomic_action
def redeem_link(*, organisation: Organisation, token: str) -> PortalLink:
    """Use a login link: exactly one of concurrent attempts succeeds (a conditional UPDATE
    claims it). Returns the link, whose ``email`` the session then carries."""
    link = find_link(organisation, token)
    if not queries.has_contact(organisation, link.email):
        raise NotFound(_("This login link is not valid."), code="link_unknown")
    now = timezone.now()
    claimed = PortalLink.objects.filter(
        pk=link.pk, used_at__isnull=True, expires_at__gt=now).update(used_at=now)
    if claimed != 1:
        raise LinkGone(_("This login link has already been used."), code="link_used")
    link.used_at = now
    return link


# --- the customer's own tickets --------------------------------------------------------


def _own(organisation: Organisation, email: str, ticket: Ticket) -> Ticket:
    """Re-read ``ticket`` with a row lock, if it is one of the customer's tickets."""
    if ticket.organisation_id != organisation.pk:
        raise NotFound(_("No such matter."), code="ticket_not_found")
    locked = (Ticket.objects.select_for_update()
              .filter(pk=ticket.pk, organisation=organisation,
                      customer_id__in=queries.customer_ids(organisation, email)).first())
    if locked is None:
        raise NotFound(_("No such matter."), code="ticket_not_found")
    return locked


def _customer(ticket: Ticket) -> Customer | None:
    return Customer.objects.filter(pk=ticket.customer_id).first() if ticket.customer_id else None


def actor_label(customer: Customer | None, email: str) -> str:
    """How the ticket's history names the customer acting in the portal."""
    name = customer.name if customer is not None else ""
    who = f"{name} <{email}>" if name else email
    return f"{who} (portal)"[:200]


def _form_key(value: str) -> str:
    """The message external id of a form key, or "" for none or a malformed one."""
    return f"portal:{value}" if value and FORM_KEY.match(value) else ""


def _already(ticket: Ticket, key: str) -> Message | None:
    if not key:
        return None
    return Message.objects.filter(ticket=ticket, external_id=key).first()


def _not_merged(ticket: Ticket) -> None:
    if ticket.merged_into_id:
        raise Conflict(_("This matter was merged into another one; continue there."),
                       code="ticket_merged")


@atomic_action
def customer_reply(*, organisation: Organisation, email: str, ticket: Ticket, body: str,
                   attachments: Sequence[AttachmentInput] = (), form_key: str = "") -> Message:
    """Add the customer's message (and files) to the conversation; a resolved or closed
    ticket opens again. A form sent twice (same ``form_key``) adds one message."""
    locked = _own(organisation, email, ticket)
    key = _form_key(form_key)
    done = _already(locked, key)
    if done is not None:
        return done
    body = (body or "").strip()
    if not body and not attachments:
        raise ValidationFailed(_("Write a message or attach a file."), code="body_required",
                               field="body")
    if len(body) > MAX_REPLY_CHARS:
        raise ValidationFailed(_("The message is too long (at most %(n)s characters).")
                               % {"n": f"{MAX_REPLY_CHARS:,}".replace(",", "\u00a0")},
                               code="body_too_long", field="body")
    _not_merged(locked)
    customer = _customer(locked)
    return ticket_actions.add_message(
        actor=None, ticket=locked, kind=MessageKind.INBOUND, body=body,
        channel=Channel.PORTAL, attachments=list(attachments),
        author_kind=AuthorKind.CUSTOMER, author_customer=customer,
        author_name=(customer.name if customer is not None else "") or email,
        external_id=key, actor_label=actor_label(customer, email),
    )


@atomic_action
def close_by_customer(*, organisation: Organisation, email: str, ticket: Ticket) -> Ticket:
    """The customer says the matter is settled: the ticket is closed (an active ticket is
    resolved first, as the status machine asks). Closing a closed ticket changes nothing."""
    locked = _own(organisation, email, ticket)
    if locked.status == Status.CLOSED:
        return locked
    _not_merged(locked)
    label = actor_label(_customer(locked), email)
    if locked.status not in (Status.NEW, Status.RESOLVED):
        locked = ticket_actions.update_ticket(
            actor=None, ticket=locked, changes={"status": Status.RESOLVED}, actor_label=label)
    return ticket_actions.update_ticket(
        actor=None, ticket=locked, changes={"status": Status.CLOSED}, actor_label=label)


@atomic_action
def reopen_by_customer(*, organisation: Organisation, email: str, ticket: Ticket, reason: str,
                       form_key: str = "") -> Ticket:
    """Open a resolved or closed ticket again; the reason is added to the conversation as
    the customer's message."""
    locked = _own(organisation, email, ticket)
    key = _form_key(form_key)
    if _already(locked, key) is not None:
        return locked
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Tell us why the matter is not settled."),
                               code="reason_required", field="reason")
    if len(reason) > MAX_REASON_CHARS:
        raise ValidationFailed(_("The reason is too long (at most %(n)s characters).")
                               % {"n": f"{MAX_REASON_CHARS:,}".replace(",", "\u00a0")},
                               code="reason_too_long", field="reason")
    if locked.status not in queries.FINISHED_STATUSES:
        raise ValidationFailed(_("Only a resolved or closed matter can be reopened."),
                               code="not_finished", field="reason")
    _not_merged(locked)
    customer = _customer(locked)
    label = actor_label(customer, email)
    locked = ticket_actions.update_ticket(
        actor=None, ticket=locked, changes={"status": Status.OPEN}, actor_label=label)
    ticket_actions.add_message(
        actor=None, ticket=locked, kind=MessageKind.INBOUND, body=reason,
        channel=Channel.PORTAL, author_kind=AuthorKind.CUSTOMER, author_customer=customer,
        author_name=(customer.name if customer is not None else "") or email,
        external_id=key, actor_label=label,
    )
    locked.refresh_from_db()
    return locked


def parse_score(value: Any) -> int:
    try:
        score = int(str(value).strip())
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise ValidationFailed(_("Choose a rating from 1 to 5."), code="invalid_score",
                               field="score")
    return score


def _rating_text(score: int, comment: str) -> str:
    """How a rating is kept in the ticket's history: the score, then the comment on the
    next line (the desk shows both, kapula.desk.templatetags.desk.history_value)."""
    return f"{score}\n{comment}" if comment else str(score)


@atomic_action
def rate(*, organisation: Organisation, email: str, ticket: Ticket, score: Any,
         comment: str = "") -> ResolutionRating:
    """Rate the resolution of a resolved or closed ticket (1-5, optional comment). A ticket
    has one rating; rating again changes it."""
    value = parse_score(score)
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise ValidationFailed(_("The comment is too long (at most %(n)s characters).")
                               % {"n": f"{MAX_COMMENT_CHARS:,}".replace(",", "\u00a0")},
                               code="comment_too_long", field="comment")
    locked = _own(organisation, email, ticket)
    if locked.status not in queries.FINISHED_STATUSES:
        raise ValidationFailed(_("A matter can be rated when it has been resolved."),
                               code="not_finished", field="score")
    customer = _customer(locked)
    now = timezone.now()
    rating = ResolutionRating.objects.filter(ticket=locked).first()
    old = ""
    if rating is None:
        rating = ResolutionRating.objects.create(ticket=locked, customer=customer, score=value,
                                                 comment=comment, created_at=now,
                                                 updated_at=now)
    else:
        old = _rating_text(rating.score, rating.comment)
        if rating.score == value and rating.comment == comment:
            return rating
        rating.score, rating.comment, rating.updated_at = value, comment, now
        rating.customer = customer or rating.customer
        rating.save(update_fields=["score", "comment", "updated_at", "customer"])
    insert_objects([HistoryEntry(ticket=locked, actor=None,
                                 actor_label=actor_label(customer, email), at=now,
                                 field="rating", old=old, new=_rating_text(value, comment))])
    emit("ticket.rated", organisation_id=organisation.pk, aggregate="ticket",
         aggregate_id=locked.pk, payload={"number": locked.number, "score": value,
                                          "previous": int(old.split("\n")[0]) if old else None,
                                          "has_comment": bool(comment)})
    return rating
