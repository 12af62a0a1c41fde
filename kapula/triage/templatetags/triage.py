"""The triage box on the agent's ticket page: ``{% load triage %}{% triage_suggestions %}``.

It reads what the ticket page already loaded (the ticket, its conversation, the choices of
the properties form), so it adds one query: the check that the cached models are current.
"""

from __future__ import annotations

import logging
from typing import Any

from django import template

from kapula.tickets.models import ACTIVE_STATUSES, MessageKind
from kapula.triage import queries
from kapula.triage.models import Target

register = template.Library()
log = logging.getLogger("kapula.triage")


def _choices(form: Any, name: str) -> dict[int, str]:
    field = form.fields.get(name) if form is not None else None
    if field is None:
        return {}
    out: dict[int, str] = {}
    for value, label in field.choices:
        if value not in ("", None):
            out[int(value)] = str(label)
    return out


@register.inclusion_tag("triage/_suggestions.html", takes_context=True)
def triage_suggestions(context: Any) -> dict[str, Any]:
    ticket = context.get("ticket")
    if ticket is None or ticket.status not in ACTIVE_STATUSES or ticket.merged_into_id:
        return {"rows": []}
    first = next((m for m in context.get("conversation", [])
                  if m.kind == MessageKind.INBOUND), None)
    try:
        found = queries.suggest(ticket.organisation_id, ticket.title,
                                first.body_text if first is not None else "")
    except Exception:  # a model that cannot be loaded must not break the ticket page
        log.exception("triage suggestions failed for ticket %s", ticket.pk)
        return {"rows": []}
    form = context.get("properties_form")
    rows = []
    for target in (Target.CATEGORY, Target.TEAM):
        s = found.get(target)
        if s is None:
            continue
        # only what the agent could choose now (active, same organisation), by its name now
        label = _choices(form, target).get(s.value_id)
        if label is None:
            continue
        rows.append({"target": target, "target_label": Target(target).label, "label": label,
                     "value_id": s.value_id, "percent": s.percent,
                     "current": getattr(ticket, f"{target}_id") == s.value_id})
    return {"rows": rows, "ticket": ticket, "csrf_token": context.get("csrf_token")}
