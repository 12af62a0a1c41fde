"""Views of the agent workspace: parse input, call an action or a query, render.

Every write is a POST with CSRF and goes through an action; every action error becomes a
form error or a message in the user's language. htmx requests get the same pages (the
client picks the part it needs with ``hx-select``), so every form also works as a plain POST.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db.models import Q
from django.forms import Form
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language

from kapula.catalogue.actions import Submission, submit, validate
from kapula.catalogue.models import FormSubmission, Service
from kapula.core import actions as core_actions
from kapula.core import ratelimit
from kapula.core.access import scope_for
from kapula.core.actions import CustomerIdentity
from kapula.core.errors import ActionError, Conflict, TooLarge
from kapula.core.models import ApiToken, Language, Role, Team, User
from kapula.desk import forms as f
from kapula.desk import lookups
from kapula.intake.actions import Intake, receive
from kapula.intake.mail.ingest import our_addresses
from kapula.intake.mail.models import InboundEmail, OutboundEmail
from kapula.intake.webform.views import (
    error_target,
    field_rows,
    posted_files,
    posted_location,
    posted_values,
)
from kapula.tickets import actions as ticket_actions
from kapula.tickets import config, queries
from kapula.tickets.attachments import AttachmentInput
from kapula.tickets.models import (
    Attachment,
    Category,
    CustomFieldValue,
    FieldKind,
    MessageKind,
    Status,
    Ticket,
    TicketLink,
    TicketType,
)

# --- helpers --------------------------------------------------------------------------------


def _apply_error(form: Form | None, request: HttpRequest, error: ActionError) -> None:
    """Show an action error on the form field it names, else on the form, else as a message."""
    if form is not None:
        name = (error.field or "").split(".")[0]
        if name == "custom_fields" and error.field and error.field.count("."):
            name = "cf_" + error.field.split(".", 1)[1]
        if name and name in form.fields:
            form.add_error(name, error.message)
        else:
            form.add_error(None, error.message)
    else:
        messages.error(request, error.message)


def _uploads(files: list[Any]) -> list[AttachmentInput]:
    """Uploaded files for an action; an oversize file is refused before it is read."""
    limit = settings.KAPULA_MAX_ATTACHMENT_BYTES
    for upload in files:
        if upload.size is not None and upload.size > limit:
            raise TooLarge(
                _("The attachment %(name)s is too large (at most %(mb)s MB).")
                % {"name": upload.name, "mb": limit // (1024 * 1024)},
                code="attachment_too_large", field="attachments")
    return [AttachmentInput(filename=u.name or "attachment", content=u.read(),
                            content_type=u.content_type or "") for u in files]


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"




def _org_choices(user: User) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Active ticket types and categories, named in the current language (the rows are
    cached per process with the rest of the ticket configuration)."""
    org_id = user.organisation_id or 0
    types = config.cached("desk_types", org_id, lambda: list(
        TicketType.objects.filter(organisation_id=org_id, is_active=True)))
    cats = config.cached("desk_categories", org_id, lambda: list(
        Category.objects.filter(organisation_id=org_id, is_active=True)))
    return [(t.pk, t.name) for t in types], [(c.pk, c.name) for c in cats]


def _set_language_cookie(response: HttpResponseBase, language: str) -> None:
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language,
                        max_age=settings.LANGUAGE_COOKIE_AGE,
                        samesite=settings.LANGUAGE_COOKIE_SAMESITE or "Lax",
                        secure=settings.LANGUAGE_COOKIE_SECURE,
                        httponly=settings.LANGUAGE_COOKIE_HTTPONLY)


# --- login, logout, language ----------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("desk:queue")
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = ""
    form = f.LoginForm(request, data=request.POST or None)
    status = 200
    blocked = ""
    if request.method == "POST":
        attempts, seconds = ratelimit.parse_rate(settings.KAPULA_LOGIN_RATE, (10, 300))
        username = (request.POST.get("username") or "").strip().lower()[:150]
        key = f"kapula:login:{_client_ip(request)}:{username}"
        tried = cache.get(key, 0)
        if tried >= attempts:
            form = f.LoginForm(request, initial={"username": username})
            blocked = _("Too many login attempts. Wait %(minutes)s minutes and try again.") % {
                "minutes": max(1, seconds // 60)}
            status = 429
        elif form.is_valid():
            cache.delete(key)
            user = form.get_user()
            auth_login(request, user)
            response = HttpResponseRedirect(next_url or reverse(settings.LOGIN_REDIRECT_URL))
            if user.language in Language.values:
                _set_language_cookie(response, user.language)
            return response
        else:
            ratelimit.count(key, seconds)
    return render(request, "desk/login.html", {"form": form, "next": next_url,
                                              "blocked": blocked},
                  status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    messages.info(request, _("You have logged out."))
    return redirect("desk:login")


@require_POST
def set_language(request: HttpRequest) -> HttpResponseBase:
    """Django's set_language, and the choice is remembered on the agent's account."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    user = request.user
    if user.is_authenticated and language in Language.values:
        core_actions.set_interface_language(actor=user, language=language)
    return response


# --- queue ----------------------------------------------------------------------------------

VIEW_LABELS = {
    "mine": gettext_lazy("Mine"),
    "unassigned": gettext_lazy("Unassigned in my teams"),
    "team": gettext_lazy("Team"),
    "all": gettext_lazy("All visible"),
}


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


@login_required
@require_GET
def queue_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    scope = scope_for(user)
    view = request.GET.get("view") or "mine"
    if view not in queries.VIEWS or (view == "all" and not scope.is_org_admin):
        view = "mine"
    team_id = _int_or_none(request.GET.get("team"))

    visible_teams = list(
        Team.objects.filter(organisation_id=user.organisation_id or 0, is_active=True)
        .filter(Q() if scope.all_teams else Q(pk__in=sorted(scope.team_ids)))
        .order_by("name_fi")
    )
    if view == "team" and team_id not in {t.pk for t in visible_teams}:
        team_id = visible_teams[0].pk if visible_teams else None
    types, cats = _org_choices(user)
    assignee_choices = [(str(u.pk), u.display_name) for u in User.objects.filter(
        organisation_id=user.organisation_id or 0, is_active=True,
        memberships__team_id__in=[t.pk for t in visible_teams]).distinct().order_by(
        "first_name", "last_name", "username")]
    form = f.QueueFilterForm(request.GET or None, type_choices=types, category_choices=cats,
                             assignee_choices=assignee_choices)
    flt = queries.TicketFilter()
    sort = "-updated"
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        assignee = d.get("assignee") or None
        flt = queries.TicketFilter(
            statuses=d["status"], priorities=d["priority"], types=d["type"],
            channels=d["channel"], languages=d["language"], categories=d["category"],
            assignee="none" if assignee == "none" else _int_or_none(assignee),
            created_from=d.get("created_from"), created_to=d.get("created_to"),
        )
        sort = d["sort"]
    qs = queries.apply_filter(queries.queue(user, view, team_id), flt).select_related(
        "team", "assignee", "customer")
    cursor = request.GET.get("cursor") or None
    try:
        page = queries.paginate(qs, sort=sort, cursor=cursor, limit=50)
    except ActionError as exc:
        messages.warning(request, exc.message)
        cursor = None
        page = queries.paginate(qs, sort=sort, limit=50)
    counts = queries.queue_counts(user)

    params = {k: v for k, v in request.GET.lists() if k != "cursor"}
    base_params = [(k, v) for k, values in params.items() for v in values]
    next_url = ("?" + urlencode([*base_params, ("cursor", page.next_cursor)])
                if page.next_cursor else "")
    first_url = "?" + urlencode(base_params) if cursor else ""
    tabs = [
        {"view": "mine", "label": VIEW_LABELS["mine"], "count": counts["mine"],
         "url": "?view=mine", "current": view == "mine"},
        {"view": "unassigned", "label": VIEW_LABELS["unassigned"],
         "count": counts["unassigned"], "url": "?view=unassigned",
         "current": view == "unassigned"},
    ]
    for t in visible_teams:
        tabs.append({"view": "team", "label": t.name, "count": counts["teams"].get(t.pk, 0),
                     "url": f"?view=team&team={t.pk}",
                     "current": view == "team" and team_id == t.pk})
    if scope.is_org_admin:
        tabs.append({"view": "all", "label": VIEW_LABELS["all"], "count": None,
                     "url": "?view=all", "current": view == "all"})
    current = next((t for t in tabs if t["current"]), tabs[0])
    filtered = bool(form.is_bound and any(
        request.GET.get(k) for k in form.fields if k != "sort"))
    return render(request, "desk/queue.html", {
        "page": page, "tabs": tabs, "current_tab": current, "form": form, "view": view,
        "team_id": team_id, "next_url": next_url, "first_url": first_url,
        "filtered": filtered, "title": current["label"],
        # only the untouched form is shared between requests (no field of it in the query)
        "filter_fields": _filter_fields_html(form, bound=any(k in request.GET
                                                             for k in form.fields)),
    })


_FILTER_HTML: dict[tuple[object, ...], tuple[float, str]] = {}
FILTER_HTML_SECONDS = 60.0


def _filter_fields_html(form: f.QueueFilterForm, *, bound: bool) -> str:
    """The filter form's fields as HTML. The empty form (the usual case) looks the same for
    everybody with the same choices and language, so its HTML is kept for a minute: it has
    some sixty widgets, the most expensive part of the queue page to render."""
    def render_fields() -> str:
        return "".join(render_to_string("desk/_field.html", {"field": field})
                       for field in form)

    if bound:
        return mark_safe(render_fields())  # noqa: S308 - our own template output
    key = (get_language(), *(tuple(field.field.choices) if hasattr(field.field, "choices")
                             else () for field in form))
    now = time.monotonic()
    hit = _FILTER_HTML.get(key)
    if hit is None or hit[0] < now:
        if len(_FILTER_HTML) > 500:
            _FILTER_HTML.clear()
        hit = (now + FILTER_HTML_SECONDS, render_fields())
        _FILTER_HTML[key] = hit
    return mark_safe(hit[1])  # noqa: S308 - our own template output


# --- ticket page ----------------------------------------------------------------------------


def _visible_ticket(user: User, ticket_id: int) -> Ticket:
    try:
        return ticket_actions.visible_or_404(user, ticket_id)
    except ActionError:
        raise Http404 from None


def _properties_form(ticket: Ticket, user: User, data: Any = None,
                     type_id: int | None = None, category_id: int | None = None
                     ) -> f.PropertiesForm:
    org_id = ticket.organisation_id
    types, cats = _org_choices(user)
    teams = [(t.pk, t.name) for t in Team.objects.filter(organisation_id=org_id,
                                                         is_active=True).order_by("name_fi")]
    members = User.objects.filter(organisation_id=org_id, is_active=True).filter(
        Q(memberships__team_id=ticket.team_id) | Q(pk=user.pk)
        | Q(pk=ticket.assignee_id or 0)).distinct().order_by("first_name", "username")
    status_choices = [(ticket.status, Status(ticket.status).label)] + [
        (s, Status(s).label) for s in ticket_actions.allowed_transitions(ticket.status)]
    custom = ticket_actions.fields_for(
        org_id, type_id if type_id is not None else ticket.ticket_type_id,
        category_id if category_id is not None else ticket.category_id)
    initial: dict[str, Any] = {
        "status": ticket.status, "impact": ticket.impact, "urgency": ticket.urgency,
        "team": ticket.team_id, "assignee": ticket.assignee_id,
        "ticket_type": ticket.ticket_type_id, "category": ticket.category_id,
        "tags": ", ".join(sorted(t.name for t in ticket.tags.all())),
        "address": ticket.address, "version": ticket.version,
    }
    if custom:
        for v in CustomFieldValue.objects.filter(ticket=ticket, field__in=custom).select_related(
                "field"):
            value = v.value
            if v.field.kind == FieldKind.BOOLEAN and value is not None:
                value = "true" if value else "false"
            initial[f"cf_{v.field.key}"] = value
    return f.PropertiesForm(
        data, initial=initial, status_choices=status_choices, team_choices=teams,
        assignee_choices=[(u.pk, u.display_name) for u in members], type_choices=types,
        category_choices=cats, custom_fields=custom,
    )


def _ticket_queryset() -> Any:
    return Ticket.objects.select_related(
        "team", "assignee", "customer", "ticket_type", "category", "category__parent",
        "parent", "merged_into",
    ).prefetch_related("tags", "customer__contacts")


def _render_ticket(request: HttpRequest, ticket: Ticket, *, reply_form: f.ReplyForm | None = None,
                   properties_form: f.PropertiesForm | None = None,
                   link_form: f.LinkForm | None = None, merge_form: f.MergeForm | None = None,
                   status: int = 200) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    conversation = list(ticket.messages.select_related("author_user").prefetch_related(
        "attachments", "emails", "outbound_emails").order_by("created_at", "id"))
    mails = list(OutboundEmail.objects.filter(ticket=ticket, message__isnull=True)
                 .order_by("created_at", "id")[:50])
    submission = FormSubmission.objects.filter(ticket=ticket).select_related("service").first()
    history = list(ticket.history.order_by("-at", "-id")[:200])
    links = list(TicketLink.objects.filter(Q(source=ticket) | Q(target=ticket)).select_related(
        "source", "target"))
    # linked tickets are listed only when this agent may see them (their titles can tell
    # something about other teams' customers)
    scope = scope_for(user)
    related = [(other, lk.get_kind_display()) for lk in links
               for other in [lk.target if lk.source_id == ticket.pk else lk.source]
               if scope.can_see(other)]
    children = list(Ticket.objects.filter(scope.ticket_q(), parent=ticket).only(
        "id", "number", "title", "status"))
    parent = ticket.parent
    if parent is not None and not scope.can_see(parent):
        parent = None
    attachments = [a for m in conversation for a in m.attachments.all()]
    customer = ticket.customer
    who = (customer.emails[:1] or customer.phones[:1] or [customer.name]) if customer else []
    # where a reply will be emailed (as the mail channel decides it), from what is loaded
    mail_to = next((c for c in customer.contacts.all() if c.kind == "email"), None) \
        if customer else None
    latest_cc: list[str] = next(
        (mail.cc for m in reversed(conversation) for mail in m.emails.all()), [])
    own = our_addresses() if latest_cc else set()
    mail_cc = [c for c in latest_cc if mail_to is not None and c.lower() not in own
               and c.lower() != mail_to.value.lower()]
    customer_query = urlencode({"q": who[0], "widen": "1"}) if who and who[0] else ""
    return render(request, "desk/ticket.html", {
        "ticket": ticket, "title": f"{ticket.number} {ticket.title}",
        "conversation": conversation, "history": history, "related": related,
        "children": children, "parent": parent, "attachments": attachments,
        "reply_form": reply_form or f.ReplyForm(initial={"version": ticket.version}),
        "properties_form": properties_form or _properties_form(ticket, user),
        "link_form": link_form or f.LinkForm(),
        "merge_form": merge_form or f.MergeForm(),
        "customer": customer, "customer_query": customer_query,
        "MessageKind": MessageKind, "automatic_mails": mails, "mail_to": mail_to,
        "mail_cc": mail_cc, "submission": submission,
    }, status=status)


def _load_ticket(user: User, ticket_id: int) -> Ticket:
    ticket = _ticket_queryset().filter(scope_for(user).ticket_q(), pk=ticket_id).first()
    if ticket is None:
        raise Http404
    return ticket


def _back_to_ticket(ticket: Ticket, anchor: str = "") -> HttpResponseRedirect:
    url = reverse("desk:ticket", args=[ticket.pk])
    return HttpResponseRedirect(url + (f"#{anchor}" if anchor else ""))


@login_required
@require_GET
def ticket_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    return _render_ticket(request, _load_ticket(user, ticket_id))


@login_required
@require_POST
def reply_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    ticket = _load_ticket(user, ticket_id)
    form = f.ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        d = form.cleaned_data
        kind = MessageKind.NOTE if d["kind"] == "note" else MessageKind.REPLY
        try:
            ticket_actions.add_message(
                actor=user, ticket=ticket, kind=kind, body=d["body"] or "",
                attachments=_uploads(d["attachments"]), expected_version=d["version"])
        except Conflict as exc:
            ticket = _load_ticket(user, ticket_id)
            data = request.POST.copy()
            data["version"] = str(ticket.version)
            form = f.ReplyForm(data)
            form.is_valid()
            form.add_error(None, _("%(error)s The new messages are shown above. Your text "
                                   "was kept: check it and send again (attach any files "
                                   "again).") % {"error": exc.message})
            return _render_ticket(request, ticket, reply_form=form, status=409)
        except ActionError as exc:
            _apply_error(form, request, exc)
            return _render_ticket(request, ticket, reply_form=form, status=exc.status)
        messages.success(request, _("Internal note added.") if kind == MessageKind.NOTE
                         else _("Reply sent."))
        return _back_to_ticket(ticket, "compose")
    return _render_ticket(request, ticket, reply_form=form, status=422)


@login_required
@require_POST
def update_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    ticket = _load_ticket(user, ticket_id)
    type_id = _int_or_none(request.POST.get("ticket_type"))
    cat_id = _int_or_none(request.POST.get("category"))
    form = _properties_form(ticket, user, request.POST, type_id or 0, cat_id or 0)
    if not form.is_valid():
        return _render_ticket(request, ticket, properties_form=form, status=422)
    d = form.cleaned_data
    org_id = ticket.organisation_id
    try:
        team = Team.objects.filter(organisation_id=org_id, pk=d["team"]).first()
        assignee = (User.objects.filter(organisation_id=org_id, pk=d["assignee"]).first()
                    if d["assignee"] else None)
        ttype = (TicketType.objects.filter(organisation_id=org_id, pk=d["ticket_type"]).first()
                 if d["ticket_type"] else None)
        category = (Category.objects.filter(organisation_id=org_id, pk=d["category"]).first()
                    if d["category"] else None)
        changes: dict[str, Any] = {
            "status": d["status"], "impact": d["impact"], "urgency": d["urgency"],
            "team": team, "assignee": assignee, "ticket_type": ttype, "category": category,
            "tags": form.tag_names(), "custom_fields": form.custom_values(),
        }
        if d["assignee"] == ticket.assignee_id:
            # unchanged: let a move to another team free the assignee if they stay behind
            del changes["assignee"]
        if (d.get("address") or "") != ticket.address:
            changes["location"] = ticket_actions.Location(
                latitude=ticket.latitude, longitude=ticket.longitude,
                address=d.get("address") or "")
        ticket_actions.update_ticket(actor=user, ticket=ticket, changes=changes,
                                     expected_version=d["version"])
    except Conflict as exc:
        ticket = _load_ticket(user, ticket_id)
        form.add_error(None, _("%(error)s Your choices are still in the form: check them "
                               "against the current ticket and save again.")
                       % {"error": exc.message})
        data = request.POST.copy()
        data["version"] = str(ticket.version)
        form.data = data
        return _render_ticket(request, ticket, properties_form=form, status=409)
    except ActionError as exc:
        _apply_error(form, request, exc)
        return _render_ticket(request, ticket, properties_form=form, status=exc.status)
    messages.success(request, _("Ticket updated."))
    return _back_to_ticket(ticket, "properties")


@login_required
@require_POST
def take_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """One click: assign the ticket to me (in its current team)."""
    user: User = request.user  # type: ignore[assignment]
    ticket = _load_ticket(user, ticket_id)
    try:
        ticket_actions.assign(actor=user, ticket=ticket, assignee=user,
                              expected_version=_int_or_none(request.POST.get("version")))
    except ActionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The ticket is now assigned to you."))
    return _back_to_ticket(ticket)


def _ticket_by_number(user: User, number: str) -> Ticket | None:
    return Ticket.objects.filter(scope_for(user).ticket_q(),
                                 number=number.strip().upper()).first()


@login_required
@require_POST
def link_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    ticket = _load_ticket(user, ticket_id)
    form = f.LinkForm(request.POST)
    if form.is_valid():
        other = _ticket_by_number(user, form.cleaned_data["number"])
        if other is None:
            form.add_error("number", _("No ticket with that number was found."))
        else:
            try:
                ticket_actions.link(actor=user, ticket=ticket, other=other,
                                    kind=form.cleaned_data["kind"])
            except ActionError as exc:
                _apply_error(form, request, exc)
            else:
                messages.success(request, _("Tickets linked."))
                return _back_to_ticket(ticket, "links")
    return _render_ticket(request, ticket, link_form=form, status=422)


@login_required
@require_POST
def merge_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    ticket = _load_ticket(user, ticket_id)
    form = f.MergeForm(request.POST)
    if form.is_valid():
        target = _ticket_by_number(user, form.cleaned_data["number"])
        if target is None:
            form.add_error("number", _("No ticket with that number was found."))
        else:
            try:
                target = ticket_actions.merge(actor=user, source=ticket, target=target)
            except ActionError as exc:
                _apply_error(form, request, exc)
            else:
                messages.success(request, _("%(source)s was merged into %(target)s.")
                                 % {"source": ticket.number, "target": target.number})
                return _back_to_ticket(target)
    return _render_ticket(request, ticket, merge_form=form, status=422)


@login_required
@require_GET
def attachment_view(request: HttpRequest, attachment_id: int) -> FileResponse:
    user: User = request.user  # type: ignore[assignment]
    attachment = Attachment.objects.filter(
        pk=attachment_id, ticket__in=Ticket.objects.filter(scope_for(user).ticket_q())
    ).first()
    if attachment is None:
        raise Http404
    return _download(attachment.file, attachment.filename, "application/octet-stream")


def _download(stored: Any, filename: str, content_type: str) -> FileResponse:
    """A stored file as a private download that browsers never render."""
    try:
        handle = stored.open("rb")
    except OSError:
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=filename,
                            content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def inbound_raw_view(request: HttpRequest, inbound_id: int) -> FileResponse:
    """The original of a received mail, as it came (.eml): for agents who may see its
    ticket, and for the organisation's admins (quarantined mail has no ticket)."""
    user: User = request.user  # type: ignore[assignment]
    visible = Q(ticket__in=Ticket.objects.filter(scope_for(user).ticket_q()))
    if user.role == Role.ORG_ADMIN:
        visible |= Q(organisation_id=user.organisation_id)
    if user.is_superuser:
        visible = Q()
    item = InboundEmail.objects.filter(visible, pk=inbound_id).first()
    if item is None:
        raise Http404
    return _download(item.raw, f"message-{item.pk}.eml", "message/rfc822")


# --- new ticket on behalf of a customer -----------------------------------------------------


def _new_ticket_form(user: User, data: Any = None, files: Any = None) -> f.NewTicketForm:
    types, cats = _org_choices(user)
    scope = scope_for(user)
    teams = [(t.pk, t.name) for t in Team.objects.filter(
        organisation_id=user.organisation_id or 0, is_active=True).order_by("name_fi")]
    member = sorted(scope.member_team_ids)
    initial = {"team": member[0] if member else None}
    return f.NewTicketForm(data, files, initial=initial, type_choices=types,
                           category_choices=cats, team_choices=teams)


def _desk_services(user: User) -> Any:
    """The catalogue services agents of the user's organisation record contacts on (any
    visibility: the agent records the contact on the customer's behalf)."""
    return Service.objects.filter(organisation_id=user.organisation_id or 0, on_desk=True,
                                  is_active=True)


def _chosen_service(user: User, code: str) -> Service | None:
    """The service named by ``?service=``/the posted ``service``; 404 for one that is not
    offered to this organisation's desk."""
    if not code:
        return None
    service = (_desk_services(user).filter(code=code[:50]).select_related("organisation")
               .prefetch_related("fields").first())
    if service is None:
        raise Http404
    return service


def _service_choices(user: User) -> list[Service]:
    return list(_desk_services(user).only("code", "name_fi", "name_sv", "name_en", "ordering"))


@login_required
@require_http_methods(["GET", "POST"])
def new_ticket_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if user.organisation is None:
        raise Http404
    source = request.POST if request.method == "POST" else request.GET
    service = _chosen_service(user, (source.get("service") or "").strip())
    if service is not None:
        return _service_ticket(request, user, service)
    if request.method != "POST":
        # A plain GET may carry the form's values and a customer search (the no-JS path of
        # the customer look-up); they only prefill the form.
        form = _new_ticket_form(user)
        text = (request.GET.get("customer_q") or "").strip()[:100]
        for name in form.fields:
            if name in request.GET and name != "attachments":
                form.initial[name] = request.GET.get(name)
        return render(request, "desk/new_ticket.html", {
            "form": form, "title": _("New ticket"), "services": _service_choices(user),
            "chosen": lookups.customer(user, _int_or_none(request.GET.get("customer_id"))),
            "customers": lookups.find_customers(user, text) if len(text) >= 2 else None,
            "customer_q": text})
    form = _new_ticket_form(user, request.POST, request.FILES)
    chosen_id = _int_or_none(request.POST.get("customer_id"))
    chosen = lookups.customer(user, chosen_id)
    status = 422
    if chosen_id and chosen is None:
        form.is_valid()
        form.add_error(None, _("No such customer."))
    elif form.is_valid():
        d = form.cleaned_data
        org = user.organisation
        identity = CustomerIdentity(
            name=d["customer_name"], email=d["customer_email"], phone=d["customer_phone"],
            customer_id=chosen.pk if chosen else None)
        team = Team.objects.filter(organisation=org, pk=d["team"]).first() if d["team"] else None
        resolved = d["resolved"]
        try:
            result = receive(Intake(
                organisation=org, channel=d["channel"], body=d["body"], subject=d["title"],
                customer=identity, language=d["language"] or None,
                attachments=_uploads(d["attachments"]),
                ticket_type=TicketType.objects.filter(organisation=org,
                                                      pk=d["ticket_type"]).first()
                if d["ticket_type"] else None,
                category=Category.objects.filter(organisation=org, pk=d["category"]).first()
                if d["category"] else None,
                team=team, assignee=user if d["assign_to_me"] else None,
                impact=d["impact"], urgency=d["urgency"],
                location=ticket_actions.Location(address=d["address"]) if d["address"]
                else None,
                status=Status.RESOLVED if resolved else Status.NEW,
                first_contact_resolution=resolved, actor=user,
            ))
        except ActionError as exc:
            _apply_error(form, request, exc)
            status = exc.status
        else:
            if result.created:
                messages.success(request, _("Ticket %(number)s recorded.")
                                 % {"number": result.ticket.number})
            else:  # the subject named an open ticket of the same customer: intake threads it
                messages.info(request, _("Added to the existing ticket %(number)s.")
                              % {"number": result.ticket.number})
            return redirect("desk:ticket", result.ticket.pk)
    return render(request, "desk/new_ticket.html", {
        "form": form, "title": _("New ticket"), "chosen": chosen, "customers": None,
        "services": _service_choices(user),
        "customer_q": request.POST.get("customer_q", "")}, status=status)


#: errors of the service's submission that belong to the desk's own fields
_DESK_FIELDS = {"email": "customer_email", "phone": "customer_phone", "name": "customer_name",
                "language": "language", "channel": "channel", "assignee": "assign_to_me"}


def _in_ui_language(sub: Submission, error: ActionError) -> ActionError:
    """The form's validation messages in the agent's language (submit() words them in the
    customer's language, for the public form)."""
    ui = (get_language() or "fi")[:2]
    if error.code != "form_invalid" or ui == sub.language or ui not in Language.values:
        return error
    try:
        validate(dataclasses.replace(sub, language=ui))
    except ActionError as again:
        return again
    return error


def _service_ticket(request: HttpRequest, user: User, service: Service) -> HttpResponse:
    """Record a contact on a catalogue service's form: the same fields, validation and
    defaults as the public web form, plus the desk's channel, customer and language."""
    org = user.organisation
    assert org is not None  # checked by the caller
    # "assign to me" starts ticked when the agent is in the team the service's tickets go to
    team_id = service.team_id or org.default_team_id
    initial = {"language": org.default_language,
               "assign_to_me": team_id in scope_for(user).member_team_ids}
    errors: dict[str, str] = {}
    status = 200
    if request.method != "POST":
        # a GET may carry the form's values (the no-JS customer look-up): they prefill it
        form = f.ServiceTicketForm(prefix="desk", initial=initial)
        for name in form.fields:
            if form.add_prefix(name) in request.GET:
                form.initial[name] = request.GET.get(form.add_prefix(name))
        data: Any = request.GET
        text = (request.GET.get("customer_q") or "").strip()[:100]
        chosen = lookups.customer(user, _int_or_none(request.GET.get("customer_id")))
        customers = lookups.find_customers(user, text) if len(text) >= 2 else None
    else:
        form = f.ServiceTicketForm(request.POST, prefix="desk", initial=initial)
        data = request.POST
        text = request.POST.get("customer_q", "")
        customers = None
        chosen_id = _int_or_none(request.POST.get("customer_id"))
        chosen = lookups.customer(user, chosen_id)
        status = 422
        if chosen_id and chosen is None:
            form.is_valid()
            form.add_error(None, _("No such customer."))
        elif form.is_valid():
            d = form.cleaned_data
            sub = Submission(
                service=service, channel=d["channel"], language=d["language"],
                description=request.POST.get("description", ""),
                values=posted_values(request.POST), files=posted_files(request, service),
                location=posted_location(request), name=d["customer_name"],
                email=d["customer_email"], phone=d["customer_phone"], actor=user,
                customer_id=chosen.pk if chosen else None,
                assignee=user if d["assign_to_me"] else None, resolved=d["resolved"])
            try:
                result = submit(sub)
            except ActionError as exc:
                error = _in_ui_language(sub, exc)
                errors = error_target(service, error)
                for key, name in _DESK_FIELDS.items():
                    if key in errors:
                        form.add_error(name, errors.pop(key))
                if not errors and not form.errors:
                    form.add_error(None, error.message)
                status = error.status
            else:
                if result.created:
                    messages.success(request, _("Ticket %(number)s recorded.")
                                     % {"number": result.ticket.number})
                else:
                    messages.info(request, _("Added to the existing ticket %(number)s.")
                                  % {"number": result.ticket.number})
                return redirect("desk:ticket", result.ticket.pk)
    ui = (get_language() or "fi")[:2]
    summary = [(f"f-{code}", text) for code, text in errors.items()]
    summary += [(form[name].id_for_label if name in form.fields else "", str(message))
                for name, messages_ in form.errors.items() if name != "__all__"
                for message in messages_]
    return render(request, "desk/new_ticket.html", {
        "title": _("New ticket"), "service": service, "sform": form,
        "rows": field_rows(service, data, errors, ui if ui in Language.values else "fi"),
        "errors": errors, "summary": summary, "data": data,
        "services": _service_choices(user), "chosen": chosen, "customers": customers,
        "customer_q": text}, status=status)


@login_required
@require_GET
def customer_search_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    text = (request.GET.get("customer_q") or "").strip()[:100]
    found = lookups.find_customers(user, text) if len(text) >= 2 else []
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect(reverse("desk:new_ticket") + "?" + urlencode({"customer_q": text}))
    return render(request, "desk/_customer_results.html", {"customers": found,
                                                           "customer_q": text})


# --- search -------------------------------------------------------------------------------


@login_required
@require_GET
def search_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = f.SearchForm(request.GET or None)
    result = None
    text = ""
    widen = False
    if form.is_bound and form.is_valid():
        text = form.cleaned_data["q"]
        widen = bool(form.cleaned_data["widen"])
        if text:
            result = queries.search_tickets(user, text, widen=widen)
            if result.exact is not None:
                return redirect("desk:ticket", result.exact.pk)
    widen_url = "?" + urlencode({"q": text, "widen": "1"}) if text and not widen else ""
    return render(request, "desk/search.html", {
        "form": form, "result": result, "query": text, "widen": widen,
        "widen_url": widen_url, "months": settings.KAPULA_SEARCH_DEFAULT_MONTHS,
        "title": _("Search"),
    })


# --- API tokens ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def tokens_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    raw = None
    form = f.TokenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                token, raw = core_actions.create_api_token(actor=user, user=user,
                                                           name=form.cleaned_data["name"])
            except ActionError as exc:
                _apply_error(form, request, exc)
                status = exc.status
            else:
                messages.success(request, _("Token %(name)s created.") % {"name": token.name})
                form = f.TokenForm()
        else:
            status = 422
    tokens = ApiToken.objects.filter(user=user).order_by("-created_at")
    return render(request, "desk/tokens.html", {
        "form": form, "tokens": tokens, "raw": raw, "title": _("API tokens")}, status=status)


@login_required
@require_POST
def revoke_token_view(request: HttpRequest, token_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    token = ApiToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise Http404
    try:
        core_actions.revoke_api_token(actor=user, token=token)
    except ActionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Token %(name)s revoked.") % {"name": token.name})
    return redirect("desk:tokens")
