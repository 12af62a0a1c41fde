"""Automatic triage runs after intake, from the outbox: intake stays fast and unchanged."""

from __future__ import annotations

from kapula.core.models import OutboxEvent
from kapula.core.outbox import subscriber
from kapula.triage import actions


@subscriber("triage-auto-apply", "ticket.created")
def apply_to_new_ticket(event: OutboxEvent) -> None:
    actions.auto_apply(ticket_id=event.aggregate_id, organisation_id=event.organisation_id)
