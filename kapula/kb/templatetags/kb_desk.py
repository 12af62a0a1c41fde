"""The knowledge base on the agent's ticket page: ``{% load kb_desk %}``.

``{% kb_suggestions ticket %}`` is the "Suggested articles" panel; it runs no query (htmx
loads the articles from /kb/suggest/ticket/<id>/ after the page). ``{% kb_make_article
ticket %}`` is the "Make an article" button of resolved and closed tickets.
"""

from __future__ import annotations

from typing import Any

from django import template

from kapula.tickets.models import Status

register = template.Library()


@register.inclusion_tag("kb/_ticket_panel.html", takes_context=True)
def kb_suggestions(context: Any, ticket: Any) -> dict[str, Any]:
    return {"ticket": ticket, "csp_nonce": context.get("csp_nonce")}


@register.inclusion_tag("kb/_from_ticket.html", takes_context=True)
def kb_make_article(context: Any, ticket: Any) -> dict[str, Any]:
    shown = ticket.status in (Status.RESOLVED, Status.CLOSED) and not ticket.merged_into_id
    return {"ticket": ticket if shown else None, "csrf_token": context.get("csrf_token")}
