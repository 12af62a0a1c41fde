"""Admin for the knowledge base. Org admins see only their own organisation's articles
(``OrgScopedAdmin``). Articles are written in the workspace (/kb/), where the actions keep
the language versions, the history and the search index in step; here an admin can look
at them, change an article's settings (through ``actions.update_article``) or delete one.
Feedback is a log: shown, never written here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kapula.core.admin import OrgScopedAdmin, user_org_id
from kapula.core.errors import ActionError
from kapula.core.models import Unit
from kapula.kb import actions, search
from kapula.kb.models import Article, ArticleFeedback, ArticleTranslation


class ArticleTranslationInline(admin.TabularInline):
    model = ArticleTranslation
    extra = 0
    can_delete = False
    fields = ("language", "title", "status", "version", "source_version", "updated_by",
              "updated_at", "published_at")
    readonly_fields = fields
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return bool(user.is_active and (user.is_superuser or user.is_staff))


@admin.register(Article)
class ArticleAdmin(OrgScopedAdmin):
    list_display = ("__str__", "title", "audience", "category", "review_due", "is_archived",
                    "helpful_count", "not_helpful_count", "deflection_count", "updated_at")
    list_filter = ("audience", "is_archived", "original_language")
    search_fields = ("translations__title",)
    list_select_related = ("category",)
    date_hierarchy = "updated_at"
    fields = ("organisation", "category", "audience", "units", "review_due", "is_archived",
              "original_language", "source_ticket", "created_by", "created_at", "updated_at",
              "helpful_count", "not_helpful_count", "deflection_count", "version")
    readonly_fields = ("original_language", "source_ticket", "created_by", "created_at",
                       "updated_at", "helpful_count", "not_helpful_count", "deflection_count",
                       "version")
    filter_horizontal = ("units",)
    inlines = (ArticleTranslationInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).prefetch_related("translations")

    @admin.display(description=_("title"))
    def title(self, obj: Article) -> str:
        by_lang = {t.language: t.title for t in obj.translations.all()}
        return by_lang.get(obj.original_language) or next(iter(by_lang.values()), "")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_fields(request, obj)
        return fields if request.user.is_superuser else [f for f in fields
                                                         if f != "organisation"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # the organisation of an existing article never changes
        extra = ("organisation",) if obj is not None and request.user.is_superuser else ()
        return (*self.readonly_fields, *extra)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # new articles are written in the workspace (/kb/new/)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest,
                                 **kwargs: Any) -> Any:
        if db_field.name == "units" and not request.user.is_superuser:
            kwargs["queryset"] = Unit.objects.filter(organisation_id=user_org_id(request) or 0)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Settings go through the action (validation, history event, search index)."""
        obj._kb_admin_form = form

    def save_related(self, request: HttpRequest, form: Any, formsets: Any,
                     change: bool) -> None:
        article = Article.objects.get(pk=form.instance.pk)
        d = form.cleaned_data
        changes = {key: d[key] for key in ("category", "audience", "review_due", "is_archived")
                   if key in form.changed_data}
        if "units" in form.changed_data or "audience" in changes:
            changes["units"] = list(d.get("units") or [])
        if not changes:
            return
        try:
            actions.update_article(actor=request.user,  # type: ignore[arg-type]
                                   article=article, changes=changes)
        except ActionError as exc:
            messages.error(request, exc.message)

    def construct_change_message(self, request: HttpRequest, form: Any, formsets: Any,
                                 add: bool = False) -> Any:
        return super().construct_change_message(request, form, [], add)  # inline: read-only

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        search.delete_article(obj.pk)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for pk in list(queryset.values_list("pk", flat=True)):
            search.delete_article(pk)
        super().delete_queryset(request, queryset)


@admin.register(ArticleFeedback)
class ArticleFeedbackAdmin(OrgScopedAdmin):
    list_display = ("created_at", "article", "language", "context", "service_code", "helpful",
                    "comment")
    list_filter = ("context", "helpful", "language")
    search_fields = ("comment", "service_code")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
