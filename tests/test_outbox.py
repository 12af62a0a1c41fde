"""Outbox: events exist exactly when their change committed; delivery is at-least-once
per subscriber and a failing subscriber does not re-run the others."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from kapula.core import outbox
from kapula.core.models import OutboxDelivery, OutboxEvent
from kapula.tickets import actions as A


@pytest.fixture
def recorder():
    seen: list[str] = []
    fail = {"on": False}

    def ok(event):
        seen.append(f"ok:{event.topic}")

    def flaky(event):
        if fail["on"]:
            raise RuntimeError("receiver down")
        seen.append(f"flaky:{event.topic}")

    outbox._scheduled_until = 0.0  # forget deliveries scheduled by earlier (rolled-back) tests
    outbox.subscriber("test-ok", "ticket.*")(ok)
    outbox.subscriber("test-flaky", "ticket.created")(flaky)
    yield seen, fail
    outbox.unregister("test-ok")
    outbox.unregister("test-flaky")


def create(world):
    return A.create_ticket(actor=world.agent, organisation=world.org, title="Hei",
                           body="Testi", channel="phone")


def test_events_roll_back_with_the_change(world):
    with pytest.raises(RuntimeError), transaction.atomic():
        create(world)
        raise RuntimeError("boom")
    assert OutboxEvent.objects.count() == 0


def test_delivery_scheduled_after_commit(world, django_capture_on_commit_callbacks):
    outbox._scheduled_until = 0.0
    with django_capture_on_commit_callbacks() as callbacks:
        create(world)
    # nothing is queued while the transaction is open, only by its on-commit callback
    assert not DBTaskResult.objects.filter(task_path__endswith="deliver_outbox").exists()
    for callback in callbacks:
        callback()
    assert DBTaskResult.objects.filter(task_path__endswith="deliver_outbox").exists()


def test_subscribers_receive_and_failures_retry_alone(world, recorder):
    seen, fail = recorder
    fail["on"] = True
    create(world)
    outbox.deliver_pending()
    assert "ok:ticket.created" in seen and not any(s.startswith("flaky") for s in seen)
    pending = OutboxEvent.objects.get(topic="ticket.created")
    assert pending.processed_at is None and "receiver down" in pending.last_error
    assert pending.next_attempt_at is not None  # waits for its backoff
    fail["on"] = False
    seen.clear()
    outbox.deliver_pending()
    assert seen == []  # not due yet
    OutboxEvent.objects.filter(pk=pending.pk).update(next_attempt_at=timezone.now())
    outbox.deliver_pending()
    assert seen == ["flaky:ticket.created"]  # "ok" is not run twice
    pending.refresh_from_db()
    assert pending.processed_at is not None
    # ok, flaky, audit-log, email (which sends nothing for a phone ticket) and whatever
    # other apps subscribe to ticket.created (e.g. triage): each one delivered once
    wanting = [sub for sub in outbox.subscribers() if sub.wants("ticket.created")]
    assert len(wanting) >= 4
    assert OutboxDelivery.objects.filter(event=pending).count() == len(wanting)
    assert outbox.deliver_pending() == 0


@pytest.mark.django_db(transaction=True)
def test_worker_delivers_committed_events(recorder):
    """End to end: an action commits, a delivery task is queued, the real db_worker runs it."""
    import time

    from django.core.management import call_command

    from kapula.core.models import Organisation, Team

    seen, _fail = recorder
    org = Organisation.objects.create(slug="w", name="W", ticket_prefix="W")
    org.default_team = Team.objects.create(organisation=org, slug="t", name_fi="T")
    org.save()
    A.create_ticket(actor=None, organisation=org, title="Hei", body="Testi", channel="api")
    assert DBTaskResult.objects.filter(task_path__endswith="deliver_outbox").count() == 1
    time.sleep(outbox.DEBOUNCE_SECONDS + 0.1)
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert "ok:ticket.created" in seen
    assert not OutboxEvent.objects.filter(processed_at__isnull=True).exists()


def test_audit_log_writes_json_lines(world, tmp_path):
    """The built-in subscriber writes every event as one JSON line to the event log."""
    import json
    import logging

    from kapula.core.logs import EventLogHandler

    path = tmp_path / "sub" / "events.log"
    handler = EventLogHandler(str(path))
    logger = logging.getLogger("kapula.events")
    logger.addHandler(handler)
    try:
        create(world)
        outbox.deliver_pending()
    finally:
        logger.removeHandler(handler)
        handler.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert {"ticket.created", "message.added"} <= {line["topic"] for line in lines}
    assert all(line["organisation"] == world.org.pk for line in lines)


def test_failing_subscriber_backs_off_instead_of_burning_retries(world, recorder):
    """Many pending events and a subscriber that is down: one run tries each event once,
    schedules a later run, and leaves them waiting with growing backoff."""
    _seen, fail = recorder
    fail["on"] = True
    for _ in range(3):
        create(world)
    outbox.deliver_outbox.call()
    created = OutboxEvent.objects.filter(topic="ticket.created")
    assert {e.attempts for e in created} == {1}
    assert all(e.next_attempt_at > timezone.now() for e in created)
    retry = DBTaskResult.objects.filter(task_path__endswith="deliver_outbox",
                                        run_after__isnull=False)
    assert retry.exists()
    assert outbox.backoff(1).total_seconds() == 2
    assert outbox.backoff(30).total_seconds() == outbox.MAX_BACKOFF_SECONDS
