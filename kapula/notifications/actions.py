"""Writes of the notifications app: turning domain events into notifications, marking them
read and saving an agent's preferences. Each is an action (one transaction)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from kapula.core.access import scope_for
from kapula.core.db import atomic_action
from kapula.core.errors import NotFound, ValidationFailed
from kapula.core.models import Membership, OutboxEvent, Role, User
from kapula.notifications.models import Frequency, Kind, Notification, Preferences
from kapula.tickets.models import Message, MessageKind, Ticket

#: at most this many agents are notified about one event (a team without an assignee, a
#: routing rule's list): a notice to a whole large team is noise, and the fan-out is bounded
FAN_OUT_CAP = 50
TITLE_CHARS = 120

#: the outbox topics this app listens to
TOPICS = ("ticket.assigned", "message.added", "sla.warning", "sla.breached", "routing.notify",
          "ticket.escalated")


def _team_members(team_id: int | None) -> list[int]:
    if team_id is None:
        return []
    return list(Membership.objects.filter(team_id=team_id, team__is_active=True,
                                          user__is_active=True)
                .order_by("-is_lead", "user_id").values_list("user_id", flat=True)
                [:FAN_OUT_CAP])


def _assignee_or_team(ticket: Ticket) -> list[int]:
    if ticket.assignee_id is not None:
        return [ticket.assignee_id]
    return _team_members(ticket.team_id)


def _escalation_actor(escalation_id: Any) -> int | None:
    from kapula.suppliers.models import Escalation

    if not isinstance(escalation_id, int):
        return None
    return Escalation.objects.filter(pk=escalation_id).values_list("actor_id", flat=True) \
        .first()


def _plan(event: OutboxEvent, ticket: Ticket) -> tuple[str, list[int], set[int], dict[str, Any]]:
    """(kind, recipients, users to leave out, extra params) for ``event``; no recipients
    when the event concerns nobody."""
    p = event.payload or {}
    topic = event.topic
    if topic == "ticket.assigned":
        assignee = p.get("assignee")
        if not assignee or assignee == p.get("by") or ticket.assignee_id != assignee:
            return Kind.ASSIGNED, [], set(), {}  # self-assigned, or reassigned meanwhile
        return Kind.ASSIGNED, [assignee], set(), {}
    if topic == "message.added":
        if p.get("kind") != MessageKind.INBOUND:
            return Kind.CUSTOMER_REPLY, [], set(), {}
        message_id = p.get("message")
        msg = Message.objects.filter(pk=message_id, ticket_id=ticket.pk) \
            .values("id", "author_user_id").first() if isinstance(message_id, int) else None
        first = Message.objects.filter(ticket_id=ticket.pk).order_by("id") \
            .values_list("id", flat=True).first()
        if msg is None or msg["id"] == first:  # the message that opened the ticket
            return Kind.CUSTOMER_REPLY, [], set(), {}
        skip = {msg["author_user_id"]} if msg["author_user_id"] else set()
        return Kind.CUSTOMER_REPLY, _assignee_or_team(ticket), skip, {}
    if topic in ("sla.warning", "sla.breached"):
        extra: dict[str, Any] = {"metric": str(p.get("metric", ""))[:30]}
        if topic == "sla.warning":
            extra["threshold"] = p.get("threshold")
        kind = Kind.SLA_WARNING if topic == "sla.warning" else Kind.SLA_BREACHED
        return kind, _assignee_or_team(ticket), set(), extra
    if topic == "routing.notify":
        ids = [r for r in p.get("recipients") or [] if isinstance(r, int)][:FAN_OUT_CAP]
        return Kind.ROUTING, ids, set(), {"rule": str(p.get("rule_name", ""))[:100]}
    if topic == "ticket.escalated":
        actor = _escalation_actor(p.get("escalation"))
        team_id = p.get("to_team")
        members = _team_members(team_id) if isinstance(team_id, int) else []
        return Kind.ESCALATED, members, {actor} if actor else set(), {
            "reason": str(p.get("reason", ""))[:200]}
    return "", [], set(), {}


def _visible(users: Iterable[User], ticket: Ticket) -> list[User]:
    """The users who may see ``ticket`` (members of its team and its assignee without
    further queries; others by their full visibility scope)."""
    team_members = set(Membership.objects.filter(team_id=ticket.team_id)
                       .values_list("user_id", flat=True)) if ticket.team_id else set()
    found = []
    for user in users:
        if user.organisation_id != ticket.organisation_id:
            continue
        if user.pk == ticket.assignee_id or user.role == Role.ORG_ADMIN \
                or user.pk in team_members or scope_for(user).can_see(ticket):
            found.append(user)
    return found


@atomic_action
def notify_for_event(event: OutboxEvent) -> list[Notification]:
    """Create the notifications that ``event`` calls for (see docs/subsystems/notifications.md).
    Running it again for the same event creates nothing more."""
    if event.aggregate != "ticket" or event.topic not in TOPICS:
        return []
    ticket = Ticket.objects.filter(pk=event.aggregate_id).first()
    if ticket is None:
        return []
    kind, ids, skip, extra = _plan(event, ticket)
    ids = [i for i in dict.fromkeys(ids) if i not in skip]
    if not ids:
        return []
    users = list(User.objects.filter(pk__in=ids, is_active=True)
                 .select_related("notification_preferences").order_by("pk"))
    wanted = []
    for user in _visible(users, ticket):
        prefs = getattr(user, "notification_preferences", None)
        if prefs is None or kind not in (prefs.muted or []):
            wanted.append(user)
    params = {"number": ticket.number, "title": ticket.title[:TITLE_CHARS], **extra}
    items = [Notification(organisation_id=ticket.organisation_id, recipient=u, kind=kind,
                          ticket=ticket, event_id=event.pk, params=params,
                          created_at=event.created_at or timezone.now()) for u in wanted]
    Notification.objects.bulk_create(items, ignore_conflicts=True)
    return items


@atomic_action
def mark_read(*, actor: User, notification_id: int) -> Notification:
    n = Notification.objects.filter(pk=notification_id, recipient=actor).first()
    if n is None:
        raise NotFound(_("No such notification."), code="notification_not_found")
    if n.read_at is None:
        n.read_at = timezone.now()
        n.save(update_fields=["read_at"])
    return n


@atomic_action
def mark_all_read(*, actor: User) -> int:
    return int(Notification.objects.filter(recipient=actor, read_at__isnull=True)
               .update(read_at=timezone.now()))


@atomic_action
def save_preferences(*, actor: User, muted: Iterable[str], frequency: str) -> Preferences:
    muted = sorted(set(muted))
    if any(k not in Kind.values for k in muted):
        raise ValidationFailed(_("Unknown notification kind."), code="invalid_kind",
                               field="muted")
    if frequency not in Frequency.values:
        raise ValidationFailed(_("Choose how often to get email."), code="invalid_frequency",
                               field="frequency")
    prefs, _created = Preferences.objects.get_or_create(user=actor)
    prefs.muted = muted
    prefs.frequency = frequency
    prefs.save(update_fields=["muted", "frequency"])
    return prefs


def preferences_of(user: User) -> Preferences:
    """The user's preferences, or unsaved defaults."""
    return Preferences.objects.filter(user=user).first() or Preferences(user=user)
