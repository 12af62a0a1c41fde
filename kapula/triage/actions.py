"""Writes of triage: storing a trained model, applying a suggestion (by an agent, or
automatically for a new ticket). Ticket changes go through ``tickets.actions.update_ticket``,
which checks permission, writes history and emits the events."""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kapula.core.access import require_ticket
from kapula.core.db import atomic_action
from kapula.core.errors import ValidationFailed
from kapula.core.models import Organisation, Team, User
from kapula.tickets import actions as ticket_actions
from kapula.tickets.models import ACTIVE_STATUSES, Category, HistoryEntry, Ticket
from kapula.triage import queries
from kapula.triage.models import Target, TriageDecision, TriageModel, TriageSettings

log = logging.getLogger("kapula.triage")


def forget_versions(organisation_id: int) -> None:
    """Make every process look up the organisation's model versions again (now, and once
    more after commit, in case another process cached the old list meanwhile)."""
    key = queries.version_key(organisation_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


@atomic_action
def store_model(
    *, organisation: Organisation, target: str, data: bytes, classes: list[dict[str, Any]],
    n_samples: int, metrics: dict[str, Any],
) -> TriageModel:
    """Keep a newly trained model as the organisation's model for ``target``; the version
    grows by one, so every process reloads it at its next use."""
    if target not in Target.values:
        raise ValidationFailed(_("Unknown triage target."), code="invalid_target")
    forget_versions(organisation.pk)
    row = TriageModel.objects.select_for_update().filter(
        organisation=organisation, target=target).first()
    now = timezone.now()
    if row is None:
        return TriageModel.objects.create(
            organisation=organisation, target=target, version=1, trained_at=now,
            n_samples=n_samples, classes=classes, metrics=metrics, data=data)
    TriageModel.objects.filter(pk=row.pk).update(
        version=F("version") + 1, trained_at=now, n_samples=n_samples, classes=classes,
        metrics=metrics, data=data)
    row.refresh_from_db()
    return row


def _target_object(ticket: Ticket, target: str, value_id: int) -> Category | Team:
    models: dict[str, Any] = {Target.CATEGORY: Category, Target.TEAM: Team}
    model = models.get(target)
    if model is None:
        raise ValidationFailed(_("Unknown triage target."), code="invalid_target",
                               field="target")
    obj = model.objects.filter(organisation_id=ticket.organisation_id, pk=value_id,
                               is_active=True).first()
    if obj is None:
        raise ValidationFailed(
            _("The suggested category no longer exists.") if target == Target.CATEGORY
            else _("The suggested team no longer exists."),
            code="suggestion_unavailable", field=target)
    return obj


@atomic_action
def apply_suggestion(*, actor: User, ticket: Ticket, target: str, value_id: int,
                     expected_version: int | None = None) -> Ticket:
    """An agent accepts a suggestion: the ticket's category or team changes like any other
    edit of the agent's (the same permission check, history and events)."""
    require_ticket(actor, ticket)
    obj = _target_object(ticket, target, value_id)
    return ticket_actions.update_ticket(actor=actor, ticket=ticket, changes={target: obj},
                                        expected_version=expected_version)


def _chosen(ticket: Ticket, field: str) -> bool:
    """Whether a person or a rule already set ``field`` (category or team) of a new ticket:
    a category is chosen when there is one; a team when it is not the organisation's
    default team, when the ticket has an assignee, or when anybody changed it already."""
    if field == Target.CATEGORY:
        return ticket.category_id is not None or HistoryEntry.objects.filter(
            ticket=ticket, field="category").exists()
    default_team_id = Organisation.objects.filter(pk=ticket.organisation_id).values_list(
        "default_team_id", flat=True).first()
    return (ticket.team_id not in (None, default_team_id) or ticket.assignee_id is not None
            or HistoryEntry.objects.filter(ticket=ticket, field="team").exists())


@atomic_action
def auto_apply(*, ticket_id: int, organisation_id: int | None = None
               ) -> TriageDecision | None:
    """Apply the suggestions to a new ticket when the organisation asks for it and the model
    is confident enough. Runs once per ticket: the decision row makes a second call a no-op.
    History names triage and the confidence, e.g. "triage (0.93)"."""
    if organisation_id is not None and not TriageSettings.objects.filter(
            organisation_id=organisation_id, auto_apply=True).exists():
        return None  # the common case: one cheap query, no lock
    ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    if ticket is None:
        return None
    setting = TriageSettings.objects.filter(organisation_id=ticket.organisation_id).first()
    if setting is None or not setting.auto_apply:
        return None
    if TriageDecision.objects.filter(ticket_id=ticket_id).exists():
        return None
    if ticket.status not in ACTIVE_STATUSES or ticket.merged_into_id:
        return None
    body = queries.first_bodies([ticket.pk]).get(ticket.pk, "")
    try:
        suggestions = queries.suggest(ticket.organisation_id, ticket.title, body)
    except Exception:  # e.g. a model pickled by another scikit-learn: retrain, don't retry
        log.exception("triage: no suggestion for ticket %s", ticket.pk)
        return None
    if not suggestions:
        return None
    decision = TriageDecision(ticket=ticket)
    for target in (Target.CATEGORY, Target.TEAM):
        s = suggestions.get(target)
        if s is None:
            continue
        setattr(decision, f"{target}_id_suggested", s.value_id)
        setattr(decision, f"{target}_confidence", s.confidence)
        if s.confidence < setting.threshold or _chosen(ticket, target):
            continue
        try:
            obj = _target_object(ticket, target, s.value_id)
        except ValidationFailed:
            continue  # deleted or deactivated since training
        if getattr(ticket, f"{target}_id") == obj.pk:
            continue
        ticket = ticket_actions.update_ticket(
            actor=None, ticket=ticket, changes={target: obj},
            actor_label=f"triage ({s.confidence:.2f})")
        setattr(decision, f"{target}_applied", True)
    decision.save()
    return decision
