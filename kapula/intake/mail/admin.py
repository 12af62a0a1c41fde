"""Admin for the email channel: mailboxes, templates, the received-mail log (with the
quarantine) and the outgoing queue. Org admins see only their own organisation's rows."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template import TemplateSyntaxError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kapula.core.admin import OrgScopedAdmin
from kapula.intake.mail.ingest import reprocess
from kapula.intake.mail.models import (
    EmailTemplate,
    InboundEmail,
    InboundStatus,
    Mailbox,
    OutboundEmail,
)
from kapula.intake.mail.outbound import PLACEHOLDERS, check_template, retry_now


@admin.register(Mailbox)
class MailboxAdmin(OrgScopedAdmin):
    list_display = ("address", "name", "kind", "team", "language", "is_active",
                    "last_checked_at", "last_error_short")
    list_filter = ("kind", "is_active")
    search_fields = ("address", "name")
    readonly_fields = ("last_checked_at", "last_error")
    fieldsets = (
        (None, {"fields": ("organisation", "name", "address", "kind", "is_active",
                           "is_default_outbound")}),
        (_("New tickets"), {"fields": ("team", "ticket_type", "category", "language",
                                       "send_acknowledgment", "expected_handling_days",
                                       "accept_automated", "rate_limit_per_hour")}),
        (_("IMAP"), {"fields": ("imap_host", "imap_port", "imap_security", "imap_username",
                                "imap_password_env", "imap_folder", "imap_done_folder",
                                "poll_seconds")}),
        (_("Status"), {"fields": ("last_checked_at", "last_error")}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        sets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return sets
        return [(name, {**opts, "fields": [f for f in opts["fields"] if f != "organisation"]})
                for name, opts in sets]

    @admin.display(description=_("last error"))
    def last_error_short(self, obj: Mailbox) -> str:
        return obj.last_error[:80]


class EmailTemplateForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ("kind", "language", "subject", "body")
        help_texts = {
            "body": _("Django template syntax. Available: %(names)s. The ticket number is "
                      "always put in the subject.") % {
                "names": ", ".join("{{ %s }}" % p for p in PLACEHOLDERS)},  # noqa: UP031
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("subject", "body"):
            try:
                check_template(data.get(name) or "")
            except TemplateSyntaxError as exc:
                self.add_error(name, _("The template is not valid: %(error)s") % {
                    "error": exc})
        return data


@admin.register(EmailTemplate)
class EmailTemplateAdmin(OrgScopedAdmin):
    form = EmailTemplateForm
    list_display = ("kind", "language", "subject", "updated_at")
    list_filter = ("kind", "language")


@admin.register(InboundEmail)
class InboundEmailAdmin(OrgScopedAdmin):
    list_display = ("received_at", "mailbox", "sender", "subject", "status", "outcome",
                    "ticket_link", "reason_short")
    # only mailboxes that appear in the (organisation-scoped) rows: never another org's
    list_filter = ("status", "outcome", ("mailbox", admin.RelatedOnlyFieldListFilter), "source")
    search_fields = ("sender", "subject", "msgid", "ticket__number")
    date_hierarchy = "received_at"
    readonly_fields = ("received_at", "mailbox", "msgid", "source", "sender", "recipients",
                       "cc", "subject", "status", "outcome", "auto_kind", "reason",
                       "ticket_link", "size", "sha256", "original")
    exclude = ("raw", "ticket", "message", "organisation")
    actions = ["release"]
    list_select_related = ("mailbox", "ticket")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a log: read it, release from quarantine, or delete

    @admin.display(description=_("ticket"))
    def ticket_link(self, obj: InboundEmail) -> str:
        if obj.ticket_id is None:
            return "–"
        return format_html('<a href="{}">{}</a>', reverse("desk:ticket", args=[obj.ticket_id]),
                           obj.ticket.number if obj.ticket else obj.ticket_id)

    @admin.display(description=_("reason"))
    def reason_short(self, obj: InboundEmail) -> str:
        return obj.reason[:100]

    @admin.display(description=_("original message"))
    def original(self, obj: InboundEmail) -> str:
        return format_html('<a href="{}">{}</a>', reverse("desk:inbound_raw", args=[obj.pk]),
                           _("Download (.eml)"))

    @admin.action(description=_("Take the selected quarantined messages in again"))
    def release(self, request: HttpRequest, queryset: QuerySet[InboundEmail]) -> None:
        done = 0
        for item in queryset.filter(status=InboundStatus.QUARANTINED):
            result = reprocess(item)
            done += 1
            self.message_user(request, f"{item.sender}: {result.outcome} "
                                       f"{result.ticket_number} {result.reason}".strip())
        if not done:
            self.message_user(request, _("None of the selected messages is quarantined."),
                              messages.WARNING)


@admin.register(OutboundEmail)
class OutboundEmailAdmin(OrgScopedAdmin):
    list_display = ("created_at", "kind", "ticket", "recipient", "subject", "status",
                    "attempts", "next_attempt_at", "last_error_short")
    list_filter = ("status", "kind")
    search_fields = ("recipient", "subject", "msgid", "ticket__number")
    date_hierarchy = "created_at"
    actions = ["send_again"]
    list_select_related = ("ticket",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in OutboundEmail._meta.fields]

    @admin.display(description=_("last error"))
    def last_error_short(self, obj: OutboundEmail) -> str:
        return obj.last_error[:80]

    @admin.action(description=_("Try to send the selected mail now"))
    def send_again(self, request: HttpRequest, queryset: QuerySet[OutboundEmail]) -> None:
        count = retry_now(queryset)
        self.message_user(request, ngettext("%(count)d mail queued for sending.",
                                            "%(count)d mails queued for sending.", count)
                          % {"count": count})
