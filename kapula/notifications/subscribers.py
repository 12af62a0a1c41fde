"""The outbox subscriber that turns ticket events into notifications to agents."""

from __future__ import annotations

from kapula.core.models import OutboxEvent
from kapula.core.outbox import subscriber
from kapula.notifications.actions import TOPICS, notify_for_event


@subscriber("notifications", *TOPICS)
def on_event(event: OutboxEvent) -> None:
    notify_for_event(event)
