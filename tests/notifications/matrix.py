"""Helpers for the permission matrix (tests/test_permissions.py): a notification of the
lead's, made once per test."""

from __future__ import annotations

from typing import Any

from kapula.notifications.models import Kind, Notification


def lead_notification_id(c: Any) -> int:
    if "notification" not in c.__dict__:
        n = Notification.objects.create(
            organisation=c.world.org, recipient=c.world.lead, kind=Kind.ASSIGNED,
            ticket=c.ticket, event_id=-1, params={"number": c.ticket.number, "title": "x"})
        c.__dict__["notification"] = n.pk
    return int(c.__dict__["notification"])
