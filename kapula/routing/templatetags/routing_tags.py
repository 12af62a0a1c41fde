"""The availability control in the desk header. It reads the user's own availability from
the session (set when they change it), so showing it costs no database query."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone

register = template.Library()


@register.inclusion_tag("routing/_availability.html", takes_context=True)
def availability_control(context: Any) -> dict[str, Any]:
    request = context.get("request")
    state = request.session.get("kapula_availability") if request is not None else None
    away = False
    until = None
    if isinstance(state, dict) and state.get("status") == "away":
        away = True
        if state.get("until"):
            try:
                until = dt.datetime.fromisoformat(state["until"])
            except ValueError:
                until = None
            if until is not None and until <= timezone.now():
                away, until = False, None
    return {"away": away, "until": until, "request": request,
            "csrf_token": context.get("csrf_token")}
