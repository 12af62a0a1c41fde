"""Desk views of escalation: parse the form, call the action, show the ticket again.

The forms live on the ticket page (``{% escalation_panel %}``); when an action refuses, the
ticket page is rendered again with the bound form and its errors (HTTP 4xx), exactly like
the page's own forms.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kapula.core.access import scope_for
from kapula.core.errors import ActionError
from kapula.core.models import User
from kapula.desk.views import _apply_error, _back_to_ticket, _load_ticket, _render_ticket
from kapula.suppliers import actions, queries
from kapula.suppliers.forms import (
    EngagementForm,
    EscalateForm,
    ReturnForm,
    SupplierMessageForm,
)
from kapula.suppliers.models import SupplierEngagement
from kapula.tickets.models import Ticket

#: request attribute through which a refused form reaches the panel's template tag
FORMS_ATTR = "_kapula_escalation_forms"


def escalate_form(ticket: Ticket, data: object = None) -> EscalateForm:
    return EscalateForm(data, initial={"version": ticket.version},
                        teams=queries.team_choices(ticket),
                        suppliers=queries.supplier_choices(ticket))


def return_form(ticket: Ticket, data: object = None) -> ReturnForm:
    return ReturnForm(data, initial={"version": ticket.version,
                                     "team": queries.return_target(ticket)},
                      teams=queries.team_choices(ticket))


def _again(request: HttpRequest, ticket: Ticket, name: str, form: object,
           status: int) -> HttpResponse:
    setattr(request, FORMS_ATTR, {name: form})
    return _render_ticket(request, ticket, status=status)


def _after_handover(request: HttpRequest, user: User, ticket: Ticket) -> HttpResponseRedirect:
    """Back to the ticket, or to the queue when the ticket left the user's sight."""
    if Ticket.objects.filter(scope_for(user).ticket_q(), pk=ticket.pk).exists():
        return _back_to_ticket(ticket, "escalation")
    return HttpResponseRedirect(reverse("desk:queue"))


@login_required
@require_POST
def escalate_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    ticket = _load_ticket(user, ticket_id)
    form = escalate_form(ticket, request.POST)
    if not form.is_valid():
        return _again(request, ticket, "escalate", form, 422)
    d = form.cleaned_data
    kind, pk = form.target_parts()
    team = queries.team_of(ticket, pk) if kind == "team" else None
    supplier = queries.supplier_of(ticket, pk) if kind == "supplier" else None
    try:
        escalation = actions.escalate(actor=user, ticket=ticket, reason=d["reason"],
                                      note=d["note"] or "", to_team=team, supplier=supplier,
                                      expected_version=d["version"])
    except ActionError as exc:
        _apply_error(form, request, exc)
        return _again(request, _load_ticket(user, ticket_id), "escalate", form, exc.status)
    target = escalation.supplier.name if escalation.supplier else \
        escalation.to_team.name if escalation.to_team else ""
    messages.success(request, _("%(number)s was escalated to %(target)s.")
                     % {"number": ticket.number, "target": target})
    return _after_handover(request, user, ticket)


@login_required
@require_POST
def return_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    ticket = _load_ticket(user, ticket_id)
    form = return_form(ticket, request.POST)
    if not form.is_valid():
        return _again(request, ticket, "return", form, 422)
    d = form.cleaned_data
    try:
        escalation = actions.return_ticket(
            actor=user, ticket=ticket, reason=d["reason"],
            to_team=queries.team_of(ticket, d["team"]), expected_version=d["version"])
    except ActionError as exc:
        _apply_error(form, request, exc)
        return _again(request, _load_ticket(user, ticket_id), "return", form, exc.status)
    messages.success(request, _("%(number)s was returned to %(team)s.")
                     % {"number": ticket.number,
                        "team": escalation.to_team.name if escalation.to_team else ""})
    return _after_handover(request, user, ticket)


@login_required
@require_POST
def engagement_view(request: HttpRequest, ticket_id: int, engagement_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    ticket = _load_ticket(user, ticket_id)
    engagement = _engagement_or_404(ticket, engagement_id)
    form = EngagementForm(request.POST, prefix=f"eng{engagement.pk}",
                          states=engagement_states(engagement))
    status = 422
    if form.is_valid():
        try:
            actions.update_engagement(actor=user, engagement=engagement,
                                      reference=form.cleaned_data["reference"],
                                      state=form.cleaned_data["state"])
        except ActionError as exc:
            _apply_error(form, request, exc)
            status = exc.status
        else:
            messages.success(request, _("The supplier engagement was saved."))
            return _back_to_ticket(ticket, "escalation")
    return _again(request, ticket, f"engagement{engagement.pk}", form, status)


def _engagement_or_404(ticket: Ticket, engagement_id: int) -> SupplierEngagement:
    engagement = (SupplierEngagement.objects.select_related("supplier", "ticket")
                  .filter(ticket=ticket, pk=engagement_id).first())
    if engagement is None:
        raise Http404
    return engagement


@login_required
@require_POST
def engagement_message_view(request: HttpRequest, ticket_id: int,
                            engagement_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    ticket = _load_ticket(user, ticket_id)
    engagement = _engagement_or_404(ticket, engagement_id)
    form = SupplierMessageForm(request.POST, prefix=f"msg{engagement.pk}")
    status = 422
    if form.is_valid():
        try:
            actions.message_supplier(actor=user, engagement=engagement,
                                     body=form.cleaned_data["body"])
        except ActionError as exc:
            _apply_error(form, request, exc)
            status = exc.status
        else:
            messages.success(request, _("The message to the supplier was sent."))
            return _back_to_ticket(ticket, "escalation")
    return _again(request, ticket, f"message{engagement.pk}", form, status)


def engagement_states(engagement: SupplierEngagement) -> list[str]:
    return [engagement.state, *sorted(actions.ENGAGEMENT_TRANSITIONS[engagement.state])]
