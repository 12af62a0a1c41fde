"""Template helpers of the customer portal."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

from kapula.tickets.models import Status

register = template.Library()

#: what the customer reads for each status (the agents' words are about their own work)
CUSTOMER_STATUS = {
    Status.NEW: _("Received"),
    Status.OPEN: _("In progress"),
    Status.PENDING_CUSTOMER: _("Waiting for your reply"),
    Status.PENDING_THIRD_PARTY: _("In progress"),
    Status.RESOLVED: _("Resolved"),
    Status.CLOSED: _("Closed"),
}


@register.filter
def customer_status(status: str) -> str:
    label = CUSTOMER_STATUS.get(status)  # type: ignore[call-overload]
    return str(label) if label is not None else str(status)
