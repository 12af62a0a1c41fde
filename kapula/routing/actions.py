"""Routing writes: applying the rules to a new ticket, out-of-scope answers, automatic
assignment within a team, and agents' availability.

The intake path calls :func:`route` before the ticket is created (the rules decide its team,
category, type, impact, urgency, tags and assignee) and :meth:`Routed.apply` right after (the
history row, notifications, the out-of-scope answer, assignment within the team). Both run
inside the intake's transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kapula.core.db import atomic_action, insert_objects
from kapula.core.errors import ValidationFailed
from kapula.core.models import OutboxEvent, User
from kapula.core.outbox import emit, emit_many
from kapula.routing import engine
from kapula.routing.models import (
    AssignmentMode,
    Availability,
    AvailabilityStatus,
    OutOfScopeAction,
    RuleKind,
    TeamRouting,
)
from kapula.tickets import actions as ticket_actions
from kapula.tickets.models import (
    ACTIVE_STATUSES,
    AuthorKind,
    HistoryEntry,
    MessageKind,
    Status,
    Ticket,
)

if TYPE_CHECKING:
    from kapula.core.models import Customer
    from kapula.intake.actions import Intake


@dataclass
class Routed:
    """The rules' decision for one new ticket."""

    intake: Intake
    rules: list[engine.CompiledRule] = field(default_factory=list)
    team_modes: dict[int, str] = field(default_factory=dict)

    def apply(self, ticket: Ticket) -> Ticket:
        """After the ticket is created: history, notifications, out-of-scope answer,
        assignment within the team. Returns the ticket as it now is (still carrying
        ``first_message`` for the caller)."""
        first = ticket.first_message  # type: ignore[attr-defined]
        ticket = self._apply(ticket)
        ticket.first_message = first  # type: ignore[attr-defined]
        return ticket

    def _apply(self, ticket: Ticket) -> Ticket:
        if self.rules:
            insert_objects([HistoryEntry(
                ticket=ticket, actor=None, actor_label="routing", field="routing",
                new=", ".join(r.name for r in self.rules))])
            events = [OutboxEvent(
                organisation_id=ticket.organisation_id, topic="routing.notify",
                aggregate="ticket", aggregate_id=ticket.pk,
                payload={"number": ticket.number, "rule": r.id, "rule_name": r.name,
                         "recipients": list(r.notify)},
            ) for r in self.rules if r.notify]
            emit_many(events)
            last = self.rules[-1]
            if last.kind == RuleKind.OUT_OF_SCOPE:
                ticket = answer_out_of_scope(ticket=ticket, rule=last)
                if last.out_of_scope_action != OutOfScopeAction.FORWARD_TEAM:
                    return ticket
        return assign_in_team(ticket=ticket, modes=self.team_modes)


def _higher(a: str, b: str) -> str:
    return a if engine.LEVEL_RANK.get(a, 1) >= engine.LEVEL_RANK.get(b, 1) else b


def route(intake: Intake, customer: Customer | None, language: str | None) -> Routed:
    """Evaluate the organisation's rules on a new contact and return the contact as the
    rules change it. An agent recording a contact keeps what they chose: rules then only fill
    in what is empty, add tags and raise (never lower) impact and urgency, and out-of-scope
    rules are skipped (the agent answers the customer in person)."""
    org_id = intake.organisation.pk
    snapshot = engine.compiled(org_id)
    if not snapshot.rules:
        return Routed(intake, [], snapshot.team_modes)
    facts = engine.Facts.of(intake, customer, language or "")
    by_agent = intake.actor is not None
    rules = engine.evaluate(snapshot.rules, facts, skip_out_of_scope=by_agent)
    if not rules:
        return Routed(intake, [], snapshot.team_modes)
    values: dict[str, Any] = {}
    tags = list(intake.tags)
    for rule in rules:
        for name, value in (("team", rule.team), ("category", rule.category),
                            ("ticket_type", rule.ticket_type), ("assignee", rule.assignee)):
            if value is None or (by_agent and getattr(intake, name) is not None):
                continue
            if by_agent and name == "team" and intake.assignee is not None:
                continue  # the agent's assignee decides the team
            values[name] = value
        for name in ("impact", "urgency"):
            value = getattr(rule, name)
            if value:
                current = values.get(name, getattr(intake, name))
                values[name] = _higher(value, current) if by_agent else value
        tags += [t for t in rule.tags if t not in tags]
    values["tags"] = tags
    team = values.get("team", intake.team)
    category = values.get("category", intake.category)
    team_id = team.pk if team is not None else (
        category.default_team_id if category is not None and category.default_team_id
        else intake.organisation.default_team_id)
    # an assignee who is not in the ticket's team would be refused: the rule's is dropped,
    # and a channel's (not an agent's) gives way to the rule's team
    rule_assignee = next((r for r in reversed(rules) if r.assignee is not None), None)
    if "assignee" in values and rule_assignee is not None \
            and team_id not in rule_assignee.assignee_team_ids:
        del values["assignee"]
    if "team" in values and "assignee" not in values and intake.assignee is not None \
            and not by_agent:
        values["assignee"] = None
    return Routed(replace(intake, **values), rules, snapshot.team_modes)


# --- out of scope --------------------------------------------------------------------------


def answer_out_of_scope(*, ticket: Ticket, rule: engine.CompiledRule) -> Ticket:
    """Answer the customer with the rule's text in the ticket's language (a public reply, so
    the email channel sends it), then close the ticket, forward it by email and close it, or
    leave it with the team the rule moved it to."""
    label = f"routing: {rule.name}"
    text = rule.replies.get(ticket.language) or next(
        (rule.replies[lang] for lang in ("fi", "en", "sv") if rule.replies.get(lang)), "")
    if text and ticket.status in ACTIVE_STATUSES:
        ticket_actions.add_message(
            actor=None, ticket=ticket, kind=MessageKind.REPLY, body=text,
            author_kind=AuthorKind.SYSTEM, author_name=ticket.organisation.name,
            actor_label=label)
    if rule.out_of_scope_action == OutOfScopeAction.FORWARD_EMAIL and rule.forward_email:
        note = ticket_actions.add_message(
            actor=None, ticket=ticket, kind=MessageKind.NOTE, author_kind=AuthorKind.SYSTEM,
            body=_("Forwarded to %(address)s (routing rule \"%(rule)s\").")
            % {"address": rule.forward_email, "rule": rule.name}, actor_label=label)
        emit("routing.forwarded", organisation_id=ticket.organisation_id, aggregate="ticket",
             aggregate_id=ticket.pk, payload={"number": ticket.number, "rule": rule.id,
                                              "address": rule.forward_email,
                                              "note": note.pk})
    ticket.refresh_from_db()
    if rule.out_of_scope_action in (OutOfScopeAction.CLOSE, OutOfScopeAction.FORWARD_EMAIL) \
            and ticket.status in ACTIVE_STATUSES:
        insert_objects([HistoryEntry(ticket=ticket, actor=None, actor_label=label,
                                     field="resolution", new=f"out of scope: {rule.name}")])
        # resolved, then closed: the customer gets the answer and no separate resolution
        # notice (the mail subscriber sends one only for a ticket still resolved)
        ticket = ticket_actions.update_ticket(actor=None, ticket=ticket,
                                              changes={"status": Status.RESOLVED},
                                              actor_label=label)
        ticket = ticket_actions.update_ticket(actor=None, ticket=ticket,
                                              changes={"status": Status.CLOSED},
                                              actor_label=label)
    return ticket


# --- assignment within a team --------------------------------------------------------------


def _available_members(team_id: int, now: dt.datetime) -> list[int]:
    away = Availability.objects.filter(status=AvailabilityStatus.AWAY).filter(
        Q(away_until__isnull=True) | Q(away_until__gt=now)).values("user_id")
    return list(User.objects.filter(memberships__team_id=team_id, is_active=True)
                .exclude(pk__in=away).order_by("pk").values_list("pk", flat=True))


def pick_assignee(team_id: int, mode: str) -> int | None:
    """The member who gets the team's next ticket, or None (nobody available). Call inside a
    transaction: the team's routing row stays locked until it ends, so two tickets arriving
    at once never both take the same turn."""
    row = TeamRouting.objects.select_for_update().filter(team_id=team_id).first()
    if row is None or row.mode == AssignmentMode.MANUAL:
        return None
    members = _available_members(team_id, timezone.now())
    if not members:
        return None
    if row.mode == AssignmentMode.ROUND_ROBIN:
        last = row.last_assignee_id or 0
        chosen = next((m for m in members if m > last), members[0])
        TeamRouting.objects.filter(pk=row.pk).update(last_assignee_id=chosen)
        return chosen
    load = dict(Ticket.objects.filter(assignee_id__in=members, status__in=ACTIVE_STATUSES)
                .values("assignee_id").annotate(n=Count("id")).values_list("assignee_id", "n"))
    return min(members, key=lambda m: (load.get(m, 0), m))


def assign_in_team(*, ticket: Ticket, modes: dict[int, str] | None = None) -> Ticket:
    """Give an unassigned, active ticket to a member of its team, when the team assigns
    automatically and someone is available. Otherwise it stays in the team's queue."""
    if ticket.assignee_id is not None or ticket.team_id is None \
            or ticket.status not in ACTIVE_STATUSES:
        return ticket
    if modes is None:
        modes = engine.compiled(ticket.organisation_id).team_modes
    if ticket.team_id not in modes:
        return ticket
    return _assign(ticket)


@atomic_action
def _assign(ticket: Ticket) -> Ticket:
    chosen = pick_assignee(int(ticket.team_id), "")  # type: ignore[arg-type]
    if chosen is None:
        return ticket
    user = User.objects.get(pk=chosen)
    return ticket_actions.update_ticket(actor=None, ticket=ticket, changes={"assignee": user},
                                        actor_label="routing")


def after_team_change(ticket: Ticket) -> Ticket:
    """The hook in update_ticket: a ticket moved to a team without an assignee."""
    return assign_in_team(ticket=ticket)


# --- availability --------------------------------------------------------------------------


@atomic_action
def set_availability(*, actor: User, user: User, available: bool,
                     away_until: dt.datetime | None = None) -> Availability:
    """An agent marks themselves available or away (optionally until a time)."""
    if actor.pk != user.pk:
        raise ValidationFailed(_("You can only change your own availability."),
                               code="availability_forbidden")
    if away_until is not None and away_until <= timezone.now():
        raise ValidationFailed(_("The time must be in the future."), code="invalid_until",
                               field="away_until")
    row, _created = Availability.objects.select_for_update().get_or_create(user=user)
    row.status = AvailabilityStatus.AVAILABLE if available else AvailabilityStatus.AWAY
    row.away_until = None if available else away_until
    row.changed_at = timezone.now()
    row.save()
    emit("agent.availability_changed", organisation_id=user.organisation_id,
         aggregate="user", aggregate_id=user.pk,
         payload={"status": row.status, "away_until":
                  row.away_until.isoformat() if row.away_until else None})
    return row
