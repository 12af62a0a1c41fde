"""SLA countdowns: a badge for queue rows (from the ticket's own columns, no query) and a
panel for the ticket page (one query for its clocks)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from kapula.sla.business_time import between
from kapula.sla.calendars import schedule_for
from kapula.sla.clocks import TicketState, used_seconds
from kapula.sla.models import ClockState, SlaClock

register = template.Library()


def duration(delta: dt.timedelta) -> str:
    """'2 h 10 min', '35 min', '0 min' (business time)."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    hours, mins = divmod(minutes, 60)
    if hours:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": mins}
    return _("%(minutes)s min") % {"minutes": mins}


def countdown(ticket: Any, now: dt.datetime | None = None) -> tuple[str, str]:
    """(css state, text) for a ticket's nearest SLA deadline, in business time."""
    state = ticket.sla_state
    if state == TicketState.PAUSED:
        return "paused", _("SLA paused")
    if state == TicketState.MET:
        return "met", _("SLA met")
    due = ticket.sla_due_at
    if due is None:
        return ("breached", _("SLA breached")) if state == TicketState.BREACHED else ("", "")
    now = now or timezone.now()
    schedule = schedule_for(ticket.organisation_id, ticket.team_id)
    if due <= now:
        late = between(schedule, due, now)
        if late < dt.timedelta(minutes=1):  # e.g. due at closing time, now after hours
            return "breached", _("SLA breached")
        return "breached", _("overdue %(time)s") % {"time": duration(late)}
    left = _("%(time)s left") % {"time": duration(between(schedule, now, due))}
    return ("breached" if state == TicketState.BREACHED else
            "warning" if state == TicketState.WARNING else "running"), left


MARKS = {"running": "◷", "warning": "⚠", "breached": "✖", "paused": "‖", "met": "✔"}


@register.simple_tag
def sla_badge(ticket: Any) -> SafeString:
    css, text = countdown(ticket)
    if not css:
        return format_html('<span class="muted">{}</span>', "—")
    due = ticket.sla_due_at
    title = (_("due %(when)s") % {"when": timezone.localtime(due).strftime("%d.%m.%Y %H:%M")}
             if due else text)
    return format_html(
        '<span class="sla sla-{}" title="{}"><span aria-hidden="true">{}</span> {}</span>',
        css, title, MARKS.get(css, ""), text)


@register.inclusion_tag("sla/_panel.html")
def sla_panel(ticket: Any) -> dict[str, Any]:
    if not ticket.sla_state:  # never had a clock (or all cancelled): spare the query
        return {"rows": [], "policy": None}
    now = timezone.now()
    clocks = list(SlaClock.objects.filter(ticket_id=ticket.pk).exclude(
        state=ClockState.CANCELLED).select_related("policy").order_by("started_at", "id"))
    schedule = schedule_for(ticket.organisation_id, ticket.team_id) if clocks else None
    rows = []
    for c in clocks:
        assert schedule is not None
        used = used_seconds(c, schedule, now)
        if c.state == ClockState.RUNNING and c.due_at is not None:
            css = "breached" if c.breached or c.due_at <= now else (
                "warning" if c.warnings_sent else "running")
            text = (_("overdue %(time)s") % {"time": duration(between(schedule, c.due_at, now))}
                    if c.due_at <= now else
                    _("%(time)s left") % {"time": duration(between(schedule, now, c.due_at))})
        else:
            css = {"paused": "paused", "met": "met"}.get(str(c.state), "breached")
            text = c.get_state_display()
        rows.append({"clock": c, "css": css, "text": text, "mark": MARKS.get(css, ""),
                     "target": duration(dt.timedelta(minutes=c.target_minutes)),
                     "used": duration(dt.timedelta(seconds=used))})
    return {"rows": rows, "policy": clocks[-1].policy if clocks else None}
