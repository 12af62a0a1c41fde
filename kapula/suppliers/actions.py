"""Escalation: hand a ticket to another team or to a supplier, and back, always on the
same ticket. Supplier engagements: the supplier's reference, answer and resolution.

Every action checks permission once (the actor must see and work on the ticket), validates
everything before writing, runs in one transaction (joining the ticket actions it calls),
writes a ``HistoryEntry`` and records outbox events:

* ``ticket.escalated`` / ``ticket.returned`` (aggregate ``ticket``) for every hand-over;
* ``supplier.escalated`` (aggregate ``ticket``) when a supplier is engaged; the email and
  webhook subscribers in :mod:`kapula.suppliers.delivery` send it to the supplier;
* ``supplier.message`` when an agent writes to the supplier again (sent the same way);
* ``supplier.updated`` when an engagement's state or reference changes.

The hand-over itself is told to the receiving team as an internal note in the
conversation; the customer sees nothing of it (no reply, no mail).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kapula.core.access import require_ticket
from kapula.core.db import atomic_action, insert_objects
from kapula.core.errors import Conflict, NotFound, ValidationFailed
from kapula.core.models import OutboxEvent, Team, Tier, User
from kapula.core.outbox import emit_many
from kapula.suppliers.models import (
    ACTIVE_ENGAGEMENT,
    EngagementState,
    Escalation,
    EscalationKind,
    Supplier,
    SupplierEngagement,
)
from kapula.tickets import actions as ticket_actions
from kapula.tickets.models import (
    ACTIVE_STATUSES,
    AuthorKind,
    Channel,
    HistoryEntry,
    Message,
    MessageKind,
    Status,
    Ticket,
)

MAX_REASON = 300
MAX_REFERENCE = 100


def _label(actor: User | None) -> str:
    return actor.display_name if actor is not None else "system"


def _team_name(team: Team | None) -> str:
    return f"{team.name} (#{team.pk})" if team is not None else ""


def _tier_label(tier: str) -> str:
    try:
        return str(Tier(tier).label)
    except ValueError:
        return tier


def _clean_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed(_("Give the reason for the hand-over."), code="reason_required",
                               field="reason")
    if len(reason) > MAX_REASON:
        raise ValidationFailed(_("The reason is too long (at most %(n)s characters).")
                               % {"n": MAX_REASON}, code="reason_too_long", field="reason")
    return reason


def _clean_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > settings.KAPULA_MAX_BODY_CHARS:
        raise ValidationFailed(_("The note is too long (at most %(n)s characters).")
                               % {"n": settings.KAPULA_MAX_BODY_CHARS}, code="note_too_long",
                               field="note")
    return note


def _locked(ticket: Ticket, expected_version: int | None) -> Ticket:
    locked = Ticket.objects.select_for_update().filter(pk=ticket.pk).first()
    if locked is None:
        raise NotFound(_("No such ticket."), code="ticket_not_found")
    if expected_version is not None and expected_version != locked.version:
        raise Conflict(_("The ticket was changed by someone else. Reload it and try again."),
                       code="stale_version", details={"current_version": locked.version})
    if locked.merged_into_id or locked.status not in ACTIVE_STATUSES:
        raise Conflict(_("Only an open ticket can be handed over."), code="ticket_closed")
    return locked


def _team_ok(team: Any, ticket: Ticket) -> Team:
    if not isinstance(team, Team) or team.organisation_id != ticket.organisation_id \
            or not team.is_active:
        raise ValidationFailed(_("Choose an active team of the ticket's organisation."),
                               code="invalid_team", field="target")
    if team.pk == ticket.team_id:
        raise ValidationFailed(_("The ticket is already with that team."), code="same_team",
                               field="target")
    return team


def _supplier_ok(supplier: Any, ticket: Ticket) -> Supplier:
    if not isinstance(supplier, Supplier) or supplier.organisation_id != ticket.organisation_id \
            or not supplier.is_active:
        raise ValidationFailed(_("Choose an active supplier of the ticket's organisation."),
                               code="invalid_supplier", field="target")
    teams = [t.pk for t in supplier.teams.all()]
    if teams and ticket.team_id not in teams:
        raise ValidationFailed(_("This supplier is not offered for the ticket's team."),
                               code="supplier_not_for_team", field="target")
    if SupplierEngagement.objects.filter(ticket=ticket, supplier=supplier,
                                         state__in=ACTIVE_ENGAGEMENT).exists():
        raise Conflict(_("The ticket is already with this supplier."), code="already_engaged",
                       field="target")
    return supplier


def _note_text(heading: str, reason: str, note: str) -> str:
    lines = [heading, _("Reason: %(reason)s") % {"reason": reason}]
    if note:
        lines += ["", note]
    return "\n".join(lines)


def _record(ticket: Ticket, actor: User | None, old: str, new: str, topic: str,
            field: str = "escalation", **payload: Any) -> None:
    """One history row and one outbox event about ``ticket``."""
    label = _label(actor)
    insert_objects([HistoryEntry(ticket=ticket, actor=actor, actor_label=label, field=field,
                                 old=old, new=new)])
    emit_many([OutboxEvent(organisation_id=ticket.organisation_id, topic=topic,
                           aggregate="ticket", aggregate_id=ticket.pk,
                           payload={"number": ticket.number, **payload})])


@atomic_action
def escalate(*, actor: User | None, ticket: Ticket, reason: str, note: str = "",
             to_team: Team | None = None, supplier: Supplier | None = None,
             wait_for_supplier: bool = True, expected_version: int | None = None
             ) -> Escalation:
    """Hand ``ticket`` to ``to_team`` or to ``supplier`` (exactly one), on the same ticket.

    To a team: the ticket moves to that team (its assignee stays only if a member of it).
    To a supplier: the ticket stays with its team, a :class:`SupplierEngagement` is opened
    with the supplier's response and resolution due times, the supplier is sent the case
    (email or webhook, after commit) and, with ``wait_for_supplier``, the ticket waits in
    "pending third party". Either way the reason and note become an internal note."""
    if (to_team is None) == (supplier is None):
        raise ValidationFailed(_("Choose one team or one supplier."),
                               code="target_required", field="target")
    reason = _clean_reason(reason)
    note = _clean_note(note)
    if actor is not None:
        require_ticket(actor, ticket)
    ticket = _locked(ticket, expected_version)
    from_team = ticket.team
    if to_team is not None:
        to_team = _team_ok(to_team, ticket)
        heading = _("Escalated from %(old)s to %(new)s.") % {
            "old": from_team.name if from_team else "—", "new": to_team.name}
    else:
        supplier = _supplier_ok(supplier, ticket)
        heading = _("Escalated to the supplier %(supplier)s.") % {"supplier": supplier.name}
    message = ticket_actions.add_message(
        actor=actor, ticket=ticket, kind=MessageKind.NOTE, body=_note_text(heading, reason, note),
        author_kind=AuthorKind.AGENT if actor is not None else AuthorKind.SYSTEM,
        author_name="" if actor is not None else "Kapula")
    changes: dict[str, Any] = {}
    if to_team is not None:
        changes["team"] = to_team
    elif wait_for_supplier and ticket.status != Status.PENDING_THIRD_PARTY:
        changes["status"] = Status.PENDING_THIRD_PARTY
    if changes:
        ticket = ticket_actions.update_ticket(actor=actor, ticket=ticket, changes=changes)
    engagement = None
    now = timezone.now()
    if supplier is not None:
        engagement = SupplierEngagement(
            organisation_id=ticket.organisation_id, ticket=ticket, supplier=supplier,
            sent_at=now, created_by=actor,
            response_due_at=now + timedelta(hours=supplier.response_hours)
            if supplier.response_hours else None,
            resolution_due_at=now + timedelta(hours=supplier.resolution_hours)
            if supplier.resolution_hours else None,
        )
        try:
            with transaction.atomic():
                engagement.save(force_insert=True)
        except IntegrityError:  # the same supplier engaged concurrently
            raise Conflict(_("The ticket is already with this supplier."),
                           code="already_engaged", field="target") from None
    escalation = Escalation.objects.create(
        organisation_id=ticket.organisation_id, ticket=ticket, kind=EscalationKind.ESCALATE,
        from_team=from_team, to_team=to_team,
        from_tier=from_team.tier if from_team else "",
        to_tier=to_team.tier if to_team is not None else Tier.SUPPLIER,
        supplier=supplier, engagement=engagement, reason=reason, note=note, message=message,
        actor=actor, actor_label=_label(actor), created_at=now,
    )
    target = _team_name(to_team) if to_team is not None else \
        f"{_tier_label(Tier.SUPPLIER)}: {supplier}"
    _record(ticket, actor, _team_name(from_team), f"{target} — {reason}", "ticket.escalated",
            escalation=escalation.pk, from_team=from_team.pk if from_team else None,
            to_team=to_team.pk if to_team is not None else None,
            supplier=supplier.pk if supplier is not None else None,
            engagement=engagement.pk if engagement is not None else None, reason=reason)
    if engagement is not None:
        emit_many([OutboxEvent(
            organisation_id=ticket.organisation_id, topic="supplier.escalated",
            aggregate="ticket", aggregate_id=ticket.pk,
            payload={"number": ticket.number, "engagement": engagement.pk,
                     "supplier": supplier.pk if supplier else None,
                     "escalation": escalation.pk, "message": message.pk})])
    return escalation


def previous_team(ticket: Ticket) -> Team | None:
    """The team the ticket was escalated from into its current team, if any."""
    last = (Escalation.objects.filter(ticket=ticket, to_team_id=ticket.team_id,
                                      kind=EscalationKind.ESCALATE, from_team__isnull=False)
            .select_related("from_team").order_by("-created_at", "-id").first())
    return last.from_team if last is not None else None


@atomic_action
def return_ticket(*, actor: User | None, ticket: Ticket, reason: str, note: str = "",
                  to_team: Team | None = None, expected_version: int | None = None
                  ) -> Escalation:
    """De-escalate: give the ticket back to ``to_team``, by default the team it was
    escalated from. Recorded like an escalation, with kind "return"."""
    reason = _clean_reason(reason)
    note = _clean_note(note)
    if actor is not None:
        require_ticket(actor, ticket)
    ticket = _locked(ticket, expected_version)
    if to_team is None:
        to_team = previous_team(ticket)
        if to_team is None:
            raise ValidationFailed(_("The ticket was not escalated to this team: choose the "
                                     "team to return it to."), code="nothing_to_return",
                                   field="target")
    to_team = _team_ok(to_team, ticket)
    from_team = ticket.team
    heading = _("Returned from %(old)s to %(new)s.") % {
        "old": from_team.name if from_team else "—", "new": to_team.name}
    message = ticket_actions.add_message(
        actor=actor, ticket=ticket, kind=MessageKind.NOTE, body=_note_text(heading, reason, note),
        author_kind=AuthorKind.AGENT if actor is not None else AuthorKind.SYSTEM,
        author_name="" if actor is not None else "Kapula")
    ticket = ticket_actions.update_ticket(actor=actor, ticket=ticket, changes={"team": to_team})
    escalation = Escalation.objects.create(
        organisation_id=ticket.organisation_id, ticket=ticket, kind=EscalationKind.RETURN,
        from_team=from_team, to_team=to_team, from_tier=from_team.tier if from_team else "",
        to_tier=to_team.tier, reason=reason, note=note, message=message, actor=actor,
        actor_label=_label(actor),
    )
    _record(ticket, actor, _team_name(from_team), f"{_team_name(to_team)} — {reason}",
            "ticket.returned", escalation=escalation.pk,
            from_team=from_team.pk if from_team else None, to_team=to_team.pk, reason=reason)
    return escalation


# --- engagements -------------------------------------------------------------------------------

#: the states an agent may set, from each state
ENGAGEMENT_TRANSITIONS: dict[str, set[str]] = {
    EngagementState.OPEN: {EngagementState.ANSWERED, EngagementState.RESOLVED,
                           EngagementState.CANCELLED},
    EngagementState.ANSWERED: {EngagementState.OPEN, EngagementState.RESOLVED,
                               EngagementState.CANCELLED},
    EngagementState.RESOLVED: set(),
    EngagementState.CANCELLED: set(),
}


def _met(done: Any, due: Any) -> bool | None:
    return None if due is None else done <= due


def _apply_state(engagement: SupplierEngagement, state: str, now: Any) -> list[str]:
    """Set ``state`` and the times and outcomes that go with it; the changed columns."""
    fields = ["state"]
    engagement.state = state
    if state in (EngagementState.ANSWERED, EngagementState.RESOLVED) \
            and engagement.responded_at is None:
        engagement.responded_at = now
        engagement.response_met = _met(now, engagement.response_due_at)
        fields += ["responded_at", "response_met"]
    if state == EngagementState.RESOLVED:
        engagement.resolved_at = now
        engagement.resolution_met = _met(now, engagement.resolution_due_at)
        fields += ["resolved_at", "resolution_met"]
    if state in (EngagementState.RESOLVED, EngagementState.CANCELLED):
        engagement.closed_at = now
        fields.append("closed_at")
    return fields


def _back_to_work(actor: User | None, ticket: Ticket, engagement: SupplierEngagement) -> None:
    """The supplier answered or the engagement ended: a ticket that waited for the
    supplier (and for nobody else) is open again, so that it shows up in the queue."""
    fresh = Ticket.objects.filter(pk=ticket.pk).only("status").first()
    if fresh is None or fresh.status != Status.PENDING_THIRD_PARTY:
        return
    others = SupplierEngagement.objects.filter(
        ticket_id=ticket.pk, state=EngagementState.OPEN).exclude(pk=engagement.pk).exists()
    if not others:
        ticket_actions.update_ticket(actor=actor, ticket=ticket,
                                     changes={"status": Status.OPEN},
                                     actor_label="" if actor else "supplier")


@atomic_action
def update_engagement(*, actor: User | None, engagement: SupplierEngagement,
                      reference: str | None = None, state: str | None = None
                      ) -> SupplierEngagement:
    """Edit the supplier's reference and/or move the engagement to another state
    (answered, resolved, cancelled, or back to waiting)."""
    ticket = engagement.ticket
    if actor is not None:
        require_ticket(actor, ticket)
    if reference is not None:
        reference = " ".join(reference.split())
        if len(reference) > MAX_REFERENCE:
            raise ValidationFailed(_("The reference is too long (at most %(n)s characters).")
                                   % {"n": MAX_REFERENCE}, code="reference_too_long",
                                   field="reference")
    if state is not None and state not in EngagementState.values:
        raise ValidationFailed(_("Unknown state."), code="invalid_state", field="state")
    locked = SupplierEngagement.objects.select_for_update().filter(pk=engagement.pk).first()
    if locked is None:
        raise NotFound(_("No such supplier engagement."), code="engagement_not_found")
    engagement = locked
    now = timezone.now()
    fields: list[str] = []
    history: list[tuple[str, str, str]] = []
    if reference is not None and reference != engagement.reference:
        history.append(("supplier_reference", engagement.reference, reference))
        engagement.reference = reference
        fields.append("reference")
    if state is not None and state != engagement.state:
        if state not in ENGAGEMENT_TRANSITIONS[engagement.state]:
            raise ValidationFailed(
                _("The engagement cannot go from %(old)s to %(new)s.")
                % {"old": EngagementState(engagement.state).label,
                   "new": EngagementState(state).label},
                code="invalid_transition", field="state")
        history.append(("supplier_state", engagement.state, state))
        fields += _apply_state(engagement, state, now)
    if not fields:
        return engagement
    engagement.save(update_fields=fields)
    label = _label(actor)
    insert_objects([HistoryEntry(ticket=ticket, actor=actor, actor_label=label, field=name,
                                 old=f"{engagement.supplier}: {old}" if old else "",
                                 new=f"{engagement.supplier}: {new}" if new else "")
                    for name, old, new in history])
    emit_many([OutboxEvent(organisation_id=ticket.organisation_id, topic="supplier.updated",
                           aggregate="ticket", aggregate_id=ticket.pk,
                           payload={"number": ticket.number, "engagement": engagement.pk,
                                    "state": engagement.state,
                                    "reference": engagement.reference})])
    if state in (EngagementState.ANSWERED, EngagementState.RESOLVED,
                 EngagementState.CANCELLED) and "state" in fields:
        _back_to_work(actor, ticket, engagement)
    return engagement


@atomic_action
def message_supplier(*, actor: User | None, engagement: SupplierEngagement, body: str
                     ) -> Message:
    """Write to the supplier about an active engagement (a question, more details). The
    text becomes an internal note and is sent like the escalation (``supplier.message``):
    by email in the same thread, or to the webhook."""
    body = (body or "").strip()
    if not body:
        raise ValidationFailed(_("The message is empty."), code="body_required", field="body")
    body = _clean_note(body)
    ticket = engagement.ticket
    if actor is not None:
        require_ticket(actor, ticket)
    locked = SupplierEngagement.objects.select_for_update().select_related("supplier").filter(
        pk=engagement.pk).first()
    if locked is None or not locked.is_active:
        raise Conflict(_("The supplier no longer works on this ticket."),
                       code="engagement_closed")
    heading = _("Message to the supplier %(supplier)s") % {"supplier": locked.supplier.name}
    message = ticket_actions.add_message(
        actor=actor, ticket=ticket, kind=MessageKind.NOTE, body=f"{heading}\n\n{body}",
        author_kind=AuthorKind.AGENT if actor is not None else AuthorKind.SYSTEM,
        author_name="" if actor is not None else "Kapula")
    emit_many([OutboxEvent(organisation_id=ticket.organisation_id, topic="supplier.message",
                           aggregate="ticket", aggregate_id=ticket.pk,
                           payload={"number": ticket.number, "engagement": locked.pk,
                                    "supplier": locked.supplier_id, "message": message.pk})])
    return message


@atomic_action
def record_supplier_reply(*, engagement: SupplierEngagement, body: str, body_html: str = "",
                          subject: str = "", external_id: str = "", automatic: bool = False,
                          attachments: Any = ()) -> Message:
    """The supplier wrote (by email): its message becomes an internal note on the ticket,
    never shown or sent to the customer. A real answer (not an automatic reply) marks a
    waiting engagement answered, and the supplier's reference is taken from the subject
    when the supplier has a pattern for it and none is known yet."""
    supplier = engagement.supplier
    heading = (_("Automatic reply from the supplier %(supplier)s") if automatic
               else _("Message from the supplier %(supplier)s")) % {"supplier": supplier.name}
    text = f"{heading}\n\n{body}" if body else heading
    message = ticket_actions.add_message(
        actor=None, ticket=engagement.ticket, kind=MessageKind.NOTE, body=text,
        body_html="", channel=Channel.EMAIL, author_kind=AuthorKind.PARTNER,
        author_name=supplier.name, external_id=external_id, attachments=attachments,
        actor_label="supplier")
    reference = supplier.reference_in(subject) if not engagement.reference else None
    state = EngagementState.ANSWERED if (
        not automatic and engagement.state == EngagementState.OPEN) else None
    if reference or state:
        update_engagement(actor=None, engagement=engagement, reference=reference or None,
                          state=state)
    return message
