"""Admin: the digest mail queue (read only), so org admins see waiting and failed digests
of their organisation and can put failed ones back in the queue."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kapula.core.admin import OrgScopedAdmin
from kapula.notifications.models import DigestEmail, DigestStatus


@admin.register(DigestEmail)
class DigestEmailAdmin(OrgScopedAdmin):
    list_display = ("created_at", "to", "subject", "count", "status", "attempts", "sent_at")
    list_filter = ("status",)
    search_fields = ("to", "subject")
    readonly_fields = ("recipient", "to", "language", "subject", "body_text", "count",
                       "status", "attempts", "next_attempt_at", "last_error", "created_at",
                       "sent_at")
    fields = readonly_fields
    actions = ("retry",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Try sending again"))
    def retry(self, request: HttpRequest, queryset: QuerySet[DigestEmail]) -> None:
        count = queryset.filter(status__in=[DigestStatus.QUEUED, DigestStatus.FAILED]).update(
            status=DigestStatus.QUEUED, next_attempt_at=timezone.now(), attempts=0)
        self.message_user(request, _("%(count)d digests queued again.") % {"count": count},
                          messages.SUCCESS)
