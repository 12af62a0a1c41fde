"""Django admin for configuration. Org admins see and change only their organisation."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kapula.core.models import (
    ApiToken,
    Customer,
    CustomerContact,
    Membership,
    Organisation,
    OutboxEvent,
    Role,
    Team,
    Unit,
    User,
)
from kapula.tickets import config


def user_org_id(request: HttpRequest) -> int | None:
    return getattr(request.user, "organisation_id", None)


class OrgScopedAdmin(admin.ModelAdmin):
    """Superusers see everything; org admins only rows of their own organisation, and new
    rows are put in their organisation."""

    org_field = "organisation"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{self.org_field: user_org_id(request)})

    def _allowed(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and (user.is_superuser or (
            user.is_staff and getattr(user, "role", None) == Role.ORG_ADMIN)))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        excluded = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser and self.org_field == "organisation":
            excluded.append("organisation")
        return excluded

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not request.user.is_superuser and self.org_field == "organisation" and not change:
            obj.organisation_id = user_org_id(request)
        super().save_model(request, obj, form, change)
        config.invalidate()  # ticket configuration is cached per process

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        config.invalidate()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        super().delete_queryset(request, queryset)
        config.invalidate()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest,
                                 **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        model = db_field.related_model
        if field is not None and field.queryset is not None and not request.user.is_superuser:
            if model is Organisation:
                field.queryset = field.queryset.filter(pk=user_org_id(request))
            elif any(f.name == "organisation" for f in model._meta.fields):
                field.queryset = field.queryset.filter(organisation_id=user_org_id(request))
        return field


@admin.register(Organisation)
class OrganisationAdmin(OrgScopedAdmin):
    org_field = "pk"
    list_display = ("name", "slug", "ticket_prefix", "default_language", "default_team")
    search_fields = ("name", "slug")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest,
                                 **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "default_team" and field is not None:
            obj_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match \
                else None
            if obj_id:
                field.queryset = Team.objects.filter(organisation_id=obj_id)
        return field


@admin.register(Unit)
class UnitAdmin(OrgScopedAdmin):
    list_display = ("name_fi", "name_sv", "name_en", "parent", "shared_visibility")
    list_filter = ("shared_visibility",)
    search_fields = ("name_fi", "name_sv", "name_en")


class OrgAdminInline(admin.TabularInline):
    """Rows edited with their parent: whoever may edit the parent (an org admin of its
    organisation, which the parent's admin checks) edits them too, choosing only among
    their own organisation's users and teams."""

    def _allowed(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and (user.is_superuser or (
            user.is_staff and getattr(user, "role", None) == Role.ORG_ADMIN)))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest,
                                 **kwargs: Any) -> Any:
        if not request.user.is_superuser and db_field.name in ("user", "team"):
            kwargs["queryset"] = db_field.related_model.objects.filter(
                organisation_id=user_org_id(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class MembershipInline(OrgAdminInline):
    model = Membership
    extra = 1


@admin.register(Team)
class TeamAdmin(OrgScopedAdmin):
    list_display = ("name_fi", "slug", "tier", "unit", "is_active")
    list_filter = ("tier", "is_active")
    search_fields = ("name_fi", "name_sv", "name_en", "slug")
    inlines = [MembershipInline]


@admin.register(User)
class KapulaUserAdmin(UserAdmin, OrgScopedAdmin):
    list_display = ("username", "first_name", "last_name", "email", "organisation", "role",
                    "is_active")
    list_filter = ("role", "is_active", "is_staff")
    fieldsets = (
        *UserAdmin.fieldsets,  # type: ignore[misc]
        (_("Kapula"), {"fields": ("organisation", "role", "admin_unit", "language")}),
    )
    inlines = [MembershipInline]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        return None

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        sets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return sets
        # Org admins cannot hand out superuser rights or move people between organisations.
        cleaned = []
        for name, opts in sets:
            fields = [f for f in opts.get("fields", ()) if f not in (
                "is_superuser", "groups", "user_permissions", "organisation")]
            cleaned.append((name, {**opts, "fields": fields}))
        return cleaned


class ContactInline(OrgAdminInline):
    model = CustomerContact
    extra = 1
    exclude = ("organisation", "normalised")


@admin.register(Customer)
class CustomerAdmin(OrgScopedAdmin):
    list_display = ("name", "language", "organisation_name", "created_at")
    search_fields = ("name", "contacts__value")
    inlines = [ContactInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        from kapula.core.text import normalise_email, normalise_phone

        for obj in formset.save(commit=False):
            if isinstance(obj, CustomerContact):
                obj.organisation_id = obj.customer.organisation_id
                obj.normalised = (normalise_email(obj.value) if obj.kind == "email"
                                  else normalise_phone(obj.value))
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()


@admin.register(ApiToken)
class ApiTokenAdmin(OrgScopedAdmin):
    org_field = "user__organisation"
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    # a token cannot be moved to another person or brought back to life; revoke it with the
    # action below (or in the workspace), which also ends its cached verification
    readonly_fields = ("user", "prefix", "created_at", "last_used_at", "revoked_at")
    exclude = ("token_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are created with `kapula create_api_token` or in the workspace

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        from kapula.core.actions import revoke_api_token

        actor = request.user
        assert isinstance(actor, User)  # the admin requires a logged-in staff user
        for token in queryset.select_related("user"):
            revoke_api_token(actor=actor, token=token, as_admin=True)


@admin.register(OutboxEvent)
class OutboxEventAdmin(OrgScopedAdmin):
    list_display = ("id", "topic", "aggregate", "aggregate_id", "created_at", "processed_at",
                    "attempts")
    list_filter = ("topic",)
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
