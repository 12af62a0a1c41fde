"""Admin for suppliers, their engagements and the hand-over log. Org admins see only their
own organisation (``OrgScopedAdmin``). Team tiers are edited on the team (core admin)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from kapula.core.admin import OrgScopedAdmin, user_org_id
from kapula.core.models import Team
from kapula.suppliers.models import Escalation, Supplier, SupplierEngagement
from kapula.tickets import config


@admin.register(Supplier)
class SupplierAdmin(OrgScopedAdmin):
    list_display = ("name", "channel", "email", "webhook_url", "response_hours",
                    "resolution_hours", "is_active")
    list_filter = ("channel", "is_active")
    search_fields = ("name", "email", "webhook_url")
    filter_horizontal = ("teams",)
    fields = ("organisation", "name", "is_active", "channel", "email", "webhook_url",
              "webhook_secret_env", "language", ("response_hours", "resolution_hours"),
              "reference_pattern", "teams")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_fields(request, obj)
        return fields if request.user.is_superuser else [f for f in fields
                                                         if f != "organisation"]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any,
                     change: bool) -> None:
        super().save_related(request, form, formsets, change)
        config.invalidate()  # the teams are saved after the row: drop what was cached between

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest,
                                 **kwargs: Any) -> Any:
        if db_field.name == "teams" and not request.user.is_superuser:
            kwargs["queryset"] = Team.objects.filter(organisation_id=user_org_id(request) or 0)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ReadOnlyOrgAdmin(OrgScopedAdmin):
    """A log: shown, never written in the admin (the actions write it)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SupplierEngagement)
class SupplierEngagementAdmin(ReadOnlyOrgAdmin):
    list_display = ("ticket", "supplier", "state", "reference", "sent_at", "response_due_at",
                    "response_met", "resolution_due_at", "resolution_met")
    list_filter = ("state", "supplier", "response_met", "resolution_met")
    search_fields = ("ticket__number", "reference", "supplier__name")
    list_select_related = ("ticket", "supplier")
    date_hierarchy = "sent_at"


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyOrgAdmin):
    list_display = ("created_at", "ticket", "kind", "from_team", "to_team", "supplier",
                    "reason", "actor_label")
    list_filter = ("kind", "to_tier")
    search_fields = ("ticket__number", "reason")
    list_select_related = ("ticket", "from_team", "to_team", "supplier")
    date_hierarchy = "created_at"
