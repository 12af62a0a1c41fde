"""Admin for Open311 client applications: org admins see and manage the clients of their
own organisation. A new client's key is shown once, right after it was created."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kapula.core.admin import OrgScopedAdmin
from kapula.core.models import Organisation, User
from kapula.intake.open311 import cache
from kapula.intake.open311.actions import create_client
from kapula.intake.open311.models import Open311Client


@admin.register(Open311Client)
class Open311ClientAdmin(OrgScopedAdmin):
    list_display = ("name", "organisation", "prefix", "is_active", "created_at",
                    "last_used_at")
    list_filter = ("is_active",)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_at", "last_used_at")
    # a key cannot be changed or shown again: deactivate the client and create a new one

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("organisation")
        return fields

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        cache.forget()  # a deactivated client is refused at once in this process
        if change:
            super().save_model(request, obj, form, change)
            return
        actor = request.user
        assert isinstance(actor, User)  # the admin requires a logged-in staff user
        org: Organisation | None = (obj.organisation if actor.is_superuser and
                                    obj.organisation_id else actor.organisation)
        if org is None:
            raise PermissionError("no organisation")
        client, raw = create_client(actor=actor, organisation=org, name=obj.name,
                                    notes=obj.notes)
        obj.pk = client.pk
        obj.__dict__.update({k: v for k, v in client.__dict__.items() if k != "_state"})
        obj._state.adding = False
        messages.warning(request, _(
            "The API key of %(name)s is shown only now; copy it to the application: %(key)s")
            % {"name": client.name, "key": raw})

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        cache.forget()
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        cache.forget()
        super().delete_queryset(request, queryset)
