"""Subscribers that ship with the core. Later issues register webhooks, partner
exchange, realtime fan-out and notifications the same way."""

from __future__ import annotations

import json
import logging

from kapula.core.models import OutboxEvent
from kapula.core.outbox import subscriber

audit_log = logging.getLogger("kapula.events")


@subscriber("audit-log", "*")
def write_audit_log(event: OutboxEvent) -> None:
    """One JSON line per domain event on the ``kapula.events`` logger (for log shipping)."""
    audit_log.info(
        json.dumps(
            {"id": event.pk, "topic": event.topic, "aggregate": event.aggregate,
             "aggregate_id": event.aggregate_id, "organisation": event.organisation_id,
             "at": event.created_at.isoformat(), "payload": event.payload},
            ensure_ascii=False, default=str,
        )
    )
