"""The one triage view: an agent applies a suggestion to a ticket (POST, CSRF)."""

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
from kapula.tickets.models import Ticket
from kapula.triage import actions
from kapula.triage.models import Target


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


@login_required
@require_POST
def apply_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    scope = scope_for(user)
    ticket = Ticket.objects.filter(scope.ticket_q(), pk=ticket_id).first()
    if ticket is None:
        raise Http404
    back = reverse("desk:ticket", args=[ticket.pk])
    target = request.POST.get("target", "")
    value = _int(request.POST.get("value"))
    if target not in Target.values or value is None:
        messages.error(request, _("The suggestion could not be applied: the request was "
                                  "incomplete."))
        return HttpResponseRedirect(back + "#triage")
    try:
        ticket = actions.apply_suggestion(actor=user, ticket=ticket, target=target,
                                          value_id=value,
                                          expected_version=_int(request.POST.get("version")))
    except ActionError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(back + "#triage")
    messages.success(request, _("Suggestion applied."))
    if not scope_for(user).can_see(ticket):  # moved to a team this agent does not see
        return HttpResponseRedirect(reverse("desk:queue"))
    return HttpResponseRedirect(back)
