"""Triage: text classifiers per organisation that suggest a new ticket's category and team.

A :class:`TriageModel` holds one trained scikit-learn pipeline (serialised with joblib) per
organisation and target, in the database so that every process on every host loads the same
model. :class:`TriageSettings` says whether suggestions are applied automatically, and from
which confidence. :class:`TriageDecision` records, once per ticket, what automatic triage
suggested and applied (it also makes the outbox subscriber idempotent).
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kapula.core.models import Organisation
from kapula.tickets.models import Ticket


class Target(models.TextChoices):
    CATEGORY = "category", _("Category")
    TEAM = "team", _("Team")


class TriageModel(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                     related_name="triage_models")
    target = models.CharField(_("suggests"), max_length=16, choices=Target.choices)
    #: grows by one at every training; processes reload their cached copy when it changes
    version = models.PositiveIntegerField(_("version"), default=1)
    trained_at = models.DateTimeField(_("trained"), default=timezone.now)
    n_samples = models.PositiveIntegerField(_("training tickets"), default=0)
    #: [{"id": <category or team id>, "label": <its name at training time>}], in the
    #: estimator's class order
    classes = models.JSONField(_("classes"), default=list)
    #: accuracy, macro averages, per class precision/recall/f1/support on the held-out
    #: split, the classes left out for having too few tickets, and the options used
    metrics = models.JSONField(_("metrics"), default=dict)
    data = models.BinaryField(_("serialised model"), editable=False)

    class Meta:
        verbose_name = _("triage model")
        verbose_name_plural = _("triage models")
        constraints = [models.UniqueConstraint(fields=["organisation", "target"],
                                               name="triage_model_one_per_target")]

    def __str__(self) -> str:
        return f"{self.organisation} / {self.get_target_display()} v{self.version}"


class TriageSettings(models.Model):
    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE,
                                        related_name="triage_settings")
    auto_apply = models.BooleanField(
        _("apply suggestions automatically"), default=False,
        help_text=_("Set the category and team of a new ticket that nobody and no routing "
                    "rule has chosen, when the suggestion is confident enough."))
    threshold = models.FloatField(
        _("confidence threshold"), default=0.9,
        validators=[MinValueValidator(0.5), MaxValueValidator(1.0)],
        help_text=_("Between 0.5 and 1.0. A suggestion is applied automatically only when its "
                    "confidence is at least this."))

    class Meta:
        verbose_name = _("triage settings")
        verbose_name_plural = _("triage settings")

    def __str__(self) -> str:
        return str(self.organisation)


class TriageDecision(models.Model):
    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE,
                                  related_name="triage_decision")
    decided_at = models.DateTimeField(default=timezone.now)
    category_id_suggested = models.BigIntegerField(null=True, blank=True)
    category_confidence = models.FloatField(null=True, blank=True)
    category_applied = models.BooleanField(default=False)
    team_id_suggested = models.BigIntegerField(null=True, blank=True)
    team_confidence = models.FloatField(null=True, blank=True)
    team_applied = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("triage decision")
        verbose_name_plural = _("triage decisions")

    def __str__(self) -> str:
        return f"{self.ticket_id}"
