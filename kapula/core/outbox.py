"""The event outbox: actions record events in their transaction; a task delivers them.

* ``emit()`` inserts an :class:`OutboxEvent` row inside the caller's transaction, so an
  event exists exactly when the change it describes was committed.
* After commit a delivery task is scheduled (at most one pending per process at a time:
  a task that runs later than a commit always sees that commit's events).
* ``deliver_pending()`` claims undelivered events (``SKIP LOCKED`` on PostgreSQL) and hands
  each to every subscriber whose topic pattern matches. A subscriber that fails is retried
  later without re-running the ones that already succeeded (:class:`OutboxDelivery`).

Subscribers are registered in code with :func:`subscriber`.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.tasks import default_task_backend, task
from django.utils import timezone

from kapula.core.db import insert_objects
from kapula.core.models import OutboxDelivery, OutboxEvent

log = logging.getLogger("kapula.outbox")

Handler = Callable[[OutboxEvent], None]


@dataclass(frozen=True)
class Subscriber:
    name: str
    patterns: tuple[str, ...]
    handler: Handler

    def wants(self, topic: str) -> bool:
        return any(fnmatch.fnmatchcase(topic, p) for p in self.patterns)


_SUBSCRIBERS: dict[str, Subscriber] = {}


def subscriber(name: str, *patterns: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` for events whose topic matches one of ``patterns`` (glob)."""

    def register(handler: Handler) -> Handler:
        _SUBSCRIBERS[name] = Subscriber(name, patterns or ("*",), handler)
        return handler

    return register


def unregister(name: str) -> None:
    _SUBSCRIBERS.pop(name, None)


def subscribers() -> list[Subscriber]:
    return list(_SUBSCRIBERS.values())


def emit(
    topic: str, *, organisation_id: int | None, aggregate: str, aggregate_id: int,
    payload: dict[str, Any] | None = None,
) -> OutboxEvent:
    """Record a domain event in the current transaction and schedule its delivery."""
    event = OutboxEvent.objects.create(
        organisation_id=organisation_id, topic=topic, aggregate=aggregate,
        aggregate_id=aggregate_id, payload=payload or {},
    )
    transaction.on_commit(_schedule_delivery)
    return event


def emit_many(events: list[OutboxEvent]) -> None:
    """Record several prepared events in one INSERT."""
    if events:
        insert_objects(events)
        transaction.on_commit(_schedule_delivery)


_lock = threading.Lock()
_scheduled_until = 0.0
DEBOUNCE_SECONDS = 0.25


def _schedule_delivery() -> None:
    """Called after commit. Enqueue a delivery run unless one is already due later."""
    global _scheduled_until
    now = time.monotonic()
    backend = default_task_backend
    if not backend.supports_defer:
        deliver_outbox.enqueue()
        return
    with _lock:
        if now < _scheduled_until:
            return
        _scheduled_until = now + DEBOUNCE_SECONDS
    deliver_outbox.using(
        run_after=timezone.now() + timedelta(seconds=DEBOUNCE_SECONDS)
    ).enqueue()


@task()
def deliver_outbox() -> int:
    """Deliver every pending event that is due; safe to run concurrently and repeatedly.
    Events whose subscribers failed wait for their backoff; a run is scheduled for then."""
    total = 0
    while True:
        handled, failed = _deliver_batch(200)
        total += handled
        if failed or handled < 200:
            break
    _schedule_retry()
    return total


MAX_ATTEMPTS = 20
MAX_BACKOFF_SECONDS = 3600


def backoff(attempts: int) -> timedelta:
    """Wait before the next try of an event that failed ``attempts`` times: 2, 4, 8 ...
    seconds, at most an hour (20 attempts span about 15 hours)."""
    return timedelta(seconds=min(2 ** max(attempts, 1), MAX_BACKOFF_SECONDS))


def _due() -> Any:
    from django.db.models import Q

    return Q(processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))


def _schedule_retry() -> None:
    """If failed events wait for a later try, make sure a delivery run happens then."""
    from django.db.models import Min

    nxt = OutboxEvent.objects.filter(
        processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS, next_attempt_at__isnull=False
    ).aggregate(at=Min("next_attempt_at"))["at"]
    if nxt is None:
        return
    if default_task_backend.supports_defer:
        deliver_outbox.using(run_after=max(nxt, timezone.now())).enqueue()


def deliver_pending(batch: int = 200) -> int:
    """Claim up to ``batch`` due events and run their subscribers. Returns how many."""
    return _deliver_batch(batch)[0]


def _deliver_batch(batch: int) -> tuple[int, int]:
    """One batch: (events handled, events with a failing subscriber)."""
    with transaction.atomic():
        qs = OutboxEvent.objects.filter(_due())
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        events = list(qs.order_by("id")[:batch])
        if not events:
            return 0, 0
        done = set(
            OutboxDelivery.objects.filter(event__in=events).values_list("event_id", "subscriber")
        )
        subs = subscribers()
        now = timezone.now()
        failures = 0
        for event in events:
            failed: list[str] = []
            for sub in subs:
                if not sub.wants(event.topic) or (event.pk, sub.name) in done:
                    continue
                try:
                    with transaction.atomic():
                        sub.handler(event)
                        OutboxDelivery.objects.create(event=event, subscriber=sub.name)
                except Exception as exc:  # a subscriber's failure must not stop the others
                    log.exception("outbox subscriber %s failed on event %s", sub.name, event.pk)
                    failed.append(f"{sub.name}: {exc}")
            event.attempts += 1
            if failed:
                failures += 1
                event.last_error = "\n".join(failed)[:4000]
                event.next_attempt_at = now + backoff(event.attempts)
            else:
                event.processed_at = now
                event.next_attempt_at = None
                event.last_error = ""
        OutboxEvent.objects.bulk_update(
            events, ["attempts", "last_error", "processed_at", "next_attempt_at"])
    return len(events), failures
