"""Admin for the service catalogue. Org admins edit every service of their organisation;
unit admins edit the services of their own unit and its sub-units (delegated admin)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kapula.catalogue.models import Service, ServiceField
from kapula.core.access import administered_unit_ids
from kapula.core.admin import OrgScopedAdmin
from kapula.core.models import Role, Unit


class ServiceFieldInline(admin.StackedInline):
    model = ServiceField
    extra = 0
    fields = (("code", "kind", "required", "ordering"), ("label_fi", "label_sv", "label_en"),
              ("help_fi", "help_sv", "help_en"), "choices", "urgent_values")


@admin.register(Service)
class ServiceAdmin(OrgScopedAdmin):
    list_display = ("name_fi", "code", "unit", "visibility", "on_web", "on_mobile", "on_desk",
                    "is_active", "ordering")
    list_filter = ("visibility", "is_active", "on_web", "on_mobile")
    search_fields = ("name_fi", "name_sv", "name_en", "code", "keywords")
    inlines = [ServiceFieldInline]
    fieldsets = (
        (None, {"fields": ("organisation", "unit", "code", ("name_fi", "name_sv", "name_en"),
                           "description_fi", "description_sv", "description_en",
                           ("group", "keywords"), ("is_active", "ordering"))}),
        (_("Offered"), {"fields": ("visibility", ("on_web", "on_mobile", "on_desk"),
                                ("ask_contact", "require_email"))}),
        (_("New tickets"), {"fields": (("ticket_type", "category", "team"),
                                       ("impact", "urgency"))}),
        (_("Embedding in a website"), {"fields": ("embed_snippet",)}),
    )
    readonly_fields = ("embed_snippet",)

    @admin.display(description=_("how to embed"))
    def embed_snippet(self, obj: Service | None) -> str:
        """The HTML a website adds to show this form (docs/subsystems/catalogue.md)."""
        if obj is None or not obj.pk:
            return str(_("Save the service first."))
        if not (obj.on_web and obj.is_public and obj.is_active):
            return str(_("Only active public services offered as a web form can be "
                         "embedded."))
        base = settings.KAPULA_BASE_URL.rstrip("/")
        form = base + reverse("webform:form", args=[obj.organisation.slug, obj.code])
        script = base + reverse("webform:embed_script")
        snippet = (f'<div data-kapula-form="{form}" data-lang="fi"></div>\n'
                   f'<script src="{script}" async></script>')
        return format_html(
            '<pre class="embed-snippet"><code>{}</code></pre><p class="help">{}</p>', snippet,
            _("Copy this into the web page; data-lang is fi, sv or en. The website's origin "
              "must be listed in the organisation's \"websites that may embed the forms\"."))

    def _allowed(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and (user.is_superuser or (user.is_staff and getattr(
            user, "role", None) in (Role.ORG_ADMIN, Role.UNIT_ADMIN))))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        units = administered_unit_ids(request.user)
        return qs if units is None else qs.filter(unit_id__in=sorted(units))

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        sets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return sets
        out = []
        for name, opts in sets:
            fields = [f for f in opts["fields"] if f != "organisation"]
            out.append((name, {**opts, "fields": fields}))
        return out

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest,
                                 **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "unit" and field is not None and not request.user.is_superuser:
            units = administered_unit_ids(request.user)
            if units is not None:  # a unit admin: one of their own units, and only those
                field.queryset = Unit.objects.filter(pk__in=sorted(units))
                field.required = True
        return field
