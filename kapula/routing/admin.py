"""Admin for routing rules and team assignment modes. Org admins edit their organisation's
rules; the list shows the order, and the position can be changed in the list itself."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kapula.core.admin import OrgScopedAdmin, user_org_id
from kapula.core.models import Language, Team, User
from kapula.routing.models import Availability, RoutingRule, TeamRouting
from kapula.tickets.models import Channel

WEEKDAYS = [(0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")),
            (4, _("Friday")), (5, _("Saturday")), (6, _("Sunday"))]


class RoutingRuleForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(label=_("channels"), choices=Channel.choices,
                                         required=False, widget=forms.CheckboxSelectMultiple)
    languages = forms.MultipleChoiceField(label=_("languages"), choices=Language.choices,
                                          required=False, widget=forms.CheckboxSelectMultiple)
    weekdays = forms.TypedMultipleChoiceField(label=_("weekdays"), choices=WEEKDAYS,
                                              coerce=int, required=False,
                                              widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = RoutingRule
        fields = ("channels", "languages", "weekdays")  # the admin adds its fieldsets


@admin.register(RoutingRule)
class RoutingRuleAdmin(OrgScopedAdmin):
    form = RoutingRuleForm
    list_display = ("position", "name", "kind", "enabled", "continue_processing", "set_team",
                    "set_urgency")
    list_display_links = ("name",)
    list_editable = ("position", "enabled")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "keywords")
    ordering = ("position", "id")
    filter_horizontal = ("notify",)
    fieldsets = (
        (None, {"fields": ("organisation", "name", ("position", "enabled"), "kind",
                           "continue_processing")}),
        (_("When (all given conditions must hold)"), {"fields": (
            "channels", ("mailbox", "service"), ("if_category", "if_type"), "languages",
            "keywords", "pattern", ("customer_unit", "customer_organisation"),
            ("area_south", "area_west", "area_north", "area_east"), "weekdays",
            ("time_from", "time_to"))}),
        (_("Then"), {"fields": (("set_team", "set_assignee"), ("set_category", "set_type"),
                                ("set_impact", "set_urgency"), "add_tags", "notify")}),
        (_("Out of scope"), {"fields": ("reply_fi", "reply_sv", "reply_en",
                                        ("out_of_scope_action", "forward_email"))}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        sets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return sets
        return [(name, {**opts, "fields": [f for f in opts["fields"] if f != "organisation"]})
                for name, opts in sets]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False,
                 **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        org_id = None if request.user.is_superuser else user_org_id(request)

        class ScopedForm(form):  # type: ignore[valid-type,misc]
            def _post_clean(self) -> None:
                if org_id is not None and not self.instance.organisation_id:
                    self.instance.organisation_id = org_id  # clean() checks against it
                super()._post_clean()

        return ScopedForm

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest,
                                 **kwargs: Any) -> Any:
        if db_field.name == "notify" and not request.user.is_superuser:
            kwargs["queryset"] = User.objects.filter(organisation_id=user_org_id(request) or 0,
                                                     is_active=True)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest,
                                 **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "set_assignee" and field is not None \
                and not request.user.is_superuser:
            field.queryset = User.objects.filter(organisation_id=user_org_id(request) or 0,
                                                 is_active=True)
        return field

    def save_related(self, request: HttpRequest, form: Any, formsets: Any,
                     change: bool) -> None:
        super().save_related(request, form, formsets, change)
        form.instance.save(update_fields=["updated_at"])  # the notify list is part of the rule


@admin.register(TeamRouting)
class TeamRoutingAdmin(OrgScopedAdmin):
    org_field = "team__organisation"
    list_display = ("team", "mode", "last_assignee")
    list_filter = ("mode",)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest,
                                 **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "team" and field is not None and not request.user.is_superuser:
            field.queryset = Team.objects.filter(organisation_id=user_org_id(request) or 0)
        return field


@admin.register(Availability)
class AvailabilityAdmin(OrgScopedAdmin):
    org_field = "user__organisation"
    list_display = ("user", "status", "away_until", "changed_at")
    list_filter = ("status",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("user")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest,
                                 **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "user" and field is not None and not request.user.is_superuser:
            field.queryset = User.objects.filter(organisation_id=user_org_id(request) or 0)
        return field
