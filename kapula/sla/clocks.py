"""SLA clocks: started, paused, resumed and stopped by the ticket actions' hooks, checked by
the scheduler pass (:func:`tick`).

A clock keeps an *anchor*: the instant it last started or resumed and the business seconds
it had used before (``used_seconds``). Everything else follows from the ticket's calendar:
used time now = ``used_seconds`` + business time since the anchor; the due moment = the
anchor plus the remaining business time; warning moments likewise. ``next_check_at`` is the
earliest moment the scheduler has something to do (a warning or the breach).

The ticket carries a summary for the queues (``sla_due_at``: the nearest due moment of its
running clocks, ``sla_state``: running / warning / breached / paused / met).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from kapula.core.models import Customer, OutboxEvent, Team
from kapula.core.outbox import emit_many
from kapula.sla.business_time import Schedule, add, between
from kapula.sla.calendars import schedule_for
from kapula.sla.models import (
    ClockState,
    Metric,
    SlaClock,
    SlaPolicy,
    default_pause_statuses,
    default_thresholds,
)
from kapula.tickets import config
from kapula.tickets.models import AuthorKind, MessageKind, Status, Ticket

ACTIVE = (ClockState.RUNNING, ClockState.PAUSED)
DONE_STATUSES = (Status.RESOLVED, Status.CLOSED)
RESPONSE_METRICS = (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE)


class TicketState:
    """Values of ``Ticket.sla_state``."""

    NONE = ""
    RUNNING = "running"
    WARNING = "warning"
    BREACHED = "breached"
    PAUSED = "paused"
    MET = "met"


# --- policies --------------------------------------------------------------------------------


def policies(organisation_id: int) -> list[SlaPolicy]:
    """Active policies, most specific first, then by order and id."""
    def load() -> list[SlaPolicy]:
        found = list(SlaPolicy.objects.filter(organisation_id=organisation_id, is_active=True))
        found.sort(key=lambda p: (-p.specificity, p.ordering, p.pk))
        return found
    return config.cached("sla_policies", organisation_id, load)


def _team_units(organisation_id: int) -> dict[int, int | None]:
    return config.cached("sla_team_units", organisation_id, lambda: dict(
        Team.objects.filter(organisation_id=organisation_id).values_list("pk", "unit_id")))


def match(ticket: Ticket, customer: Customer | None = None,
          candidates: Sequence[SlaPolicy] | None = None) -> SlaPolicy | None:
    """The policy for ``ticket``: every condition a policy sets must hold; of those that
    match, the first in :func:`policies` order (the most specific) wins."""
    found = policies(ticket.organisation_id) if candidates is None else candidates
    if not found:
        return None
    unit_id = None
    if any(p.unit_id for p in found):
        unit_id = _team_units(ticket.organisation_id).get(ticket.team_id) \
            if ticket.team_id else None
    cust_unit: int | None = None
    cust_org = ""
    if ticket.customer_id and any(p.customer_unit_id or p.customer_organisation for p in found):
        if customer is None or customer.pk != ticket.customer_id:
            row = Customer.objects.filter(pk=ticket.customer_id).values_list(
                "unit_id", "organisation_name").first()
            cust_unit, cust_org = row if row else (None, "")
        else:
            cust_unit, cust_org = customer.unit_id, customer.organisation_name
    cust_org = (cust_org or "").strip().casefold()
    for p in found:
        if p.unit_id and p.unit_id != unit_id:
            continue
        if p.ticket_type_id and p.ticket_type_id != ticket.ticket_type_id:
            continue
        if p.category_id and p.category_id != ticket.category_id:
            continue
        if p.priority and p.priority != ticket.priority:
            continue
        if p.customer_unit_id and p.customer_unit_id != cust_unit:
            continue
        if p.customer_organisation and p.customer_organisation.strip().casefold() != cust_org:
            continue
        return p
    return None


def _policy_by_id(organisation_id: int, policy_id: int | None) -> SlaPolicy | None:
    if policy_id is None:
        return None
    return next((p for p in policies(organisation_id) if p.pk == policy_id), None)


def _pause_statuses(policy: SlaPolicy | None) -> list[str]:
    return list(policy.pause_statuses) if policy is not None else default_pause_statuses()


def _thresholds(policy: SlaPolicy | None) -> list[int]:
    values = policy.warning_thresholds if policy is not None else default_thresholds()
    return sorted({int(v) for v in values if 0 < int(v) < 100})


# --- one clock --------------------------------------------------------------------------------


def _seconds(delta: dt.timedelta) -> int:
    return max(int(delta.total_seconds()), 0)


def used_seconds(clock: SlaClock, schedule: Schedule, now: dt.datetime) -> int:
    if clock.state != ClockState.RUNNING:
        return clock.used_seconds
    return clock.used_seconds + _seconds(between(schedule, clock.anchor_at, now))


def _moment(clock: Any, schedule: Schedule, budget_seconds: float) -> dt.datetime:
    """When the clock will have used ``budget_seconds`` (it is running from its anchor)."""
    return add(schedule, clock.anchor_at,
               dt.timedelta(seconds=max(budget_seconds - clock.used_seconds, 0)))


def _warning_moments(clock: Any, schedule: Schedule,
                     thresholds: list[int]) -> list[tuple[int, dt.datetime]]:
    target = clock.target_minutes * 60
    return [(pct, _moment(clock, schedule, target * pct / 100))
            for pct in thresholds[clock.warnings_sent:]]


def plan(clock: Any, schedule: Schedule, thresholds: list[int]) -> None:
    """Set ``due_at`` and ``next_check_at`` of a running clock from its anchor."""
    clock.due_at = _moment(clock, schedule, clock.target_minutes * 60)
    if clock.breached:
        clock.next_check_at = None
        return
    nxt = clock.due_at
    for _pct, moment in _warning_moments(clock, schedule, thresholds)[:1]:
        nxt = min(nxt, moment)
    clock.next_check_at = nxt


def new_clock(ticket: Ticket, policy: SlaPolicy, metric: str, schedule: Schedule,
              now: dt.datetime, *, started_at: dt.datetime | None = None,
              paused: bool = False) -> SlaClock | None:
    target = policy.target(metric)
    if target is None:
        return None
    start = started_at or now
    used = _seconds(between(schedule, start, now)) if start < now else 0
    clock = SlaClock(ticket=ticket, organisation_id=ticket.organisation_id, policy=policy,
                     metric=metric, target_minutes=target, started_at=start, anchor_at=now,
                     used_seconds=used)
    if used > target * 60:
        clock.breached = True
    if paused:
        clock.state = ClockState.PAUSED
        clock.paused_since = now
    else:
        plan(clock, schedule, _thresholds(policy))
    return clock


def stop(clock: SlaClock, schedule: Schedule, now: dt.datetime) -> None:
    used = used_seconds(clock, schedule, now)
    clock.used_seconds = used
    clock.anchor_at = now
    clock.business_minutes_used = used // 60
    clock.breached = clock.breached or used > clock.target_minutes * 60
    clock.state = ClockState.BREACHED if clock.breached else ClockState.MET
    clock.stopped_at = now
    clock.paused_since = None
    clock.next_check_at = None
    if clock.due_at is None:
        clock.due_at = _moment(clock, schedule, clock.target_minutes * 60)


def pause(clock: SlaClock, schedule: Schedule, now: dt.datetime) -> None:
    clock.used_seconds = used_seconds(clock, schedule, now)
    clock.anchor_at = now
    clock.state = ClockState.PAUSED
    clock.paused_since = now
    clock.due_at = None
    clock.next_check_at = None


def resume(clock: SlaClock, schedule: Schedule, now: dt.datetime,
           thresholds: list[int]) -> None:
    """Run again from ``now``: the due moment moves by the business time spent paused (or,
    for a reopened resolution, stopped)."""
    clock.anchor_at = now
    clock.state = ClockState.RUNNING
    clock.paused_since = None
    clock.stopped_at = None
    clock.business_minutes_used = None
    plan(clock, schedule, thresholds)


def cancel(clock: SlaClock, schedule: Schedule, now: dt.datetime) -> None:
    clock.used_seconds = used_seconds(clock, schedule, now)
    clock.business_minutes_used = clock.used_seconds // 60
    clock.state = ClockState.CANCELLED
    clock.stopped_at = now
    clock.paused_since = None
    clock.next_check_at = None


# --- the ticket's summary ------------------------------------------------------------------------


def summary(clocks: Iterable[SlaClock]) -> tuple[dt.datetime | None, str]:
    """(nearest due moment of the running clocks, worst state) for the ticket row."""
    clocks = [c for c in clocks if c.state != ClockState.CANCELLED]
    running = [c for c in clocks if c.state == ClockState.RUNNING]
    if running:
        due = min(c.due_at for c in running if c.due_at is not None)
        if any(c.breached for c in running):
            return due, TicketState.BREACHED
        if any(c.warnings_sent for c in running):
            return due, TicketState.WARNING
        return due, TicketState.RUNNING
    if any(c.state == ClockState.PAUSED for c in clocks):
        return None, TicketState.PAUSED
    if not clocks:
        return None, TicketState.NONE
    return None, TicketState.BREACHED if any(c.breached for c in clocks) else TicketState.MET


CLOCK_FIELDS = ["policy", "state", "target_minutes", "anchor_at", "used_seconds", "due_at",
                "paused_since", "stopped_at", "breached", "warnings_sent", "next_check_at",
                "business_minutes_used"]


def _save(ticket: Ticket, clocks: list[SlaClock], changed: list[SlaClock],
          created: list[SlaClock]) -> None:
    if created:
        SlaClock.objects.bulk_create(created)
    for clock in changed:
        if clock.pk is not None and clock not in created:
            clock.save(update_fields=CLOCK_FIELDS)
    due, state = summary([*clocks, *created])
    if (due, state) != (ticket.sla_due_at, ticket.sla_state):
        Ticket.objects.filter(pk=ticket.pk).update(sla_due_at=due, sla_state=state)
        ticket.sla_due_at, ticket.sla_state = due, state


# --- hooks called by the ticket actions -----------------------------------------------------------


def prepare_new(ticket: Ticket, customer: Customer | None) -> list[SlaClock]:
    """Before a new ticket is saved: match its policy, start its clocks and put the summary
    on the ticket (the clocks are saved by :func:`save_new` once the ticket has an id)."""
    policy = match(ticket, customer)
    if policy is None:
        return []
    schedule = schedule_for(ticket.organisation_id, ticket.team_id)
    now = ticket.created_at
    clocks = [c for c in (new_clock(ticket, policy, m, schedule, now)
                          for m in (Metric.FIRST_RESPONSE, Metric.RESOLUTION)) if c]
    if ticket.status in DONE_STATUSES:  # resolved at the first contact
        for c in clocks:
            stop(c, schedule, now)
    ticket.sla_due_at, ticket.sla_state = summary(clocks)
    return clocks


def save_new(ticket: Ticket, clocks: list[SlaClock]) -> None:
    for c in clocks:
        c.ticket = ticket
    if clocks:
        SlaClock.objects.bulk_create(clocks)


def _load(ticket: Ticket) -> list[SlaClock]:
    return list(SlaClock.objects.filter(ticket_id=ticket.pk).order_by("started_at", "id"))


def _status_change(ticket: Ticket, clocks: list[SlaClock], old: str, new: str,
                   schedule: Schedule, now: dt.datetime) -> list[SlaClock]:
    changed = []
    if new in DONE_STATUSES and old not in DONE_STATUSES:
        for c in clocks:
            if c.state in ACTIVE:
                stop(c, schedule, now)
                changed.append(c)
        return changed
    policy = _policy_by_id(ticket.organisation_id, next(
        (c.policy_id for c in reversed(clocks) if c.policy_id), None))
    pauses = _pause_statuses(policy)
    if old in DONE_STATUSES and new not in DONE_STATUSES:  # reopened: resolution runs on
        last = next((c for c in reversed(clocks) if c.metric == Metric.RESOLUTION), None)
        if last is not None and last.state in (ClockState.MET, ClockState.BREACHED):
            resume(last, schedule, now, _thresholds(policy))
            last.state = ClockState.RUNNING
            changed.append(last)
    for c in clocks:
        if new in pauses and c.state == ClockState.RUNNING:
            pause(c, schedule, now)
            changed.append(c)
        elif new not in pauses and c.state == ClockState.PAUSED:
            resume(c, schedule, now, _thresholds(_policy_by_id(ticket.organisation_id,
                                                               c.policy_id) or policy))
            changed.append(c)
    return changed


def message_added(ticket: Ticket, *, kind: str, author_kind: str, new_status: str | None,
                  now: dt.datetime) -> None:
    """After ``add_message``: a public agent reply meets the response clocks; a customer's
    message starts a next-response clock; a status change pauses, resumes or reopens."""
    if not policies(ticket.organisation_id) and not ticket.sla_state:
        return
    clocks = _load(ticket)
    schedule = schedule_for(ticket.organisation_id, ticket.team_id)
    changed: list[SlaClock] = []
    created: list[SlaClock] = []
    status = new_status or ticket.status
    if new_status and new_status != ticket.status:
        changed += _status_change(ticket, clocks, ticket.status, new_status, schedule, now)
    if kind == MessageKind.REPLY and author_kind == AuthorKind.AGENT:
        for c in clocks:
            if c.metric in RESPONSE_METRICS and c.state in ACTIVE:
                stop(c, schedule, now)
                changed.append(c)
    elif kind == MessageKind.INBOUND and author_kind != AuthorKind.AGENT \
            and status not in DONE_STATUSES:
        waiting = any(c.metric in RESPONSE_METRICS and c.state in ACTIVE for c in clocks)
        policy = match(ticket)
        if not waiting and policy is not None:
            clock = new_clock(ticket, policy, Metric.NEXT_RESPONSE, schedule, now,
                              paused=status in _pause_statuses(policy))
            if clock is not None:
                created.append(clock)
    _save(ticket, clocks, changed, created)


REMATCH_FIELDS = {"priority", "category", "ticket_type", "team", "customer"}


def ticket_updated(ticket: Ticket, history: Sequence[Any], now: dt.datetime) -> None:
    """After ``update_ticket`` saved the ticket (``history``: its new history entries)."""
    fields = {h.field: (h.old, h.new) for h in history}
    status = fields.get("status")
    rematch = bool(REMATCH_FIELDS & fields.keys())
    if status is None and not rematch:
        return
    if not policies(ticket.organisation_id) and not ticket.sla_state:
        return
    clocks = _load(ticket)
    schedule = schedule_for(ticket.organisation_id, ticket.team_id)
    changed: list[SlaClock] = []
    created: list[SlaClock] = []
    if status is not None:
        changed += _status_change(ticket, clocks, status[0], status[1], schedule, now)
    if rematch:
        policy = match(ticket)
        paused = ticket.status in _pause_statuses(policy)
        for metric in Metric.values:
            active = [c for c in clocks if c.metric == metric and c.state in ACTIVE]
            target = policy.target(metric) if policy is not None else None
            for c in active:
                if target is None:
                    cancel(c, schedule, now)
                else:
                    c.policy, c.target_minutes = policy, target
                    if c.state == ClockState.RUNNING:  # also re-plans on the new calendar
                        c.used_seconds = used_seconds(c, schedule, now)
                        c.anchor_at = now
                        plan(c, schedule, _thresholds(policy))
                if c not in changed:
                    changed.append(c)
            ever = any(c.metric == metric for c in clocks)
            if policy is None or ever or target is None or ticket.status in DONE_STATUSES:
                continue
            if metric == Metric.RESOLUTION or (
                    metric == Metric.FIRST_RESPONSE and ticket.first_response_at is None):
                clock = new_clock(ticket, policy, metric, schedule, now,
                                  started_at=ticket.created_at, paused=paused)
                if clock is not None:
                    created.append(clock)
    _save(ticket, clocks, changed, created)


def ticket_stopped(ticket: Ticket, now: dt.datetime) -> None:
    """A ticket closed outside the status machine (merged into another): its clocks end."""
    if not ticket.sla_state:
        return
    clocks = list(SlaClock.objects.filter(ticket_id=ticket.pk, state__in=ACTIVE))
    schedule = schedule_for(ticket.organisation_id, ticket.team_id)
    for c in clocks:
        cancel(c, schedule, now)
        c.save(update_fields=CLOCK_FIELDS)
    Ticket.objects.filter(pk=ticket.pk).update(sla_due_at=None, sla_state="")

# --- the scheduler pass ---------------------------------------------------------------------------


#: what the pass reads of a clock (and of its ticket)
_TICK_COLUMNS = ("id", "organisation_id", "ticket_id", "policy_id", "metric", "target_minutes",
                 "anchor_at", "used_seconds", "due_at", "breached", "warnings_sent",
                 "next_check_at", "ticket__team_id", "ticket__number")


class _Row:
    """A clock as the pass sees it: plain attributes, no model instance (the pass reads
    tens of thousands of them)."""

    __slots__ = ("anchor_at", "breached", "due_at", "id", "metric", "next_check_at", "number",
                 "organisation_id", "policy_id", "target_minutes", "team_id", "ticket_id",
                 "used_seconds", "warnings_sent")

    def __init__(self, values: Sequence[Any]) -> None:
        (self.id, self.organisation_id, self.ticket_id, self.policy_id, self.metric,
         self.target_minutes, self.anchor_at, self.used_seconds, self.due_at, self.breached,
         self.warnings_sent, self.next_check_at, self.team_id, self.number) = values


def _update_clocks(rows: Sequence[_Row]) -> None:
    """Write back the checked clocks: one statement on PostgreSQL (UPDATE ... FROM unnest),
    elsewhere one UPDATE per row sent together."""
    if not rows:
        return
    table = connection.ops.quote_name(SlaClock._meta.db_table)
    ids = [r.id for r in rows]
    breached = [r.breached for r in rows]
    warnings = [r.warnings_sent for r in rows]
    checks = [r.next_check_at for r in rows]
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                f"UPDATE {table} AS c SET breached = v.b, warnings_sent = v.w, "
                "next_check_at = v.n FROM unnest(%s::bigint[], %s::boolean[], %s::int[], "
                "%s::timestamptz[]) AS v(id, b, w, n) WHERE c.id = v.id",
                [ids, breached, warnings, checks])
            return
        field = SlaClock._meta.get_field("next_check_at")
        cur.executemany(
            f"UPDATE {table} SET breached = %s, warnings_sent = %s, "
            "next_check_at = %s WHERE id = %s",
            [[b, w, field.get_db_prep_save(n, connection), i]
             for i, b, w, n in zip(ids, breached, warnings, checks, strict=True)])


Event = tuple[int, str, int, dict[str, Any]]  # organisation, topic, ticket, payload


def _emit(events: list[Event], now: dt.datetime) -> None:
    """Record the events: on PostgreSQL all but the last in one INSERT ... SELECT FROM
    unnest; the last through ``emit_many``, which also schedules delivery after commit."""
    if not events:
        return
    models = [OutboxEvent(organisation_id=org, topic=topic, aggregate="ticket",
                          aggregate_id=ticket, payload=payload, created_at=now)
              for org, topic, ticket, payload in (events if connection.vendor != "postgresql"
                                                  else events[-1:])]
    if connection.vendor == "postgresql" and len(events) > 1:
        rest = events[:-1]
        table = connection.ops.quote_name(OutboxEvent._meta.db_table)
        with connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {table} (organisation_id, topic, aggregate, aggregate_id, "
                "payload, created_at, attempts, last_error) SELECT o, t, 'ticket', a, p, %s, "
                "0, '' FROM unnest(%s::bigint[], %s::text[], %s::bigint[], "
                "%s::text[]::jsonb[]) AS v(o, t, a, p)",
                [now, [e[0] for e in rest], [e[1] for e in rest], [e[2] for e in rest],
                 [json.dumps(e[3]) for e in rest]])
        emit_many(models)
        return
    if len(models) > 1:
        OutboxEvent.objects.bulk_create(models[:-1], batch_size=1000)
    emit_many(models[-1:])


def _event(row: _Row, topic: str, **payload: Any) -> Event:
    return (row.organisation_id, topic, row.ticket_id, {
        "number": row.number, "metric": row.metric, "clock": row.id,
        "due_at": row.due_at.isoformat() if row.due_at else None, **payload})


def tick(now: dt.datetime | None = None, batch: int = 5000) -> dict[str, int]:
    """One scheduler pass: every running clock whose ``next_check_at`` has come gets its
    warnings (``sla.warning``) and breach (``sla.breached``) recorded and events emitted,
    in the same transaction. Rows are claimed with SKIP LOCKED where the database has it,
    so several schedulers can run; running it twice does nothing more."""
    now = now or timezone.now()
    totals = {"checked": 0, "warnings": 0, "breaches": 0}
    skip_locked = connection.features.has_select_for_update_skip_locked
    while True:
        with transaction.atomic():
            qs = SlaClock.objects.filter(next_check_at__lte=now, state=ClockState.RUNNING)
            if skip_locked:
                qs = qs.select_for_update(skip_locked=True, of=("self",))
            rows = [_Row(v) for v in qs.order_by("next_check_at")
                    .values_list(*_TICK_COLUMNS)[:batch]]
            events: list[Event] = []
            warned: set[int] = set()
            breached: set[int] = set()
            for row in rows:
                schedule = schedule_for(row.organisation_id, row.team_id)
                policy = _policy_by_id(row.organisation_id, row.policy_id)
                if policy is None and row.policy_id is not None:
                    policy = SlaPolicy.objects.filter(pk=row.policy_id).first()
                thresholds = _thresholds(policy)
                if row.due_at is None:
                    plan(row, schedule, thresholds)
                if row.due_at is not None and row.due_at <= now and not row.breached:
                    row.breached = True
                    events.append(_event(row, "sla.breached",
                                         target_minutes=row.target_minutes))
                    breached.add(row.ticket_id)
                if not row.breached:
                    for pct, moment in _warning_moments(row, schedule, thresholds):
                        if moment > now:
                            break
                        row.warnings_sent += 1
                        events.append(_event(row, "sla.warning", threshold=pct,
                                             target_minutes=row.target_minutes))
                        warned.add(row.ticket_id)
                plan(row, schedule, thresholds)
                if row.next_check_at is not None and row.next_check_at <= now:
                    row.next_check_at = now + dt.timedelta(minutes=1)  # never loop
            _update_clocks(rows)
            if breached:
                Ticket.objects.filter(pk__in=sorted(breached)).update(
                    sla_state=TicketState.BREACHED)
            warned -= breached
            if warned:
                Ticket.objects.filter(pk__in=sorted(warned)).exclude(
                    sla_state=TicketState.BREACHED).update(sla_state=TicketState.WARNING)
            _emit(events, now)
        totals["checked"] += len(rows)
        totals["warnings"] += sum(1 for e in events if e[1] == "sla.warning")
        totals["breaches"] += sum(1 for e in events if e[1] == "sla.breached")
        if len(rows) < batch:
            return totals
