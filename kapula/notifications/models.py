"""Notifications to agents (in the desk and by email digest) and each agent's preferences.

A notification stores what happened as a kind plus a few short untranslated parameters
(ticket number and title, rule name, SLA metric ...); its text is written in the reader's
language when it is shown or mailed (:mod:`kapula.notifications.texts`).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kapula.core.models import Language, Organisation
from kapula.tickets.models import Ticket


class Kind(models.TextChoices):
    ASSIGNED = "assigned", _("A ticket is assigned to me")
    CUSTOMER_REPLY = "customer_reply", _("A customer replies")
    SLA_WARNING = "sla_warning", _("An SLA target is near")
    SLA_BREACHED = "sla_breached", _("An SLA target is breached")
    ROUTING = "routing", _("A routing rule asks to notify me")
    ESCALATED = "escalated", _("A ticket is escalated to my team")


class Frequency(models.TextChoices):
    OFF = "off", _("No email")
    HOURLY = "hourly", _("Hourly digest")
    DAILY = "daily", _("Daily digest")


class Notification(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="notifications", verbose_name=_("recipient"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("ticket"))
    #: the outbox event this notification comes from (one notification per event and user)
    event_id = models.BigIntegerField()
    #: short untranslated values for the text: number, title, rule, metric, team, reason
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed"), null=True, blank=True)
    digest = models.ForeignKey("DigestEmail", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="notifications")

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["event_id", "recipient"],
                                    name="notification_once_per_event"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["recipient", "-id"], name="notification_list"),
            models.Index(fields=["recipient"], name="notification_unread",
                         condition=models.Q(read_at__isnull=True)),
            models.Index(fields=["recipient"], name="notification_unemailed",
                         condition=models.Q(emailed_at__isnull=True, read_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.params.get('number', '')} → {self.recipient_id}"


class Preferences(models.Model):
    """One agent's choices. Without a row the defaults apply: every kind on, daily digest."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="notification_preferences")
    #: kinds the agent does not want (neither in the desk nor by email)
    muted = models.JSONField(_("muted kinds"), default=list, blank=True)
    frequency = models.CharField(_("email digest"), max_length=10, choices=Frequency.choices,
                                 default=Frequency.DAILY)

    class Meta:
        verbose_name = _("notification preferences")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return str(self.user)


class DigestStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class DigestEmail(models.Model):
    """One digest mail to one agent, queued in the transaction that marks its notifications
    emailed; sent afterwards through the default mailer."""

    organisation = models.ForeignKey(Organisation, null=True, blank=True,
                                     on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="+", verbose_name=_("recipient"))
    to = models.EmailField(_("to"))
    language = models.CharField(max_length=2, choices=Language.choices)
    subject = models.CharField(_("subject"), max_length=400)
    body_text = models.TextField()
    count = models.PositiveIntegerField(_("notifications"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=DigestStatus.choices,
                              default=DigestStatus.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("digest email")
        verbose_name_plural = _("digest emails")
        indexes: ClassVar = [
            models.Index(fields=["recipient", "-created_at"], name="digest_last"),
            models.Index(fields=["next_attempt_at"], name="digest_due",
                         condition=models.Q(status="queued")),
        ]

    def __str__(self) -> str:
        return self.subject
