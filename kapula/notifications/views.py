"""The agent's notifications in the desk: the unread count in the header (loaded with htmx
after the page, so it costs ordinary pages no query), the list, marking read, preferences."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kapula.core.errors import ActionError, NotFound
from kapula.core.models import User
from kapula.notifications import actions
from kapula.notifications.models import Frequency, Kind, Notification
from kapula.notifications.texts import describe

PAGE_SIZE = 30


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return "/notifications/"


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


@require_GET
@never_cache
def badge_view(request: HttpRequest) -> HttpResponse:
    """The fragment htmx puts into the header link: the unread count, if any. Without a
    session it answers 204 (htmx then leaves the header alone) rather than redirecting to
    the login page, which htmx would follow and paste into the header."""
    if not request.user.is_authenticated:
        return HttpResponse(status=204)
    return render(request, "notifications/_badge.html",
                  {"unread": unread_count(request.user)})


@login_required
@require_GET
def list_view(request: HttpRequest) -> HttpResponse:
    """The user's notifications, newest first, PAGE_SIZE a page (``?before=<id>``)."""
    user: User = request.user  # type: ignore[assignment]
    qs = Notification.objects.filter(recipient=user)
    before = request.GET.get("before", "")
    if before:
        if not before.isdigit() or len(before) > 18:
            return render(request, "notifications/list.html", {
                "title": _("Notifications"), "items": [], "unread": 0,
                "error": _("The page link is not valid.")}, status=400)
        qs = qs.filter(pk__lt=int(before))
    rows = list(qs.order_by("-id")[:PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render(request, "notifications/list.html", {
        "title": _("Notifications"),
        "items": [{"n": n, "text": describe(n)} for n in rows],
        "unread": unread_count(user),
        "next_before": rows[-1].pk if more else None,
        "paged": bool(before),
    })


@login_required
@require_POST
def read_view(request: HttpRequest, notification_id: int) -> HttpResponse:
    try:
        actions.mark_read(actor=request.user, notification_id=notification_id)  # type: ignore[arg-type]
    except NotFound:
        raise Http404(_("No such notification.")) from None
    return redirect(_back(request))


@login_required
@require_POST
def read_all_view(request: HttpRequest) -> HttpResponse:
    count = actions.mark_all_read(actor=request.user)  # type: ignore[arg-type]
    if count:
        messages.success(request, _("All notifications are marked read."))
    return redirect(_back(request))


@login_required
@require_http_methods(["GET", "POST"])
def preferences_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    prefs = actions.preferences_of(user)
    error = ""
    status = 200
    shown = [k for k in Kind.values if k not in (prefs.muted or [])]
    frequency = prefs.frequency
    if request.method == "POST":
        shown = request.POST.getlist("shown")
        frequency = request.POST.get("frequency", "")
        try:
            if any(k not in Kind.values for k in shown):
                raise ActionError(_("Unknown notification kind."), code="invalid_kind")
            actions.save_preferences(actor=user, frequency=frequency,
                                     muted=[k for k in Kind.values if k not in shown])
        except ActionError as exc:
            error, status = exc.message, 422
        else:
            messages.success(request, _("Your notification preferences are saved."))
            return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {
        "title": _("Notification preferences"), "error": error,
        "kinds": [(value, label, value in shown) for value, label in Kind.choices],
        "frequencies": Frequency.choices, "frequency": frequency,
    }, status=status)
