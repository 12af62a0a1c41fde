"""Business-hour calendars, SLA policies and the per-ticket SLA clocks."""

from __future__ import annotations

import zoneinfo
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kapula.core.models import Organisation, Team, Unit
from kapula.tickets.models import Category, Priority, Status, Ticket, TicketType

DEFAULT_TIME_ZONE = "Europe/Helsinki"


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("Unknown time zone: %(tz)s"), code="invalid_time_zone",
                              params={"tz": value}) from None


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class Calendar(models.Model):
    """Service hours of an organisation (``team`` empty) or of one team. A team without a
    calendar uses its organisation's; an organisation without one is open around the clock."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                     related_name="+", verbose_name=_("organisation"))
    team = models.OneToOneField(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="sla_calendar",
        verbose_name=_("team"),
        help_text=_("Empty: the calendar of the whole organisation."),
    )
    name = models.CharField(_("name"), max_length=200)
    time_zone = models.CharField(_("time zone"), max_length=64, default=DEFAULT_TIME_ZONE,
                                 validators=[validate_time_zone])
    public_holidays = models.BooleanField(
        _("closed on Finnish public holidays"), default=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("business-hour calendar")
        verbose_name_plural = _("business-hour calendars")
        ordering = ["name"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation"], condition=models.Q(team=None),
                                    name="sla_one_org_calendar"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        team = self.team if self.team_id else None
        if team is not None and self.organisation_id and \
                team.organisation_id != self.organisation_id:
            raise ValidationError({"team": _("The team belongs to another organisation.")})


class _TimeRange(models.Model):
    start = models.TimeField(pgettext_lazy("time of day", "from"))
    end = models.TimeField(_("until"), help_text=_("00:00 means midnight at the end of the day."))

    class Meta:
        abstract = True

    def clean(self) -> None:
        if self.start is not None and self.end is not None and self.end.hour + self.end.minute \
                and self.end <= self.start:
            raise ValidationError(_("The end must be after the start."), code="invalid_range")


class ServiceHours(_TimeRange):
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)

    class Meta:
        verbose_name = _("service hours")
        verbose_name_plural = _("service hours")
        ordering = ["weekday", "start"]


class Closure(models.Model):
    """A day, or part of a day, when the service is closed (Christmas Eve, Midsummer Eve, a
    training afternoon)."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField(_("date"))
    start = models.TimeField(pgettext_lazy("time of day", "from"), null=True, blank=True,
                             help_text=_("Empty: closed the whole day."))
    end = models.TimeField(_("until"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        ordering = ["date", "start"]

    def clean(self) -> None:
        if (self.start is None) != (self.end is None):
            raise ValidationError(_("Give both times, or neither for a whole day."),
                                  code="invalid_range")
        if self.start is not None and self.end is not None and self.end.hour + self.end.minute \
                and self.end <= self.start:
            raise ValidationError(_("The end must be after the start."), code="invalid_range")


class ExtraOpening(_TimeRange):
    """Extra open hours on a day that is normally closed (or longer hours on an open day)."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="openings")
    date = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("extra opening")
        verbose_name_plural = _("extra openings")
        ordering = ["date", "start"]


class Metric(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    RESOLUTION = "resolution", _("Resolution")


def default_pause_statuses() -> list[str]:
    return [Status.PENDING_CUSTOMER.value, Status.PENDING_THIRD_PARTY.value]


def default_thresholds() -> list[int]:
    return [75, 90]


def validate_pause_statuses(value: object) -> None:
    allowed = {Status.PENDING_CUSTOMER, Status.PENDING_THIRD_PARTY, Status.NEW, Status.OPEN}
    if not isinstance(value, list) or any(v not in allowed for v in value):
        raise ValidationError(_("List statuses among: %(allowed)s"), code="invalid_statuses",
                              params={"allowed": ", ".join(sorted(allowed))})


def validate_thresholds(value: object) -> None:
    if not isinstance(value, list) or len(value) > 5 or any(
            isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 99 for v in value):
        raise ValidationError(_("Give up to five whole percentages between 1 and 99."),
                              code="invalid_thresholds")


class SlaPolicy(models.Model):
    """Targets for the tickets it matches. Empty conditions match anything; of the matching
    active policies the most specific (most conditions set) wins, then the lower order."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+",
                                     verbose_name=_("organisation"))
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    ordering = models.PositiveSmallIntegerField(_("order"), default=0,
                                                help_text=_("Breaks ties between equally "
                                                            "specific policies: lower first."))
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+", verbose_name=_("unit of the team"))
    ticket_type = models.ForeignKey(TicketType, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="+", verbose_name=_("ticket type"))
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+", verbose_name=_("category"))
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices,
                                                null=True, blank=True)
    customer_unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.CASCADE,
                                      related_name="+", verbose_name=_("customer's unit"))
    customer_organisation = models.CharField(_("customer's organisation"), max_length=200,
                                             blank=True)
    first_response_minutes = models.PositiveIntegerField(
        _("first response (business minutes)"), null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(
        _("next response (business minutes)"), null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(
        _("resolution (business minutes)"), null=True, blank=True)
    pause_statuses = models.JSONField(
        _("statuses that pause the clocks"), default=default_pause_statuses, blank=True,
        validators=[validate_pause_statuses])
    warning_thresholds = models.JSONField(
        _("warning thresholds (percent of the target)"), default=default_thresholds, blank=True,
        validators=[validate_thresholds])

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["ordering", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        for name in ("unit", "ticket_type", "category", "customer_unit"):
            obj = getattr(self, name) if getattr(self, f"{name}_id") else None
            if obj is not None and self.organisation_id and \
                    obj.organisation_id != self.organisation_id:
                raise ValidationError({name: _("This belongs to another organisation.")})

    def target(self, metric: str) -> int | None:
        value: int | None = getattr(self, f"{metric}_minutes")
        return value

    @property
    def specificity(self) -> int:
        return sum(1 for v in (self.unit_id, self.ticket_type_id, self.category_id,
                               self.priority, self.customer_unit_id,
                               self.customer_organisation) if v)


class ClockState(models.TextChoices):
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    MET = "met", _("Met")
    BREACHED = "breached", _("Breached")
    CANCELLED = "cancelled", _("No longer applies")


class SlaClock(models.Model):
    """One target of one ticket. The row stays after it stops: the outcome (met or breached,
    business minutes used) is what reports read."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_clocks")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="clocks")
    metric = models.CharField(_("target"), max_length=20, choices=Metric.choices)
    state = models.CharField(_("state"), max_length=10, choices=ClockState.choices,
                             default=ClockState.RUNNING)
    target_minutes = models.PositiveIntegerField(_("target (business minutes)"))
    started_at = models.DateTimeField(_("started"))
    #: the clock last started or resumed here, with ``used_seconds`` already spent before
    anchor_at = models.DateTimeField()
    used_seconds = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    paused_since = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    breached = models.BooleanField(default=False)
    warnings_sent = models.PositiveSmallIntegerField(default=0)
    next_check_at = models.DateTimeField(null=True, blank=True)
    business_minutes_used = models.PositiveIntegerField(
        _("business minutes used"), null=True, blank=True)

    class Meta:
        verbose_name = _("SLA clock")
        verbose_name_plural = _("SLA clocks")
        ordering = ["started_at", "id"]
        indexes: ClassVar = [
            models.Index(fields=["next_check_at"], name="sla_clock_check",
                         condition=models.Q(next_check_at__isnull=False)),
            models.Index(fields=["ticket", "metric"], name="sla_clock_ticket"),
            models.Index(fields=["organisation", "metric", "started_at"], name="sla_clock_report"),
        ]

    def __str__(self) -> str:
        return f"{self.get_metric_display()} ({self.get_state_display()})"
