"""The customer portal's own rows: one-time login links and resolution ratings."""

from __future__ import annotations

from typing import ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kapula.core.models import Customer, Organisation
from kapula.tickets.models import Ticket


class PortalLink(models.Model):
    """A one-time login link mailed to a customer. Only the SHA-256 of its random token is
    stored: a copy of the database opens no portal session."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+",
                                     verbose_name=_("organisation"))
    email = models.CharField(_("email address"), max_length=254)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    #: the portal page the customer wanted before logging in (kapula.portal.actions.safe_next)
    next_path = models.CharField(_("page after login"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("portal login link")
        verbose_name_plural = _("portal login links")
        indexes: ClassVar = [
            models.Index(fields=["organisation", "email", "-created_at"],
                         name="portal_link_email"),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.created_at:%Y-%m-%d %H:%M})"


class ResolutionRating(models.Model):
    """The customer's rating of how a matter was resolved: one per ticket, changeable."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="rating",
                                  verbose_name=_("ticket"))
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("customer"))
    score = models.PositiveSmallIntegerField(
        _("score"), validators=[MinValueValidator(1), MaxValueValidator(5)])
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("resolution rating")
        verbose_name_plural = _("resolution ratings")
        constraints: ClassVar = [
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5),
                                   name="rating_score_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.score}/5"
