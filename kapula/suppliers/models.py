"""Suppliers, the work handed to them (engagements) and every hand-over of a ticket
between tiers (escalations).

The tier of a team (1st line, specialists, supplier) is ``core.Team.tier``; nothing here
duplicates it. An escalation never creates a new ticket: the customer keeps one number and
one conversation, and these rows record where the ticket went, why, and what the supplier
promised.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kapula.core.models import Language, Organisation, Team, User
from kapula.tickets.models import Message, Ticket


class SupplierChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEBHOOK = "webhook", _("Webhook (JSON POST)")


def validate_pattern(value: str) -> None:
    try:
        compiled = re.compile(value)
    except re.error as exc:
        raise ValidationError(_("Not a valid regular expression: %(error)s"),
                              code="invalid_pattern", params={"error": str(exc)}) from None
    if compiled.groups > 1:
        raise ValidationError(_("Use at most one group: it marks the reference."),
                              code="invalid_pattern")


class Supplier(models.Model):
    """An outside company or organisation that takes escalated tickets."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                     related_name="suppliers", verbose_name=_("organisation"))
    name = models.CharField(_("name"), max_length=200)
    channel = models.CharField(_("contact channel"), max_length=10,
                               choices=SupplierChannel.choices, default=SupplierChannel.EMAIL)
    email = models.EmailField(_("email address"), blank=True,
                              help_text=_("Escalations are emailed here; mail from this "
                                          "address about the ticket becomes an internal note."))
    webhook_url = models.URLField(_("webhook URL"), max_length=500, blank=True,
                                  help_text=_("Escalations are POSTed here as JSON."))
    webhook_secret_env = models.CharField(
        _("signing secret environment variable"), max_length=100, blank=True,
        help_text=_("The name of the environment variable holding the secret that signs "
                    "webhook requests (X-Kapula-Signature, HMAC-SHA256). Secrets are not "
                    "stored in the database."))
    language = models.CharField(_("language"), max_length=2, choices=Language.choices,
                                blank=True,
                                help_text=_("Language of the mail to the supplier; empty: the "
                                            "organisation's default language."))
    response_hours = models.PositiveIntegerField(
        _("response target (hours)"), null=True, blank=True,
        help_text=_("The supplier's own promise, in wall-clock hours from sending."))
    resolution_hours = models.PositiveIntegerField(
        _("resolution target (hours)"), null=True, blank=True,
        help_text=_("The supplier's own promise, in wall-clock hours from sending."))
    reference_pattern = models.CharField(
        _("reference in the subject"), max_length=200, blank=True,
        validators=[validate_pattern],
        help_text=_("Optional regular expression that finds the supplier's own case number "
                    "in the subject of its mail, e.g. INC\\d+ or Case #(\\d+)."))
    teams = models.ManyToManyField(
        Team, blank=True, related_name="+", verbose_name=_("offered to teams"),
        help_text=_("Tickets of these teams can be escalated to the supplier. Empty: every "
                    "team."))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")
        ordering = ["name"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "name"],
                                    name="supplier_name_per_org"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.channel == SupplierChannel.EMAIL and not self.email:
            raise ValidationError({"email": _("An email supplier needs an email address.")})
        if self.channel == SupplierChannel.WEBHOOK:
            if not self.webhook_url:
                raise ValidationError({"webhook_url": _("A webhook supplier needs a URL.")})
            if not self.webhook_url.lower().startswith(("https://", "http://")):
                raise ValidationError({"webhook_url": _("Use an http or https URL.")})
        if self.email:
            from kapula.intake.mail.ingest import our_addresses

            if self.email.lower() in our_addresses():
                raise ValidationError({"email": _("This is one of Kapula's own mailboxes.")})

    def reference_in(self, subject: str) -> str:
        """The supplier's reference found in ``subject`` by ``reference_pattern``, or ""."""
        if not self.reference_pattern or not subject:
            return ""
        try:
            match = re.search(self.reference_pattern, subject[:300])
        except re.error:
            return ""
        if match is None:
            return ""
        return (match.group(1) if match.re.groups else match.group(0)).strip()[:100]


class EngagementState(models.TextChoices):
    OPEN = "open", _("Waiting for the supplier")
    ANSWERED = "answered", _("Answered by the supplier")
    RESOLVED = "resolved", _("Resolved by the supplier")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVE_ENGAGEMENT = (EngagementState.OPEN, EngagementState.ANSWERED)


class SupplierEngagement(models.Model):
    """One ticket handed to one supplier, with the supplier's reference and its targets."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE,
                               related_name="supplier_engagements", verbose_name=_("ticket"))
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="engagements",
                                 verbose_name=_("supplier"))
    state = models.CharField(_("state"), max_length=10, choices=EngagementState.choices,
                             default=EngagementState.OPEN)
    reference = models.CharField(_("supplier's reference"), max_length=100, blank=True)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    response_due_at = models.DateTimeField(_("response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    response_met = models.BooleanField(_("response target met"), null=True, blank=True)
    resolution_met = models.BooleanField(_("resolution target met"), null=True, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("supplier engagement")
        verbose_name_plural = _("supplier engagements")
        ordering = ["-sent_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["ticket", "supplier"], name="one_active_engagement",
                condition=models.Q(state__in=["open", "answered"])),
        ]
        indexes: ClassVar = [
            models.Index(fields=["organisation", "state", "response_due_at"],
                         name="engagement_due"),
        ]

    def __str__(self) -> str:
        return f"{self.supplier} / {self.ticket.number if self.ticket_id else '?'}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_ENGAGEMENT

    def _late(self, due: datetime | None, done: datetime | None) -> bool:
        return due is not None and done is None and self.is_active and timezone.now() > due

    @property
    def response_overdue(self) -> bool:
        return self._late(self.response_due_at, self.responded_at)

    @property
    def resolution_overdue(self) -> bool:
        return self._late(self.resolution_due_at, self.resolved_at)


class EscalationKind(models.TextChoices):
    ESCALATE = "escalate", _("Escalated")
    RETURN = "return", _("Returned")


class Escalation(models.Model):
    """One hand-over of a ticket: to another team (usually a higher tier), to a supplier,
    or back. Append-only, like the ticket's history."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="escalations")
    kind = models.CharField(_("kind"), max_length=10, choices=EscalationKind.choices)
    from_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("from team"))
    to_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", verbose_name=_("to team"))
    from_tier = models.CharField(_("from tier"), max_length=20, blank=True)
    to_tier = models.CharField(_("to tier"), max_length=20, blank=True)
    supplier = models.ForeignKey(Supplier, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("supplier"))
    engagement = models.ForeignKey(SupplierEngagement, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(_("reason"), max_length=300)
    note = models.TextField(_("note"), blank=True)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        ordering = ["-created_at", "-id"]
        indexes: ClassVar = [models.Index(fields=["ticket", "-created_at"],
                                          name="escalation_ticket")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.ticket_id}"
