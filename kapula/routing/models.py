"""Routing rules, out-of-scope answers, team assignment modes and agents' availability.

Rules are evaluated for every new ticket in :func:`kapula.routing.engine.route` (called from
the one intake path). How they are matched is described in docs/subsystems/routing.md.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kapula.core.models import Language, Organisation, Team, Unit
from kapula.tickets.models import Category, Channel, Level, TicketType


class RuleKind(models.TextChoices):
    ROUTE = "route", _("Route (set fields)")
    OUT_OF_SCOPE = "out_of_scope", _("Out of scope (answer and close or forward)")


class OutOfScopeAction(models.TextChoices):
    CLOSE = "close", _("Close the ticket")
    FORWARD_EMAIL = "forward_email", _("Forward by email and close")
    FORWARD_TEAM = "forward_team", _("Move to the team set below")


class RoutingRule(models.Model):
    """One ordered rule of an organisation: conditions (all must hold; an empty condition
    matches anything) and actions. The first matching rule wins unless it says "continue"."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                     related_name="routing_rules",
                                     verbose_name=_("organisation"))
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(
        _("position"), default=100, help_text=_("Rules are tried from the smallest position."))
    enabled = models.BooleanField(_("enabled"), default=True)
    kind = models.CharField(_("kind"), max_length=20, choices=RuleKind.choices,
                            default=RuleKind.ROUTE)
    continue_processing = models.BooleanField(
        _("continue with later rules"), default=False,
        help_text=_("Otherwise the first matching rule is the last one applied."))

    # --- conditions ---
    channels = models.JSONField(_("channels"), default=list, blank=True)
    mailbox = models.ForeignKey("mail.Mailbox", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+", verbose_name=_("mailbox"))
    service = models.ForeignKey("catalogue.Service", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="+",
                                verbose_name=_("service form"))
    if_category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="+", verbose_name=_("category is"))
    if_type = models.ForeignKey(TicketType, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+", verbose_name=_("type is"))
    languages = models.JSONField(_("languages"), default=list, blank=True)
    keywords = models.TextField(
        _("keywords"), blank=True,
        help_text=_("One per line; any of them matches, as whole words, ignoring case. End a "
                    "word with * to match its inflected forms (tulost* matches tulostimen)."))
    pattern = models.CharField(
        _("regular expression"), max_length=200, blank=True,
        help_text=_("Searched in the title and message, ignoring case."))
    customer_unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.CASCADE,
                                      related_name="+", verbose_name=_("customer's unit"),
                                      help_text=_("The unit or any of its sub-units."))
    customer_organisation = models.CharField(
        _("customer's organisation contains"), max_length=200, blank=True)
    area_south = models.FloatField(_("south (latitude)"), null=True, blank=True)
    area_west = models.FloatField(_("west (longitude)"), null=True, blank=True)
    area_north = models.FloatField(_("north (latitude)"), null=True, blank=True)
    area_east = models.FloatField(_("east (longitude)"), null=True, blank=True)
    weekdays = models.JSONField(_("weekdays"), default=list, blank=True,
                                help_text=_("0 = Monday ... 6 = Sunday; empty = every day."))
    time_from = models.TimeField(_("from (Helsinki time)"), null=True, blank=True)
    time_to = models.TimeField(_("until (Helsinki time)"), null=True, blank=True)

    # --- actions ---
    set_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("set team"))
    set_category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("set category"))
    set_type = models.ForeignKey(TicketType, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("set type"))
    set_impact = models.CharField(_("set impact"), max_length=10, choices=Level.choices,
                                  blank=True)
    set_urgency = models.CharField(_("set urgency"), max_length=10, choices=Level.choices,
                                   blank=True)
    add_tags = models.CharField(_("add tags"), max_length=300, blank=True,
                                help_text=_("Comma-separated."))
    set_assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("set assignee"))
    notify = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+",
                                    verbose_name=_("notify"))

    # --- out of scope ---
    reply_fi = models.TextField(_("answer (Finnish)"), blank=True)
    reply_sv = models.TextField(_("answer (Swedish)"), blank=True)
    reply_en = models.TextField(_("answer (English)"), blank=True)
    out_of_scope_action = models.CharField(_("then"), max_length=20,
                                           choices=OutOfScopeAction.choices,
                                           default=OutOfScopeAction.CLOSE)
    forward_email = models.EmailField(_("forward to"), blank=True)

    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["organisation", "position", "id"]
        indexes: ClassVar = [models.Index(fields=["organisation", "position"],
                                          name="routing_rule_order")]

    def __str__(self) -> str:
        return self.name

    def reply_in(self, language: str) -> str:
        return str(getattr(self, f"reply_{language}", "") or self.reply_fi or self.reply_en
                   or self.reply_sv)

    def clean(self) -> None:
        from kapula.routing.engine import check_pattern, parse_keywords

        errors: dict[str, Any] = {}
        bad = [c for c in self.channels or [] if c not in Channel.values]
        if bad:
            errors["channels"] = _("Unknown channel: %(c)s") % {"c": ", ".join(map(str, bad))}
        bad = [c for c in self.languages or [] if c not in Language.values]
        if bad:
            errors["languages"] = _("Languages are fi, sv and en.")
        if any(not isinstance(d, int) or not 0 <= d <= 6 for d in self.weekdays or []):
            errors["weekdays"] = _("Weekdays are numbers 0 (Monday) to 6 (Sunday).")
        try:
            parse_keywords(self.keywords)
        except ValueError as exc:
            errors["keywords"] = str(exc)
        if self.pattern:
            problem = check_pattern(self.pattern)
            if problem:
                errors["pattern"] = problem
        box = [self.area_south, self.area_west, self.area_north, self.area_east]
        if any(v is not None for v in box):
            if any(v is None for v in box):
                errors["area_south"] = _("Give all four edges of the area, or none.")
            elif (self.area_south > self.area_north  # type: ignore[operator]
                  or self.area_west > self.area_east  # type: ignore[operator]
                  or not all(-180 <= v <= 180 for v in box)):  # type: ignore[operator]
                errors["area_south"] = _("South must be below north and west left of east.")
        if (self.time_from is None) != (self.time_to is None):
            errors["time_to"] = _("Give both ends of the time window, or neither.")
        org_id = self.organisation_id
        for name in ("mailbox", "service", "if_category", "if_type", "customer_unit",
                     "set_team", "set_category", "set_type", "set_assignee"):
            obj = getattr(self, name)
            if obj is not None and org_id is not None and obj.organisation_id != org_id:
                errors[name] = _("This belongs to another organisation.")
        if self.kind == RuleKind.OUT_OF_SCOPE:
            if not (self.reply_fi or self.reply_sv or self.reply_en):
                errors["reply_fi"] = _("An out-of-scope rule needs an answer to the customer.")
            if (self.out_of_scope_action == OutOfScopeAction.FORWARD_EMAIL
                    and not self.forward_email):
                errors["forward_email"] = _("Give the address to forward to.")
            if self.out_of_scope_action == OutOfScopeAction.FORWARD_TEAM and not self.set_team:
                errors["set_team"] = _("Choose the team to forward to.")
        if self.set_assignee is not None and self.set_team is not None and not \
                self.set_assignee.memberships.filter(team=self.set_team).exists():
            errors["set_assignee"] = _("The assignee is not a member of the team.")
        if errors:
            raise ValidationError(errors)

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        changed(self.organisation_id)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        org_id = self.organisation_id
        result = super().delete(*args, **kwargs)
        changed(org_id)
        return result


class AssignmentMode(models.TextChoices):
    MANUAL = "manual", _("Manual")
    ROUND_ROBIN = "round_robin", _("Round robin")
    LEAST_LOADED = "least_loaded", _("Least loaded")


class TeamRouting(models.Model):
    """How a team's new, unassigned tickets are given to its members."""

    team = models.OneToOneField(Team, primary_key=True, on_delete=models.CASCADE,
                                related_name="routing", verbose_name=_("team"))
    mode = models.CharField(_("assignment"), max_length=20, choices=AssignmentMode.choices,
                            default=AssignmentMode.MANUAL)
    #: round robin: the member who got the previous ticket
    last_assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+",
                                      editable=False)

    class Meta:
        verbose_name = _("team assignment")
        verbose_name_plural = _("team assignment")

    def __str__(self) -> str:
        return f"{self.team}: {self.get_mode_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        if kwargs.get("update_fields") != ["last_assignee"]:
            changed(self.team.organisation_id)


class AvailabilityStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    AWAY = "away", _("Away")


class Availability(models.Model):
    """Whether an agent takes new tickets. No row means available."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True,
                                on_delete=models.CASCADE, related_name="availability",
                                verbose_name=_("agent"))
    status = models.CharField(_("status"), max_length=10, choices=AvailabilityStatus.choices,
                              default=AvailabilityStatus.AVAILABLE)
    away_until = models.DateTimeField(_("away until"), null=True, blank=True)
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        verbose_name = _("availability")
        verbose_name_plural = _("availability")

    def __str__(self) -> str:
        return f"{self.user}: {self.get_status_display()}"

    def is_available(self, now: Any = None) -> bool:
        if self.status == AvailabilityStatus.AVAILABLE:
            return True
        return self.away_until is not None and self.away_until <= (now or timezone.now())


def changed(organisation_id: int | None) -> None:
    """Rules or team modes changed: every process reloads them, now (this transaction sees
    the change) and again after commit (others see it from then on)."""
    if organisation_id is None:
        return
    from kapula.routing.engine import bump_version

    bump_version(organisation_id)
    transaction.on_commit(lambda: bump_version(organisation_id))
