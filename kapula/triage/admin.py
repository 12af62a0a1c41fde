"""Admin for triage: the trained models with their measured accuracy (read only; deleting
one turns its suggestions off), and the auto-apply setting. Org admins see their own
organisation only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from kapula.core.admin import OrgScopedAdmin, user_org_id
from kapula.triage.actions import forget_versions
from kapula.triage.models import TriageModel, TriageSettings


@admin.register(TriageModel)
class TriageModelAdmin(OrgScopedAdmin):
    list_display = ("organisation", "target", "version", "trained_at", "n_samples",
                    "accuracy", "class_count")
    list_filter = ("target",)
    fields = ("organisation", "target", "version", "trained_at", "n_samples", "accuracy",
              "metrics_table", "excluded")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # models come from `kapula train_triage`

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).defer("data").select_related("organisation")

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        forget_versions(obj.organisation_id)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        orgs = set(queryset.values_list("organisation_id", flat=True))
        super().delete_queryset(request, queryset)
        for org_id in orgs:
            forget_versions(org_id)

    @admin.display(description=_("accuracy"))
    def accuracy(self, obj: TriageModel) -> str:
        value = (obj.metrics or {}).get("accuracy")
        return f"{value:.1%}" if isinstance(value, (int, float)) else "–"

    @admin.display(description=_("classes"))
    def class_count(self, obj: TriageModel) -> int:
        return len(obj.classes or [])

    @admin.display(description=_("per class on the held-out tickets"))
    def metrics_table(self, obj: TriageModel) -> str:
        per_class = (obj.metrics or {}).get("per_class") or {}
        rows = format_html_join(
            "", "<tr><th scope='row'>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((name, f"{m.get('precision', 0):.2f}", f"{m.get('recall', 0):.2f}",
              f"{m.get('f1', 0):.2f}", m.get("support", 0))
             for name, m in sorted(per_class.items())))
        return format_html(
            "<table><thead><tr><th scope='col'>{}</th><th scope='col'>{}</th>"
            "<th scope='col'>{}</th><th scope='col'>{}</th><th scope='col'>{}</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            _("class"), _("precision"), _("recall"), _("f1"), _("tickets"), rows)

    @admin.display(description=_("left out (too few tickets)"))
    def excluded(self, obj: TriageModel) -> str:
        left = (obj.metrics or {}).get("excluded") or {}
        return ", ".join(f"{k} ({v})" for k, v in sorted(left.items())) or "–"


@admin.register(TriageSettings)
class TriageSettingsAdmin(OrgScopedAdmin):
    list_display = ("organisation", "auto_apply", "threshold")

    def has_add_permission(self, request: HttpRequest) -> bool:
        """One row per organisation: an org admin whose row exists edits it instead."""
        if not super().has_add_permission(request):
            return False
        org_id = user_org_id(request)
        return bool(request.user.is_superuser or (org_id is not None and not
                    TriageSettings.objects.filter(organisation_id=org_id).exists()))
