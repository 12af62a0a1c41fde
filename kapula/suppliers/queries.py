"""Reads of the escalation panel: what a ticket can be handed to, and its hand-overs."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from kapula.core.models import Team, Tier
from kapula.suppliers.models import Escalation, Supplier, SupplierEngagement
from kapula.tickets import config
from kapula.tickets.models import Ticket


def _teams(org_id: int) -> list[Team]:
    return config.cached("escalation_teams", org_id, lambda: list(
        Team.objects.filter(organisation_id=org_id, is_active=True).order_by("name_fi")))


def _suppliers(org_id: int) -> list[tuple[Supplier, frozenset[int]]]:
    return config.cached("escalation_suppliers", org_id, lambda: [
        (s, frozenset(t.pk for t in s.teams.all()))
        for s in Supplier.objects.filter(organisation_id=org_id, is_active=True)
        .prefetch_related("teams").order_by("name")])


def tier_label(tier: str) -> str:
    try:
        return str(Tier(tier).label)
    except ValueError:
        return tier


def team_choices(ticket: Ticket, *, exclude_current: bool = True) -> list[tuple[int, str]]:
    """Active teams of the ticket's organisation, with their tier (cached per process)."""
    return [(t.pk, f"{t.name} ({tier_label(t.tier)})") for t in _teams(ticket.organisation_id)
            if not (exclude_current and t.pk == ticket.team_id)]


def supplier_choices(ticket: Ticket) -> list[tuple[int, str]]:
    """Active suppliers offered to the ticket's team and not already working on it."""
    busy = {e.supplier_id for e in engagements(ticket) if e.is_active}
    return [(s.pk, s.name) for s, teams in _suppliers(ticket.organisation_id)
            if (not teams or ticket.team_id in teams) and s.pk not in busy]


def team_of(ticket: Ticket, team_id: int) -> Team | None:
    return Team.objects.filter(organisation_id=ticket.organisation_id, pk=team_id).first()


def supplier_of(ticket: Ticket, supplier_id: int) -> Supplier | None:
    return Supplier.objects.filter(organisation_id=ticket.organisation_id,
                                   pk=supplier_id).first()


def escalations(ticket: Ticket) -> list[Escalation]:
    """The ticket's hand-overs, newest first (at most 50), with their engagements: one
    query, remembered on the ticket object for the rest of the request."""
    cached: list[Escalation] | None = getattr(ticket, "_kapula_escalations", None)
    if cached is None:
        cached = list(Escalation.objects.filter(ticket_id=ticket.pk).select_related(
            "from_team", "to_team", "supplier", "engagement", "engagement__supplier")
            .order_by("-created_at", "-id")[:50])
        ticket._kapula_escalations = cached  # type: ignore[attr-defined]
    return cached


def engagements(ticket: Ticket) -> list[SupplierEngagement]:
    seen: dict[int, SupplierEngagement] = {}
    for esc in escalations(ticket):
        if esc.engagement is not None and esc.engagement.pk not in seen:
            seen[esc.engagement.pk] = esc.engagement
    return list(seen.values())


def latest_arrival(ticket: Ticket) -> Escalation | None:
    """The hand-over that brought the ticket to its current team (or to a supplier), for
    the context shown on top of the conversation."""
    for esc in escalations(ticket):
        if esc.to_team_id == ticket.team_id or (
                esc.engagement is not None and esc.engagement.is_active):
            return esc
    return None


def return_target(ticket: Ticket) -> int | None:
    for esc in escalations(ticket):
        if esc.kind == "escalate" and esc.to_team_id == ticket.team_id and esc.from_team_id:
            return esc.from_team_id
    return None


def describe(esc: Escalation) -> dict[str, Any]:
    if esc.supplier_id:
        target = _("supplier %(name)s") % {"name": esc.supplier.name if esc.supplier else "—"}
    else:
        target = esc.to_team.name if esc.to_team else "—"
    return {"esc": esc, "target": target,
            "source": esc.from_team.name if esc.from_team else "—"}
