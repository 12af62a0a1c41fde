"""Read-only configuration: teams, categories and ticket types (names in fi/sv/en)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from kapula.api import serialise as out
from kapula.api.schemas import CategoryOut, TeamOut, TypeOut
from kapula.api.tickets import ERRORS, organisation_of
from kapula.core.models import Team, User
from kapula.tickets.models import Category, TicketType

router = Router(tags=["configuration"])


@router.get("/teams", response={200: list[TeamOut], **ERRORS}, summary="List teams")
def list_teams(request: HttpRequest) -> list[dict[str, Any]]:
    user: User = request.auth  # type: ignore[attr-defined]
    org = organisation_of(user)
    return [
        {"id": t.pk, "slug": t.slug, "name": t.name, "names": out.names(t), "tier": t.tier,
         "unit": t.unit_id}
        for t in Team.objects.filter(organisation=org, is_active=True).order_by("name_fi", "id")
    ]


@router.get("/categories", response={200: list[CategoryOut], **ERRORS},
            summary="List categories")
def list_categories(request: HttpRequest) -> list[dict[str, Any]]:
    """The category tree as a flat list; `parent` links a category to its parent."""
    user: User = request.auth  # type: ignore[attr-defined]
    org = organisation_of(user)
    return [
        {"id": c.pk, "parent": c.parent_id, "name": c.name, "names": out.names(c),
         "default_team": c.default_team_id}
        for c in Category.objects.filter(organisation=org, is_active=True)
        .order_by("name_fi", "id")
    ]


@router.get("/types", response={200: list[TypeOut], **ERRORS}, summary="List ticket types")
def list_types(request: HttpRequest) -> list[dict[str, Any]]:
    user: User = request.auth  # type: ignore[attr-defined]
    org = organisation_of(user)
    return [
        {"id": t.pk, "code": t.code, "name": t.name, "names": out.names(t)}
        for t in TicketType.objects.filter(organisation=org, is_active=True)
        .order_by("ordering", "id")
    ]
