"""Admin for calendars and SLA policies (org admins: their own organisation only), and a
read-only list of the clocks for reporting."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kapula.core.admin import OrgAdminInline, OrgScopedAdmin
from kapula.sla.models import Calendar, Closure, ExtraOpening, ServiceHours, SlaClock, SlaPolicy
from kapula.tickets import config


class _Inline(OrgAdminInline):
    """Rows of a calendar: whoever may edit the calendar (an org admin) edits them too."""

    extra = 0


class ServiceHoursInline(_Inline):
    model = ServiceHours
    extra = 0
    fields = ("weekday", "start", "end")


class ClosureInline(_Inline):
    model = Closure
    extra = 0
    fields = ("date", "start", "end", "reason")


class ExtraOpeningInline(_Inline):
    model = ExtraOpening
    extra = 0
    fields = ("date", "start", "end", "reason")


@admin.register(Calendar)
class CalendarAdmin(OrgScopedAdmin):
    list_display = ("name", "team", "time_zone", "public_holidays", "updated_at")
    search_fields = ("name",)
    inlines = [ServiceHoursInline, ClosureInline, ExtraOpeningInline]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any,
                     change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # a new version: cached open intervals of the old one are no longer used
        Calendar.objects.filter(pk=form.instance.pk).update(
            version=F("version") + 1, updated_at=timezone.now())
        config.invalidate()


@admin.register(SlaPolicy)
class SlaPolicyAdmin(OrgScopedAdmin):
    list_display = ("name", "is_active", "ordering", "unit", "ticket_type", "category",
                    "priority", "first_response_minutes", "next_response_minutes",
                    "resolution_minutes")
    list_filter = ("is_active", "priority")
    search_fields = ("name", "customer_organisation")
    fieldsets = (
        (None, {"fields": ("name", ("is_active", "ordering"))}),
        (_("Conditions"), {"fields": (("unit", "ticket_type", "category", "priority"),
                                   ("customer_unit", "customer_organisation"))}),
        (_("Targets"), {"fields": (("first_response_minutes", "next_response_minutes",
                                 "resolution_minutes"), "pause_statuses",
                                "warning_thresholds")}),
    )


    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        sets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:  # superusers choose the organisation
            first = sets[0][1]
            sets = ((None, {**first, "fields": ("organisation", *first["fields"])}),
                    *sets[1:])
        return sets


@admin.register(SlaClock)
class SlaClockAdmin(OrgScopedAdmin):
    list_display = ("ticket", "metric", "state", "target_minutes", "business_minutes_used",
                    "started_at", "due_at", "stopped_at")
    list_filter = ("metric", "state", "breached")
    list_select_related = ("ticket",)
    search_fields = ("ticket__number",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
