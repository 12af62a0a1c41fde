"""The agents' map: tickets with a location as markers and as a table, and the same
tickets as GeoJSON (RFC 7946) for the map script and for download.

The tickets are those of the queue's "all visible" view (:func:`kapula.tickets.queries.queue`,
which starts from the user's scope), filtered by status and category; by default the open
ones (not resolved or closed). At most ``KAPULA_MAP_MAX_TICKETS``, newest first, each page
in a fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from kapula.core.models import User
from kapula.tickets import config, queries
from kapula.tickets.models import Category, Priority, Status, Ticket


class MapFilterForm(forms.Form):
    """GET filters of the map and of its GeoJSON."""

    status = forms.MultipleChoiceField(
        label=gettext_lazy("Status"), required=False, choices=Status.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None chosen: every status except resolved and closed."))
    category = forms.TypedChoiceField(label=gettext_lazy("Category"), required=False,
                                      coerce=int, empty_value=None)

    def __init__(self, *args: Any, category_choices: list[tuple[int, str]],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [  # type: ignore[attr-defined]
            ("", _("All categories")), *category_choices]


def _categories(user: User) -> list[tuple[int, str]]:
    """The organisation's active categories (cached per process with the ticket
    configuration, under the same key as the rest of the workspace)."""
    org_id = user.organisation_id or 0
    cats = config.cached("desk_categories", org_id, lambda: list(
        Category.objects.filter(organisation_id=org_id, is_active=True)))
    return [(c.pk, c.name) for c in cats]


@dataclass
class MapTickets:
    form: MapFilterForm
    tickets: list[Ticket]
    truncated: bool
    limit: int
    #: the filters as a query string ("" for the defaults): for the GeoJSON address
    query: str


def map_tickets(request: HttpRequest) -> MapTickets:
    """The visible tickets with a location that match the request's filters (invalid
    filters count as none: the caller decides whether to say so)."""
    user: User = request.user  # type: ignore[assignment]
    form = MapFilterForm(request.GET or None, category_choices=_categories(user))
    flt = queries.TicketFilter(active_only=True)
    params: list[tuple[str, Any]] = []
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        category = d.get("category")
        flt = queries.TicketFilter(statuses=d["status"], active_only=True,
                                   categories=[category] if category else [])
        params = [("status", s) for s in d["status"]]
        if category:
            params.append(("category", category))
    limit = max(1, settings.KAPULA_MAP_MAX_TICKETS)
    qs = (queries.apply_filter(queries.queue(user, "all"), flt)
          .filter(latitude__isnull=False, longitude__isnull=False)
          .select_related("category")
          .only("id", "number", "title", "status", "priority", "created_at", "latitude",
                "longitude", "etrs_n", "etrs_e", "category__name_fi",
                "category__name_sv", "category__name_en")
          .order_by("-created_at", "-id"))
    rows = list(qs[: limit + 1])
    return MapTickets(form, rows[:limit], len(rows) > limit, limit, urlencode(params))


def feature(ticket: Ticket, url: str) -> dict[str, Any]:
    """One ticket as a GeoJSON Feature: a WGS84 point, longitude first (RFC 7946)."""
    return {
        "type": "Feature",
        "id": ticket.number,
        "geometry": {"type": "Point",
                     "coordinates": [round(ticket.longitude or 0.0, 7),
                                     round(ticket.latitude or 0.0, 7)]},
        "properties": {
            "number": ticket.number,
            "title": ticket.title,
            "status": ticket.status,
            "status_label": str(Status(ticket.status).label),
            "category": ticket.category.name if ticket.category else None,
            "priority": ticket.priority,
            "priority_label": str(Priority(ticket.priority).label)
            if ticket.priority in Priority.values else str(ticket.priority),
            "created": timezone.localtime(ticket.created_at).isoformat(),
            "etrs_n": ticket.etrs_n,
            "etrs_e": ticket.etrs_e,
            "url": url,
        },
    }


@login_required
@require_GET
def map_view(request: HttpRequest) -> HttpResponse:
    found = map_tickets(request)
    geojson_url = reverse("desk:map_geojson") + (f"?{found.query}" if found.query else "")
    return render(request, "desk/map.html", {
        "title": _("Map"), "form": found.form, "tickets": found.tickets,
        "truncated": found.truncated, "limit": found.limit, "geojson_url": geojson_url,
        "filtered": bool(found.query),
    })


@login_required
@require_GET
def geojson_view(request: HttpRequest) -> JsonResponse:
    found = map_tickets(request)
    if found.form.is_bound and not found.form.is_valid():
        return JsonResponse({
            "code": "invalid_filter", "message": _("Check the filters."),
            "fields": {name: [str(e) for e in errors]
                       for name, errors in found.form.errors.items()},
        }, status=400)
    base = request.build_absolute_uri("/").rstrip("/")
    data = {
        "type": "FeatureCollection",
        "features": [feature(t, base + reverse("desk:ticket", args=[t.pk]))
                     for t in found.tickets],
        # foreign members (RFC 7946 section 6.1): the list may have been cut
        "truncated": found.truncated,
        "limit": found.limit,
    }
    response = JsonResponse(data, content_type="application/geo+json",
                            json_dumps_params={"ensure_ascii": False})
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="kapula-tickets-{stamp}.geojson"'
    response["Cache-Control"] = "private, no-store"
    return response
