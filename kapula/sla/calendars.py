"""Which schedule applies: a team's own calendar, else its organisation's, else 24/7.

Schedules are cached per process (``tickets.config``: cleared when the admin saves, else
renewed within its TTL) and keyed by calendar version, so a day's open intervals are
computed once per calendar version and reused across requests.
"""

from __future__ import annotations

import datetime as dt
import threading

from django.utils import timezone

from kapula.sla.business_time import ALWAYS_OPEN, Schedule, add, add_business_days
from kapula.tickets import config

_lock = threading.Lock()
#: (calendar id, version, updated) -> schedule; survives config.invalidate() so that the computed
#: days are kept while the calendar itself is unchanged
_SCHEDULES: dict[tuple[int, int, dt.datetime], Schedule] = {}


def _load(organisation_id: int) -> dict[int | None, Schedule]:
    from kapula.sla.models import Calendar, Closure, ExtraOpening, ServiceHours

    calendars = list(Calendar.objects.filter(organisation_id=organisation_id).values_list(
        "pk", "team_id", "version", "time_zone", "public_holidays", "updated_at"))
    if not calendars:
        return {}
    ids = [c[0] for c in calendars]
    missing = [c for c in calendars if (c[0], c[2], c[5]) not in _SCHEDULES]
    if missing:
        want = [c[0] for c in missing]
        hours: dict[int, list[tuple[int, dt.time, dt.time]]] = {i: [] for i in want}
        for cid, wd, s, e in ServiceHours.objects.filter(calendar_id__in=want).values_list(
                "calendar_id", "weekday", "start", "end"):
            hours[cid].append((wd, s, e))
        closed: dict[int, list[tuple[dt.date, dt.time | None, dt.time | None]]] = {
            i: [] for i in want}
        for cid, d, cs, ce in Closure.objects.filter(calendar_id__in=want).values_list(
                "calendar_id", "date", "start", "end"):
            closed[cid].append((d, cs, ce))
        extra: dict[int, list[tuple[dt.date, dt.time, dt.time]]] = {i: [] for i in want}
        for cid, d, s, e in ExtraOpening.objects.filter(calendar_id__in=want).values_list(
                "calendar_id", "date", "start", "end"):
            extra[cid].append((d, s, e))
        with _lock:
            for pk, _team, version, tz, public, updated in missing:
                _SCHEDULES[(pk, version, updated)] = Schedule.build(
                    time_zone=tz, hours=hours[pk], closures=closed[pk], openings=extra[pk],
                    public_holidays=public)
            if len(_SCHEDULES) > 1000:
                keep = {(c[0], c[2], c[5]) for c in calendars}
                for key in [k for k in _SCHEDULES if k not in keep and k[0] in ids]:
                    del _SCHEDULES[key]
    return {team: _SCHEDULES[(pk, version, updated)]
            for pk, team, version, _tz, _p, updated in calendars}


def schedules(organisation_id: int) -> dict[int | None, Schedule]:
    """Team id (None: the organisation) -> schedule, for one organisation."""
    return config.cached("sla_calendars", organisation_id, lambda: _load(organisation_id))


def schedule_for(organisation_id: int, team_id: int | None) -> Schedule:
    found = schedules(organisation_id)
    if not found:
        return ALWAYS_OPEN
    return found.get(team_id) or found.get(None) or ALWAYS_OPEN


def expected_due(*, organisation_id: int, team_id: int | None = None,
                 business_days: int | None = None, business_hours: float | None = None,
                 start: dt.datetime | None = None) -> dt.datetime:
    """When a matter received ``start`` (now) is due "in N business days" (the end of the
    N-th service day after today) or "in N business hours", by the team's calendar."""
    schedule = schedule_for(organisation_id, team_id)
    start = start or timezone.now()
    if business_hours is not None:
        return add(schedule, start, business_hours * 60)
    return add_business_days(schedule, start, business_days or 0)
