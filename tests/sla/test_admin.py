"""Calendars and SLA policies in the admin: org admins, their own organisation only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from kapula.sla.calendars import schedule_for
from kapula.sla.models import Calendar, SlaPolicy


def inline(prefix: str, rows: list[dict[str, str]]) -> dict[str, str]:
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}
    for i, row in enumerate(rows):
        data.update({f"{prefix}-{i}-{k}": v for k, v in row.items()})
    return data


def test_org_admin_creates_calendar_with_hours_and_closures(client, world):
    client.force_login(world.org_admin)
    schedule_for(world.org.pk, None)  # cached as "24/7" before the calendar exists
    data = {"name": "Virka-aika", "team": "", "time_zone": "Europe/Helsinki",
            "public_holidays": "on",
            **inline("hours", [{"weekday": str(d), "start": "07:30", "end": "16:00"}
                               for d in range(5)]),
            **inline("closures", [{"date": "2026-12-31", "start": "12:00", "end": "00:00",
                                   "reason": "Uudenvuodenaatto"}]),
            **inline("openings", [])}
    response = client.post(reverse("admin:sla_calendar_add"), data)
    assert response.status_code == 302, response.content[:2000]
    cal = Calendar.objects.get()
    assert cal.organisation == world.org and cal.hours.count() == 5
    schedule = schedule_for(world.org.pk, None)  # the admin cleared the cache
    assert schedule.local_spans(dt.date(2026, 12, 31)) == [(450, 720)]


def test_bad_time_zone_and_thresholds_are_form_errors(client, world):
    client.force_login(world.org_admin)
    data = {"name": "X", "team": "", "time_zone": "Mars/Olympus",
            **inline("hours", []), **inline("closures", []), **inline("openings", [])}
    response = client.post(reverse("admin:sla_calendar_add"), data)
    assert response.status_code == 200 and b"Mars/Olympus" in response.content
    response = client.post(reverse("admin:sla_slapolicy_add"), {
        "name": "P", "ordering": "0", "is_active": "on", "first_response_minutes": "60",
        "pause_statuses": '["pending_customer"]', "warning_thresholds": '[150]'})
    assert response.status_code == 200
    assert not SlaPolicy.objects.exists()


def test_policy_conditions_limited_to_own_org(client, world):
    client.force_login(world.org_admin)
    response = client.post(reverse("admin:sla_slapolicy_add"), {
        "name": "P", "ordering": "0", "is_active": "on", "first_response_minutes": "60",
        "unit": str(world.unit.pk),
        "pause_statuses": '["pending_customer"]', "warning_thresholds": "[80]"})
    assert response.status_code == 302
    assert SlaPolicy.objects.get().organisation == world.org
    SlaPolicy.objects.create(organisation=world.other_org, name="Oulun taso")
    listing = client.get(reverse("admin:sla_slapolicy_changelist"))
    assert b"Oulun taso" not in listing.content


@pytest.mark.parametrize("page", ["sla_calendar", "sla_slapolicy", "sla_slaclock"])
def test_pages_load_and_agents_are_kept_out(client, world, page):
    client.force_login(world.org_admin)
    assert client.get(reverse(f"admin:{page}_changelist")).status_code == 200
    client.force_login(world.agent)
    assert client.get(reverse(f"admin:{page}_changelist")).status_code in (302, 403)
