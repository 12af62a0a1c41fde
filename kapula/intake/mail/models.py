"""Mailboxes, the inbound mail log (raw .eml kept, quarantine), outbound mail queue and
the organisation's editable mail templates."""

from __future__ import annotations

import os
from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kapula.core.models import Language, Organisation, Team
from kapula.tickets.models import Category, Message, Ticket, TicketType


class MailboxKind(models.TextChoices):
    IMAP = "imap", _("IMAP (Kapula fetches)")
    LMTP = "lmtp", _("LMTP/SMTP (the mail server delivers to Kapula)")
    FILES = "files", _("Files only (imports)")


class ImapSecurity(models.TextChoices):
    SSL = "ssl", _("TLS (IMAPS, port 993)")
    STARTTLS = "starttls", _("STARTTLS")
    NONE = "none", _("None (loopback only)")


class Mailbox(models.Model):
    """A service address whose mail becomes tickets, and the address replies come from."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                     related_name="mailboxes")
    name = models.CharField(_("name"), max_length=100)
    address = models.EmailField(_("address"), unique=True)
    kind = models.CharField(_("delivery"), max_length=10, choices=MailboxKind.choices,
                            default=MailboxKind.IMAP)
    is_active = models.BooleanField(_("active"), default=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("default team"))
    ticket_type = models.ForeignKey(TicketType, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("default type"))
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("default category"))
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, blank=True,
        help_text=_("Leave empty to detect Finnish, Swedish or English from each message."))
    is_default_outbound = models.BooleanField(
        _("default sender"), default=False,
        help_text=_("Replies to tickets from other channels are sent from this address."))
    expected_handling_days = models.PositiveSmallIntegerField(
        _("expected handling time (working days)"), default=5,
        help_text=_("Told to the customer in the acknowledgment."))
    send_acknowledgment = models.BooleanField(_("acknowledge new tickets"), default=True)
    accept_automated = models.BooleanField(
        _("tickets from automated senders"), default=False,
        help_text=_("Machine-generated mail (monitoring, notices) that continues no ticket "
                    "opens a ticket without an acknowledgment. Otherwise it is only logged."))
    rate_limit_per_hour = models.PositiveIntegerField(
        _("messages per sender per hour"), default=30,
        help_text=_("Further messages from the same sender are quarantined."))
    # IMAP
    imap_host = models.CharField(_("IMAP server"), max_length=200, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_security = models.CharField(_("IMAP security"), max_length=10,
                                     choices=ImapSecurity.choices, default=ImapSecurity.SSL)
    imap_username = models.CharField(_("IMAP user name"), max_length=200, blank=True)
    imap_password_env = models.CharField(
        _("password environment variable"), max_length=100, blank=True,
        help_text=_("The name of the environment variable that holds the IMAP password "
                    "(secrets are not stored in the database)."))
    imap_folder = models.CharField(_("IMAP folder"), max_length=200, default="INBOX")
    imap_done_folder = models.CharField(
        _("move processed mail to"), max_length=200, blank=True,
        help_text=_("Leave empty to keep processed mail in place, marked with a flag."))
    poll_seconds = models.PositiveIntegerField(
        _("poll interval (seconds)"), default=60,
        help_text=_("Used when the server has no IDLE, and as a safety net with IDLE."))
    # status, written by the fetcher
    last_checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["address"]

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[-1].lower()

    def imap_password(self) -> str:
        return os.environ.get(self.imap_password_env, "") if self.imap_password_env else ""


class Outcome(models.TextChoices):
    CREATED = "created", _("New ticket")
    APPENDED = "appended", _("Added to a ticket")
    BOUNCE = "bounce", _("Delivery failure")
    AUTO_REPLY = "auto_reply", _("Automatic reply")
    DUPLICATE = "duplicate", _("Duplicate")
    REJECTED = "rejected", _("Rejected")


class InboundStatus(models.TextChoices):
    PROCESSED = "processed", _("Processed")
    QUARANTINED = "quarantined", _("Quarantined")


def raw_path(instance: InboundEmail, filename: str) -> str:
    return f"mail/{instance.sha256[:2]}/{instance.sha256}.eml"


class InboundEmail(models.Model):
    """Every message received, kept as it came (.eml), with what became of it."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="inbound", verbose_name=_("mailbox"))
    msgid = models.CharField(_("Message-ID"), max_length=255)
    raw = models.FileField(_("original message"), upload_to=raw_path, max_length=300)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField(_("size"), default=0)
    source = models.CharField(_("source"), max_length=10, default="file")
    sender = models.CharField(_("sender"), max_length=254, blank=True)
    recipients = models.JSONField(_("to"), default=list, blank=True)
    cc = models.JSONField(_("cc"), default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=InboundStatus.choices)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    reason = models.TextField(_("reason"), blank=True)
    auto_kind = models.CharField(_("automatic mail"), max_length=16, blank=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name=_("ticket"))
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="emails")
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        verbose_name = _("received email")
        verbose_name_plural = _("received email")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["mailbox", "msgid"], name="inbound_once")
        ]
        indexes: ClassVar = [
            models.Index(fields=["organisation", "status", "-received_at"],
                         name="inbound_status"),
            models.Index(fields=["mailbox", "sender", "-received_at"], name="inbound_sender"),
            models.Index(fields=["ticket", "received_at"], name="inbound_ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.sender}: {self.subject}"


class OutboundKind(models.TextChoices):
    ACKNOWLEDGMENT = "ack", _("Acknowledgment")
    REPLY = "reply", _("Agent reply")
    RESOLUTION = "resolution", _("Resolution notice")


class OutboundStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    BOUNCED = "bounced", _("Bounced")
    CANCELLED = "cancelled", _("Cancelled")


class OutboundEmail(models.Model):
    """A mail to a customer, queued in the transaction that decided to send it."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("ticket"))
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="outbound_emails")
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=OutboundKind.choices)
    event_id = models.BigIntegerField(null=True, blank=True)
    from_addr = models.CharField(_("from"), max_length=300)
    to = models.JSONField(_("to"), default=list)
    cc = models.JSONField(_("cc"), default=list, blank=True)
    #: the main recipient, normalised (for the automatic-mail loop guard)
    recipient = models.CharField(max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=400)
    msgid = models.CharField(_("Message-ID"), max_length=255, unique=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True)
    body_text = models.TextField()
    language = models.CharField(max_length=2, choices=Language.choices)
    automatic = models.BooleanField(default=False)
    status = models.CharField(_("status"), max_length=10, choices=OutboundStatus.choices,
                              default=OutboundStatus.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing email")
        verbose_name_plural = _("outgoing email")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["event_id", "kind"], name="outbound_once_per_event",
                                    condition=models.Q(event_id__isnull=False)),
        ]
        indexes: ClassVar = [
            models.Index(fields=["next_attempt_at"], name="outbound_due",
                         condition=models.Q(status="queued")),
            models.Index(fields=["ticket", "created_at"], name="outbound_ticket"),
            models.Index(fields=["recipient", "-created_at"], name="outbound_recipient"),
            models.Index(fields=["organisation", "status", "-created_at"],
                         name="outbound_status"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} -> {', '.join(self.to)}"


class EmailTemplate(models.Model):
    """An organisation's own wording of an automatic or reply mail in one language.
    Without one, Kapula's built-in text in that language is used."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=OutboundKind.choices)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "kind", "language"],
                                    name="template_per_kind_language")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.language})"
