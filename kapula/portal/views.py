"""The customer portal's pages. They read the portal session, call an action or a query
and render the result; the rules live in :mod:`kapula.portal.actions`.

A portal session is two keys in the Django session (the organisation's id and the verified,
normalised email address), set only by using an emailed login link. It is not a staff
login: ``request.user`` is never looked at here.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kapula.core.errors import ActionError
from kapula.core.models import Organisation
from kapula.portal import actions, queries
from kapula.portal.models import ResolutionRating
from kapula.tickets.attachments import AttachmentInput
from kapula.tickets.models import Ticket

ORG_KEY = "kapula_portal_org"
EMAIL_KEY = "kapula_portal_email"
PAGE_SIZE = 25


def _organisation(slug: str) -> Organisation:
    org = Organisation.objects.filter(slug=slug).first()
    if org is None:
        raise Http404
    return org


def _language() -> str:
    lang = (get_language() or "fi")[:2]
    return lang if lang in ("fi", "sv", "en") else "fi"


def _client(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def portal_email(request: HttpRequest, org: Organisation) -> str:
    """The verified email address of this browser's portal session in ``org``, or ""."""
    if request.session.get(ORG_KEY) != org.pk:
        return ""
    return str(request.session.get(EMAIL_KEY) or "")


def _login_url(org: Organisation) -> str:
    return reverse("portal:login", args=[org.slug])


View = Callable[..., HttpResponse | FileResponse]


def portal_login_required(view: View) -> View:
    """Resolve the organisation and require its portal session (else go to its login)."""

    @wraps(view)
    def wrapper(request: HttpRequest, org: str, *args: Any,
                **kwargs: Any) -> HttpResponse | FileResponse:
        organisation = _organisation(org)
        email = portal_email(request, organisation)
        if not email:
            url = _login_url(organisation)
            if request.method == "GET":  # come back here after the login
                url += "?" + urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(url)
        request.portal_email = email  # type: ignore[attr-defined]
        return view(request, organisation, *args, **kwargs)

    return wrapper


def _base(request: HttpRequest, org: Organisation, **extra: Any) -> dict[str, Any]:
    return {"organisation": org, "portal_email": portal_email(request, org),
            "kb_url": f"/help/{org.slug}/", **extra}


def _not_found(request: HttpRequest, org: Organisation) -> HttpResponse:
    """One answer for an unknown number, another person's and another organisation's
    ticket or attachment: nothing tells them apart."""
    return render(request, "portal/not_found.html",
                  _base(request, org, title=_("Not found")), status=404)


def _form_status(exc: ActionError) -> int:
    """Bad input is a form error (422, as the web forms answer); other refusals keep
    their own status (409 for a merged ticket, 429 for too many requests)."""
    return 422 if exc.status in (400, 413, 422) else exc.status


# --- login -------------------------------------------------------------------------------


def _login_page(request: HttpRequest, org: Organisation, *, status: int = 200,
                errors: dict[str, str] | None = None, message: str = "",
                title: str = "", email: str = "", template: str = "portal/login.html",
                **extra: Any) -> HttpResponse:
    return render(request, template, _base(
        request, org, title=title or _("Log in to see your matters"), errors=errors or {},
        message=message, email=email, **extra), status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest, org: str) -> HttpResponse:
    organisation = _organisation(org)
    if request.method == "GET":
        next_path = actions.safe_next(organisation, request.GET.get("next", ""))
        if portal_email(request, organisation):
            return HttpResponseRedirect(
                next_path or reverse("portal:tickets", args=[organisation.slug]))
        return _login_page(request, organisation, next_path=next_path)
    email = request.POST.get("email", "")[:320]
    next_path = actions.safe_next(organisation, request.POST.get("next", ""))
    try:
        actions.request_link(organisation=organisation, email=email, language=_language(),
                             client_ip=_client(request), next_path=next_path)
    except actions.TooManyRequests as exc:
        return _login_page(request, organisation, status=429, message=exc.message,
                           email=email, next_path=next_path)
    except ActionError as exc:
        return _login_page(request, organisation, status=_form_status(exc), email=email,
                           errors={exc.field or "email": exc.message}, next_path=next_path)
    return render(request, "portal/link_sent.html", _base(
        request, organisation, title=_("Check your email"),
        minutes=actions.link_minutes()))


@never_cache
@require_http_methods(["GET", "POST"])
def redeem_view(request: HttpRequest, org: str, token: str) -> HttpResponse:
    """GET shows a button and changes nothing (mail scanners open links); POST logs in."""
    organisation = _organisation(org)
    try:
        if request.method == "GET":
            actions.find_link(organisation, token)
            return render(request, "portal/redeem.html", _base(
                request, organisation, title=_("Log in"), token=token))
        link = actions.redeem_link(organisation=organisation, token=token)
    except ActionError as exc:
        return _login_page(request, organisation, status=exc.status, message=exc.message,
                           title=_("The login link cannot be used"),
                           template="portal/link_invalid.html", code=exc.code)
    request.session.cycle_key()
    request.session[ORG_KEY] = organisation.pk
    request.session[EMAIL_KEY] = link.email
    return HttpResponseRedirect(actions.safe_next(organisation, link.next_path)
                                or reverse("portal:tickets", args=[organisation.slug]))


@require_POST
def logout_view(request: HttpRequest, org: str) -> HttpResponse:
    organisation = _organisation(org)
    request.session.pop(ORG_KEY, None)
    request.session.pop(EMAIL_KEY, None)
    request.session.cycle_key()
    messages.info(request, _("You have logged out."))
    return HttpResponseRedirect(_login_url(organisation))


# --- my matters --------------------------------------------------------------------------


@never_cache
@require_GET
@portal_login_required
def tickets_view(request: HttpRequest, org: Organisation) -> HttpResponse:
    email: str = request.portal_email  # type: ignore[attr-defined]
    show = request.GET.get("show", "all")
    if show not in queries.FILTERS:
        show = "all"
    paginator = Paginator(queries.my_tickets(org, email, show), PAGE_SIZE)
    try:
        page = paginator.page(request.GET.get("page", 1))
    except PageNotAnInteger:
        page = paginator.page(1)
    except EmptyPage:
        page = paginator.page(paginator.num_pages)
    tabs = [("all", _("All")), ("open", _("Open")), ("finished", _("Finished"))]
    return render(request, "portal/tickets.html", _base(
        request, org, title=_("My matters"), page=page, tickets=list(page.object_list),
        show=show, tabs=tabs))


# --- one matter --------------------------------------------------------------------------


def _ticket_page(request: HttpRequest, org: Organisation, ticket: Ticket, *,
                 status: int = 200, errors: dict[str, str] | None = None, form: str = "",
                 message: str = "") -> HttpResponse:
    rating = ResolutionRating.objects.filter(ticket=ticket).first()
    data = request.POST if request.method == "POST" else {}
    finished = ticket.status in queries.FINISHED_STATUSES
    return render(request, "portal/ticket.html", _base(
        request, org, title=f"{ticket.number} {ticket.title}", ticket=ticket,
        conversation=queries.conversation(ticket), rating=rating, finished=finished,
        errors=errors or {}, form=form, message=message, data=data,
        form_key=secrets.token_urlsafe(16), scores=[1, 2, 3, 4, 5],
        score_value=str(data.get("score", "")) if form == "rate" else (
            str(rating.score) if rating else ""),
        max_reply=actions.MAX_REPLY_CHARS, max_reason=actions.MAX_REASON_CHARS,
        max_comment=actions.MAX_COMMENT_CHARS,
        max_mb=settings.KAPULA_MAX_ATTACHMENT_BYTES // (1024 * 1024),
    ), status=status)


def _find(request: HttpRequest, org: Organisation, number: str) -> Ticket | None:
    return queries.my_ticket(org, request.portal_email, number)  # type: ignore[attr-defined]


@never_cache
@require_GET
@portal_login_required
def ticket_view(request: HttpRequest, org: Organisation, number: str) -> HttpResponse:
    ticket = _find(request, org, number)
    if ticket is None:
        return _not_found(request, org)
    return _ticket_page(request, org, ticket)


def _posted_files(request: HttpRequest) -> list[AttachmentInput]:
    """The uploaded files, each read only up to one byte past the size limit (enough for the
    action to refuse it, never all of a huge one)."""
    cap = settings.KAPULA_MAX_ATTACHMENT_BYTES + 1
    return [AttachmentInput(u.name or "attachment", u.read(cap), u.content_type or "")
            for u in request.FILES.getlist("attachments")[:21]]


def _ticket_post(form: str, run: Callable[[HttpRequest, Organisation, Ticket], str]) -> View:
    """A POST on one of the customer's tickets: run the action, then go back to the ticket
    page with a confirmation, or show the page again with the form's error."""

    @never_cache
    @require_POST
    @portal_login_required
    def view(request: HttpRequest, org: Organisation, number: str) -> HttpResponse:
        ticket = _find(request, org, number)
        if ticket is None:
            return _not_found(request, org)
        try:
            done = run(request, org, ticket)
        except ActionError as exc:
            if exc.code == "ticket_not_found":
                return _not_found(request, org)
            ticket.refresh_from_db()
            return _ticket_page(request, org, ticket, status=_form_status(exc), form=form,
                                errors={exc.field or form: exc.message}, message=exc.message)
        messages.success(request, done)
        return HttpResponseRedirect(reverse("portal:ticket", args=[org.slug, ticket.number]))

    view.__name__ = f"{form}_view"
    return view


def _reply(request: HttpRequest, org: Organisation, ticket: Ticket) -> str:
    actions.customer_reply(
        organisation=org, email=request.portal_email,  # type: ignore[attr-defined]
        ticket=ticket, body=request.POST.get("body", ""), attachments=_posted_files(request),
        form_key=request.POST.get("form_key", ""))
    return _("Your message was added to the matter.")


def _close(request: HttpRequest, org: Organisation, ticket: Ticket) -> str:
    actions.close_by_customer(organisation=org, email=request.portal_email,  # type: ignore[attr-defined]
                              ticket=ticket)
    return _("The matter is closed. Thank you!")


def _reopen(request: HttpRequest, org: Organisation, ticket: Ticket) -> str:
    actions.reopen_by_customer(
        organisation=org, email=request.portal_email,  # type: ignore[attr-defined]
        ticket=ticket, reason=request.POST.get("reason", ""),
        form_key=request.POST.get("form_key", ""))
    return _("The matter is open again. We will get back to you.")


def _rate(request: HttpRequest, org: Organisation, ticket: Ticket) -> str:
    actions.rate(organisation=org, email=request.portal_email,  # type: ignore[attr-defined]
                 ticket=ticket, score=request.POST.get("score", ""),
                 comment=request.POST.get("comment", ""))
    return _("Thank you for your rating.")


reply_view = _ticket_post("reply", _reply)
close_view = _ticket_post("close", _close)
reopen_view = _ticket_post("reopen", _reopen)
rate_view = _ticket_post("rate", _rate)


@never_cache
@require_GET
@portal_login_required
def attachment_view(request: HttpRequest, org: Organisation,
                    attachment_id: int) -> HttpResponse | FileResponse:
    attachment = queries.my_attachment(org, request.portal_email,  # type: ignore[attr-defined]
                                       attachment_id)
    if attachment is None:
        return _not_found(request, org)
    try:
        handle = attachment.file.open("rb")
    except OSError:
        return _not_found(request, org)
    response = FileResponse(handle, as_attachment=True, filename=attachment.filename,
                            content_type="application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
