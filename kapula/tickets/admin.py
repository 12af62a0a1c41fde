"""Admin for ticket configuration: types, categories, priority matrix, custom fields.
Tickets themselves are worked in the agent workspace, where every change is an action."""

from __future__ import annotations

from django.contrib import admin

from kapula.core.admin import OrgScopedAdmin
from kapula.tickets.models import Category, CustomField, PriorityRule, Tag, TicketType


@admin.register(TicketType)
class TicketTypeAdmin(OrgScopedAdmin):
    list_display = ("name_fi", "name_sv", "name_en", "code", "ordering", "is_active")
    list_editable = ("ordering", "is_active")


@admin.register(Category)
class CategoryAdmin(OrgScopedAdmin):
    list_display = ("name_fi", "name_sv", "name_en", "parent", "default_team", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name_fi", "name_sv", "name_en")


@admin.register(PriorityRule)
class PriorityRuleAdmin(OrgScopedAdmin):
    list_display = ("impact", "urgency", "priority")
    list_editable = ("priority",)
    ordering = ("impact", "urgency")


@admin.register(CustomField)
class CustomFieldAdmin(OrgScopedAdmin):
    list_display = ("key", "name_fi", "kind", "ticket_type", "category", "required")
    list_filter = ("kind", "required")


@admin.register(Tag)
class TagAdmin(OrgScopedAdmin):
    list_display = ("name",)
    search_fields = ("name",)
