"""Reads shared by the agent workspace and the API: queues, filters, keyset pages, search.

Every function starts from what the user may see (:func:`kapula.core.access.scope_for`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, DateTimeField, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from kapula.core.access import Scope, scope_for
from kapula.core.errors import ValidationFailed
from kapula.core.models import ContactKind, CustomerContact
from kapula.core.text import normalise_email, normalise_phone
from kapula.tickets import search
from kapula.tickets.models import ACTIVE_STATUSES, Ticket

# --- filters -------------------------------------------------------------------------------


@dataclass
class TicketFilter:
    statuses: list[str] = field(default_factory=list)
    priorities: list[int] = field(default_factory=list)
    types: list[int] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    categories: list[int] = field(default_factory=list)
    teams: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    #: a user id, or "none" for unassigned
    assignee: int | str | None = None
    customer: int | None = None
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    updated_from: dt.date | None = None
    updated_to: dt.date | None = None
    active_only: bool = False


def _day_start(day: dt.date) -> dt.datetime:
    day = min(max(day, dt.date(1900, 1, 1)), dt.date(9998, 12, 31))
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def apply_filter(qs: QuerySet[Ticket], f: TicketFilter) -> QuerySet[Ticket]:
    if f.statuses:
        qs = qs.filter(status__in=f.statuses)
    elif f.active_only:
        qs = qs.filter(status__in=ACTIVE_STATUSES)
    if f.priorities:
        qs = qs.filter(priority__in=f.priorities)
    if f.types:
        qs = qs.filter(ticket_type_id__in=f.types)
    if f.channels:
        qs = qs.filter(channel__in=f.channels)
    if f.languages:
        qs = qs.filter(language__in=f.languages)
    if f.categories:
        qs = qs.filter(category_id__in=f.categories)
    if f.teams:
        qs = qs.filter(team_id__in=f.teams)
    if f.tags:
        qs = qs.filter(tags__name__in=f.tags).distinct()
    if f.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif isinstance(f.assignee, int):
        qs = qs.filter(assignee_id=f.assignee)
    if f.customer is not None:
        qs = qs.filter(customer_id=f.customer)
    if f.created_from:
        qs = qs.filter(created_at__gte=_day_start(f.created_from))
    if f.created_to:
        qs = qs.filter(created_at__lt=_day_start(min(f.created_to, dt.date(9998, 12, 30))
                                                 + dt.timedelta(days=1)))
    if f.updated_from:
        qs = qs.filter(updated_at__gte=_day_start(f.updated_from))
    if f.updated_to:
        qs = qs.filter(updated_at__lt=_day_start(min(f.updated_to, dt.date(9998, 12, 30))
                                                 + dt.timedelta(days=1)))
    return qs


# --- queue views -----------------------------------------------------------------------------

VIEWS = ("mine", "unassigned", "team", "all")


def queue(user: Any, view: str, team_id: int | None = None) -> QuerySet[Ticket]:
    """Tickets of one queue view. ``mine``: assigned to me and still active;
    ``unassigned``: active and unassigned in my teams; ``team``: everything of one team I
    may see; ``all``: everything I may see."""
    scope = scope_for(user)
    qs = Ticket.objects.filter(scope.ticket_q())
    if view == "mine":
        return qs.filter(assignee_id=user.pk, status__in=ACTIVE_STATUSES)
    if view == "unassigned":
        return qs.filter(team_id__in=sorted(scope.member_team_ids), assignee__isnull=True,
                         status__in=ACTIVE_STATUSES)
    if view == "team":
        if team_id is None or not (scope.all_teams or team_id in scope.team_ids):
            return qs.none()
        return qs.filter(team_id=team_id)
    if view == "all":
        return qs
    raise ValidationFailed(_("Unknown queue view."), code="invalid_view")


def queue_counts(user: Any) -> dict[str, Any]:
    """Active ticket counts: mine, unassigned in my teams, and per visible team (one scan of
    the active tickets, grouped by team)."""
    scope: Scope = scope_for(user)
    rows = (
        Ticket.objects.filter(scope.ticket_q(), status__in=ACTIVE_STATUSES)
        .values_list("team_id")
        .annotate(
            n=Count("id"),
            mine=Count("id", filter=Q(assignee_id=user.pk)),
            unassigned=Count("id", filter=Q(team_id__in=sorted(scope.member_team_ids),
                                            assignee__isnull=True)),
        )
        .order_by()
    )
    per_team: dict[int | None, int] = {}
    mine = unassigned = 0
    for team_id, n, mine_n, unassigned_n in rows:
        per_team[team_id] = n
        mine += mine_n
        unassigned += unassigned_n
    return {"mine": mine, "unassigned": unassigned, "teams": per_team}


# --- keyset pagination -----------------------------------------------------------------------

SORTS: dict[str, tuple[str, ...]] = {
    "-updated": ("-updated_at", "-id"),
    "updated": ("updated_at", "id"),
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "priority": ("priority", "-updated_at", "-id"),
    "-priority": ("-priority", "-updated_at", "-id"),
}
#: the desk's extra order (kapula/sla): nearest SLA deadline first, tickets without one last
SLA_SORT = "sla"
SLA_COLUMNS = ("sla_order_at", "id")
NO_DEADLINE = dt.datetime(9998, 1, 1, tzinfo=dt.UTC)


@dataclass
class Page:
    items: list[Ticket]
    next_cursor: str | None
    sort: str


def _encode(values: list[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, dt.datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, columns: tuple[str, ...]) -> list[Any]:
    bad = ValidationFailed(_("Invalid page cursor."), code="invalid_cursor", field="cursor")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if not isinstance(values, list) or len(values) != len(columns):
        raise bad
    out: list[Any] = []
    for col, value in zip(columns, values, strict=True):
        name = col.lstrip("-")
        try:
            if name.endswith("_at"):
                parsed = dt.datetime.fromisoformat(value)
                if parsed.tzinfo is None or not 1900 <= parsed.year <= 9998:
                    raise bad
                out.append(parsed)
            else:
                if type(value) is not int or abs(value) > 2**63:
                    raise bad
                out.append(value)
        except (TypeError, ValueError, OverflowError):
            raise bad from None
    return out


def _after(columns: tuple[str, ...], values: list[Any]) -> Q:
    """Rows strictly after ``values`` in the lexicographic order of ``columns``."""
    q = Q(pk__in=[])
    equal = Q()
    for col, value in zip(columns, values, strict=True):
        name = col.lstrip("-")
        op = "lt" if col.startswith("-") else "gt"
        q |= equal & Q(**{f"{name}__{op}": value})
        equal &= Q(**{name: value})
    return q


def paginate(qs: QuerySet[Ticket], *, sort: str = "-updated", cursor: str | None = None,
             limit: int = 50) -> Page:
    if sort not in SORTS and sort != SLA_SORT:
        raise ValidationFailed(_("Unknown sort order."), code="invalid_sort", field="sort")
    columns = SORTS.get(sort) or SLA_COLUMNS
    if sort == SLA_SORT:
        qs = qs.annotate(sla_order_at=Coalesce(
            "sla_due_at", Value(NO_DEADLINE, output_field=DateTimeField())))
    limit = max(1, min(int(limit), 200))
    if cursor:
        qs = qs.filter(_after(columns, _decode(cursor, columns)))
    items = list(qs.order_by(*columns)[: limit + 1])
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        last = items[-1]
        next_cursor = _encode([getattr(last, c.lstrip("-")) for c in columns])
    return Page(items, next_cursor, sort)


# --- search ------------------------------------------------------------------------------------

NUMBER = re.compile(r"^\s*([A-Za-z]{2,10}-\d{4}-\d{1,9})\s*$")
PHONEISH = re.compile(r"^\s*\+?[\d\s\-()]{6,20}\s*$")


@dataclass
class SearchResult:
    tickets: list[Ticket]
    widened: bool
    since: dt.datetime | None
    exact: Ticket | None = None


def search_tickets(user: Any, text: str, *, widen: bool = False, limit: int = 50,
                   select_related: tuple[str, ...] = ("team", "assignee", "customer")
                   ) -> SearchResult:
    """Find tickets by number, customer email/phone, or words (ranked full-text).

    By default only the user's own teams' tickets of the last months are searched, which
    keeps common words fast; ``widen`` searches everything the user may see, of any age.
    """
    scope = scope_for(user)
    text = (text or "").strip()[:200]
    since = None if widen else timezone.now() - dt.timedelta(
        days=30 * settings.KAPULA_SEARCH_DEFAULT_MONTHS)
    if scope.organisation_id is None or not text:
        return SearchResult([], widen, since)
    visible = Ticket.objects.filter(scope.ticket_q()).select_related(*select_related)

    match = NUMBER.match(text)
    if match:
        exact = visible.filter(number=match.group(1).upper()).first()
        if exact is not None:
            return SearchResult([exact], widen, since, exact=exact)

    contact_q = None
    if "@" in text and " " not in text:
        contact_q = Q(kind=ContactKind.EMAIL, normalised=normalise_email(text))
    elif PHONEISH.match(text):
        contact_q = Q(kind=ContactKind.PHONE, normalised=normalise_phone(text))
    if contact_q is not None:
        customers = CustomerContact.objects.filter(
            contact_q, organisation_id=scope.organisation_id).values("customer_id")
        found = list(visible.filter(customer_id__in=customers).order_by("-updated_at")[:limit])
        if found:
            return SearchResult(found, widen, since)

    if scope.all_teams and (widen or not scope.member_team_ids):
        team_ids = None
    elif widen:
        team_ids = sorted(scope.team_ids)
    else:
        team_ids = sorted(scope.member_team_ids) or sorted(scope.team_ids)
    ranked = search.search(organisation_id=scope.organisation_id, text=text,
                           team_ids=team_ids, assignee_id=user.pk, since=since, limit=limit)
    by_id = {t.pk: t for t in visible.filter(pk__in=[r[0] for r in ranked])}
    return SearchResult([by_id[i] for i, _ in ranked if i in by_id], widen, since)
