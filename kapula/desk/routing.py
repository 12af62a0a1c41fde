"""Agents' availability in the desk: the header control (mark yourself available or away)
and the team availability page (team leads see their members, admins everyone)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kapula.core.errors import ActionError
from kapula.core.models import Membership, Role, Team, User
from kapula.routing.actions import set_availability
from kapula.routing.models import Availability, AvailabilityStatus

#: the session mirrors the user's own availability, so the header costs no query
SESSION_KEY = "kapula_availability"
AWAY_HOURS = {"1": 1, "2": 2, "4": 4, "8": 8}


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return "/"


@login_required
@require_POST
def availability_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    status = request.POST.get("status", "")
    hours = request.POST.get("hours", "")
    if status not in AvailabilityStatus.values or (hours and hours not in AWAY_HOURS):
        messages.error(request, _("Choose available or away."))
        return redirect(_back(request))
    until = timezone.now() + dt.timedelta(hours=AWAY_HOURS[hours]) \
        if hours and status == AvailabilityStatus.AWAY else None
    try:
        row = set_availability(actor=user, user=user,
                               available=status == AvailabilityStatus.AVAILABLE,
                               away_until=until)
    except ActionError as exc:
        messages.error(request, exc.message)
        return redirect(_back(request))
    request.session[SESSION_KEY] = {
        "status": row.status, "until": row.away_until.isoformat() if row.away_until else ""}
    messages.success(request, _("You are now available for new tickets.")
                     if row.status == AvailabilityStatus.AVAILABLE
                     else _("You are now away: new tickets are not assigned to you."))
    return redirect(_back(request))


def _visible_teams(user: User) -> list[Team]:
    teams = Team.objects.filter(organisation_id=user.organisation_id or 0, is_active=True)
    if user.role != Role.ORG_ADMIN:
        teams = teams.filter(memberships__user=user, memberships__is_lead=True)
    return list(teams.order_by("name_fi", "id"))


@login_required
@require_GET
def team_availability_view(request: HttpRequest) -> HttpResponse:
    """Leads see the members of the teams they lead; org admins every team."""
    user: User = request.user  # type: ignore[assignment]
    teams = _visible_teams(user)
    rows: dict[int, list[dict[str, Any]]] = {t.pk: [] for t in teams}
    now = timezone.now()
    for m in (Membership.objects.filter(team_id__in=list(rows), user__is_active=True)
              .select_related("user__availability").order_by("user__first_name", "user_id")):
        avail = getattr(m.user, "availability", None)
        rows[m.team_id].append({
            "user": m.user, "is_lead": m.is_lead,
            "available": avail is None or avail.is_available(now),
            "until": avail.away_until if avail is not None and not avail.is_available(now)
            else None,
        })
    own = Availability.objects.filter(user=user).first()
    return render(request, "desk/team_availability.html", {
        "title": _("Team availability"),
        "away": own is not None and not own.is_available(now),
        "teams": [(t, rows[t.pk]) for t in teams],
    })
