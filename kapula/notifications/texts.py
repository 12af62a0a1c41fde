"""The text of a notification, written in the active language when it is shown or mailed
(notifications store only untranslated parameters)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from kapula.notifications.models import Kind, Notification


def _metric(value: Any) -> str:
    from kapula.sla.models import Metric

    return str(dict(Metric.choices).get(str(value), str(value or "")))


def describe(n: Notification) -> str:
    """One sentence about ``n`` in the active language."""
    p: dict[str, Any] = n.params or {}
    values = {"number": p.get("number", ""), "title": p.get("title", "")}
    if n.kind == Kind.ASSIGNED:
        return _("%(number)s was assigned to you: %(title)s") % values
    if n.kind == Kind.CUSTOMER_REPLY:
        return _("The customer replied on %(number)s: %(title)s") % values
    if n.kind == Kind.SLA_WARNING:
        return _("%(metric)s target of %(number)s is near (%(threshold)s%% used): "
                 "%(title)s") % {**values, "metric": _metric(p.get("metric")),
                                 "threshold": p.get("threshold", "?")}
    if n.kind == Kind.SLA_BREACHED:
        return _("%(metric)s target of %(number)s is breached: %(title)s") % {
            **values, "metric": _metric(p.get("metric"))}
    if n.kind == Kind.ROUTING:
        return _("Routing rule “%(rule)s” sent you %(number)s: %(title)s") % {
            **values, "rule": p.get("rule", "")}
    if n.kind == Kind.ESCALATED:
        text = _("%(number)s was escalated to your team: %(title)s") % values
        if p.get("reason"):
            text += " — " + _("Reason: %(reason)s") % {"reason": p["reason"]}
        return text
    return f"{values['number']}: {values['title']}"
