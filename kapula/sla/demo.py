"""Demo data: office hours Mon-Fri 8-16 and three policies for the demo city (called from
``kapula demo_data``), and clocks rebuilt for the back-dated demo tickets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils import timezone

from kapula.core.models import Organisation
from kapula.sla import clocks as C
from kapula.sla.calendars import schedule_for
from kapula.sla.models import Calendar, Closure, Metric, ServiceHours, SlaClock, SlaPolicy
from kapula.tickets import config
from kapula.tickets.models import Ticket

POLICIES = [
    # name, priority, first response, next response, resolution (business minutes)
    ("Perustaso", None, 480, 480, 2400),
    ("Kiireelliset (korkea)", 2, 240, 240, 960),
    ("Kriittiset", 1, 60, 120, 480),
]


def ensure_demo_sla(org: Organisation) -> None:
    cal, created = Calendar.objects.get_or_create(
        organisation=org, team=None, defaults={"name": "Virka-aika ma-pe 8-16"})
    if created:
        ServiceHours.objects.bulk_create([
            ServiceHours(calendar=cal, weekday=d, start=dt.time(8), end=dt.time(16))
            for d in range(5)])
        year = timezone.localdate().year
        Closure.objects.create(calendar=cal, date=dt.date(year, 12, 31), start=dt.time(12),
                               end=dt.time(0), reason="Uudenvuodenaatto")
    for name, priority, first, nxt, resolution in POLICIES:
        SlaPolicy.objects.get_or_create(
            organisation=org, name=name,
            defaults={"priority": priority, "first_response_minutes": first,
                      "next_response_minutes": nxt, "resolution_minutes": resolution})
    config.invalidate(org.pk)


def rebuild_clocks(ticket_ids: Sequence[int]) -> None:
    """Demo tickets are moved into the past after they were created: start their clocks
    again from the back-dated times (first reply, resolution), without pauses."""
    now = timezone.now()
    SlaClock.objects.filter(ticket_id__in=ticket_ids).delete()
    tickets = list(Ticket.objects.filter(pk__in=ticket_ids))
    new: list[SlaClock] = []
    summaries: list[Ticket] = []
    for t in tickets:
        policy = C.match(t)
        if policy is None:
            continue
        schedule = schedule_for(t.organisation_id, t.team_id)
        made = []
        for metric, stopped in ((Metric.FIRST_RESPONSE, t.first_response_at),
                                (Metric.RESOLUTION, t.resolved_at)):
            clock = C.new_clock(t, policy, metric, schedule, stopped or now,
                                started_at=t.created_at)
            if clock is None:
                continue
            if stopped is not None:
                C.stop(clock, schedule, stopped)
            elif t.status in policy.pause_statuses:
                C.pause(clock, schedule, now)
            made.append(clock)
        new += made
        t.sla_due_at, t.sla_state = C.summary(made)
        summaries.append(t)
    SlaClock.objects.bulk_create(new, batch_size=500)
    Ticket.objects.bulk_update(summaries, ["sla_due_at", "sla_state"], batch_size=500)
