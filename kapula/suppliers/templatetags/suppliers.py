"""The escalation parts of the desk's ticket page: the context of the latest hand-over on
top of the conversation, and the panel with the forms and the supplier engagements. Both
share one query (``queries.escalations``); the form choices come from a per-process cache."""

from __future__ import annotations

from typing import Any

from django import template

from kapula.suppliers import queries
from kapula.suppliers.forms import EngagementForm, SupplierMessageForm
from kapula.tickets.models import Ticket

register = template.Library()


def _bound(context: Any, name: str) -> Any:
    request = context.get("request")
    from kapula.suppliers.views import FORMS_ATTR

    return (getattr(request, FORMS_ATTR, None) or {}).get(name)


@register.inclusion_tag("suppliers/_context.html", takes_context=True)
def escalation_context(context: Any, ticket: Ticket) -> dict[str, Any]:
    latest = queries.latest_arrival(ticket)
    return {"handover": queries.describe(latest) if latest is not None else None}


@register.inclusion_tag("suppliers/_panel.html", takes_context=True)
def escalation_panel(context: Any, ticket: Ticket) -> dict[str, Any]:
    from kapula.suppliers.views import engagement_states, escalate_form, return_form

    open_ticket = ticket.merged_into_id is None and ticket.status not in ("resolved", "closed")
    rows = []
    for eng in queries.engagements(ticket):
        form = _bound(context, f"engagement{eng.pk}") or EngagementForm(
            initial={"reference": eng.reference, "state": eng.state},
            prefix=f"eng{eng.pk}", states=engagement_states(eng))
        note = (_bound(context, f"message{eng.pk}") or SupplierMessageForm(
            prefix=f"msg{eng.pk}")) if eng.is_active else None
        rows.append({"eng": eng, "form": form, "message_form": note})
    returning = queries.return_target(ticket)
    return {
        "ticket": ticket, "csrf_token": context.get("csrf_token"), "open_ticket": open_ticket,
        "escalate_form": _bound(context, "escalate") or escalate_form(ticket),
        "return_form": (_bound(context, "return") or return_form(ticket))
        if returning or _bound(context, "return") else None,
        "engagements": rows,
        "trail": [queries.describe(e) for e in queries.escalations(ticket)[:10]],
    }
