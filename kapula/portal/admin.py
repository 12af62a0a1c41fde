"""Admin for the portal's rows. Login links are read-only (their token is never stored,
only its hash); ratings can be looked at and, if need be, corrected or removed. Org admins
see only their own organisation's rows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from kapula.core.admin import OrgScopedAdmin
from kapula.portal.models import PortalLink, ResolutionRating


@admin.register(PortalLink)
class PortalLinkAdmin(OrgScopedAdmin):
    list_display = ("email", "organisation", "created_at", "expires_at", "used_at")
    list_filter = ("organisation",)
    search_fields = ("email",)
    date_hierarchy = "created_at"
    fields = ("organisation", "email", "created_at", "expires_at", "used_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ResolutionRating)
class ResolutionRatingAdmin(OrgScopedAdmin):
    org_field = "ticket__organisation"
    list_display = ("ticket", "score", "customer", "updated_at")
    list_filter = ("score",)
    search_fields = ("ticket__number", "comment")
    raw_id_fields = ("ticket", "customer")
    readonly_fields = ("created_at", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
