"""Who may see and change what. Used by actions and queries, never only by templates.

* Org admins see their whole organisation.
* Unit admins see the teams of their unit and its sub-units, plus their own teams.
* Agents and team leads see their own teams' tickets, and every team of a unit that has
  ``shared_visibility`` set (with its sub-units) when one of their teams sits in it.
* Everybody sees tickets assigned to them.
* Nothing crosses organisations; a user without an organisation sees no tickets.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from kapula.core.errors import Forbidden
from kapula.core.models import Membership, Role, Team, Unit, User

if TYPE_CHECKING:
    from kapula.tickets.models import Ticket


@dataclass(frozen=True)
class Scope:
    user_id: int | None
    organisation_id: int | None
    all_teams: bool = False
    team_ids: frozenset[int] = field(default_factory=frozenset)
    member_team_ids: frozenset[int] = field(default_factory=frozenset)
    role: str = Role.AGENT

    @property
    def is_org_admin(self) -> bool:
        return self.role == Role.ORG_ADMIN

    def ticket_q(self, prefix: str = "") -> Q:
        """A filter for the tickets this scope may see (``prefix`` for related lookups)."""
        if self.organisation_id is None:
            return Q(pk__in=[])
        q = Q(**{f"{prefix}organisation_id": self.organisation_id})
        if self.all_teams:
            return q
        return q & (
            Q(**{f"{prefix}team_id__in": sorted(self.team_ids)})
            | Q(**{f"{prefix}assignee_id": self.user_id})
        )

    def can_see(self, ticket: Ticket) -> bool:
        if self.organisation_id is None or ticket.organisation_id != self.organisation_id:
            return False
        return (
            self.all_teams
            or ticket.team_id in self.team_ids
            or (self.user_id is not None and ticket.assignee_id == self.user_id)
        )


def _descendants(units: list[tuple[int, int | None]], roots: set[int]) -> set[int]:
    children: dict[int | None, list[int]] = {}
    for uid, parent in units:
        children.setdefault(parent, []).append(uid)
    found: set[int] = set()
    stack = list(roots)
    while stack:
        uid = stack.pop()
        if uid in found:
            continue
        found.add(uid)
        stack.extend(children.get(uid, []))
    return found


def scope_for(user: Any) -> Scope:
    """The visibility scope of ``user``; cached on the user object for the request."""
    cached = getattr(user, "_kapula_scope", None)
    if cached is not None:
        return cached
    if user is None or not getattr(user, "is_authenticated", False) or not user.organisation_id:
        scope = Scope(user_id=getattr(user, "pk", None), organisation_id=None)
    else:
        scope = _compute_scope(user)
    with contextlib.suppress(AttributeError):  # AnonymousUser has __slots__-like behaviour
        user._kapula_scope = scope
    return scope


def _compute_scope(user: User) -> Scope:
    org_id: int = user.organisation_id  # type: ignore[assignment]  # checked by the caller
    rows = list(
        Membership.objects.filter(user=user, team__organisation_id=org_id, team__is_active=True)
        .values_list("team_id", "team__unit_id")
    )
    member = frozenset(r[0] for r in rows)
    if user.role == Role.ORG_ADMIN:
        return Scope(user.pk, org_id, True, member, member, user.role)
    units = list(Unit.objects.filter(organisation_id=org_id).values_list("id", "parent_id",
                                                                          "shared_visibility"))
    roots: set[int] = set()
    if user.role == Role.UNIT_ADMIN and user.admin_unit_id:
        roots.add(user.admin_unit_id)
    shared = {u[0] for u in units if u[2]}
    if shared:
        parent_of = {u[0]: u[1] for u in units}
        for _team_id, unit_id in rows:
            node: int | None = unit_id
            depth = 0
            while node is not None and depth < 50:
                if node in shared:
                    roots.add(node)
                node, depth = parent_of.get(node), depth + 1
    team_ids = set(member)
    if roots:
        unit_ids = _descendants([(u[0], u[1]) for u in units], roots)
        team_ids |= set(
            Team.objects.filter(organisation_id=org_id, unit_id__in=unit_ids)
            .values_list("id", flat=True)
        )
    return Scope(user.pk, org_id, False, frozenset(team_ids), member, user.role)


def visible_tickets(user: Any) -> QuerySet[Ticket]:
    from kapula.tickets.models import Ticket

    return Ticket.objects.filter(scope_for(user).ticket_q())


def require_ticket(user: Any, ticket: Ticket) -> Scope:
    """Raise :class:`Forbidden` unless ``user`` may see and work on ``ticket``."""
    scope = scope_for(user)
    if not scope.can_see(ticket):
        raise Forbidden(_("You do not have access to this ticket."), code="ticket_forbidden")
    return scope


def administered_unit_ids(user: Any) -> set[int] | None:
    """The units whose configuration ``user`` may edit: None for all of the organisation
    (org admins), the admin unit and its sub-units for unit admins, else nothing."""
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    if user.role == Role.ORG_ADMIN:
        return None
    if user.role != Role.UNIT_ADMIN or not user.admin_unit_id or not user.organisation_id:
        return set()
    units: list[tuple[int, int | None]] = list(
        Unit.objects.filter(organisation_id=user.organisation_id).values_list("id", "parent_id"))
    return _descendants(units, {user.admin_unit_id})
