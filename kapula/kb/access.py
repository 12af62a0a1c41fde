"""Who sees and writes which knowledge-base articles.

* Public articles: everybody (published language versions only for the public).
* Internal articles: every staff user of the organisation.
* Articles for chosen units: org admins; staff whose team sits in one of the units or in a
  sub-unit of one; unit admins whose administered unit is one of them, or above or below.
* Staff of the organisation may write articles they can see. Nothing crosses organisations.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from kapula.core.errors import Forbidden
from kapula.core.models import Membership, Role, Unit
from kapula.kb.models import Article, Audience


def _ancestors_and_self(parent_of: dict[int, int | None], start: int) -> set[int]:
    found: set[int] = set()
    node: int | None = start
    while node is not None and node not in found and len(found) < 100:
        found.add(node)
        node = parent_of.get(node)
    return found


def unit_ids_for(user: Any) -> set[int] | None:
    """Units whose unit-audience articles ``user`` sees; None means all (org admins)."""
    if hasattr(user, "_kapula_kb_units"):
        cached: set[int] | None = user._kapula_kb_units
        return cached
    result: set[int] | None
    if user.role == Role.ORG_ADMIN:
        result = None
    else:
        units = list(Unit.objects.filter(organisation_id=user.organisation_id)
                     .values_list("id", "parent_id"))
        parent_of: dict[int, int | None] = dict(units)
        result = set()
        team_units = Membership.objects.filter(
            user=user, team__organisation_id=user.organisation_id, team__is_active=True,
            team__unit_id__isnull=False).values_list("team__unit_id", flat=True)
        for unit_id in team_units:
            result |= _ancestors_and_self(parent_of, unit_id)
        if user.role == Role.UNIT_ADMIN and user.admin_unit_id:
            result |= _ancestors_and_self(parent_of, user.admin_unit_id)
            children: dict[int | None, list[int]] = {}
            for u, p in units:
                children.setdefault(p, []).append(u)
            stack, below = [user.admin_unit_id], set()
            while stack:
                node = stack.pop()
                if node not in below:
                    below.add(node)
                    stack.extend(children.get(node, []))
            result |= below
    user._kapula_kb_units = result
    return result


def is_staff(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False)
                and getattr(user, "organisation_id", None))


def visible_articles(user: Any) -> QuerySet[Article]:
    """Articles ``user`` (a staff user) may see and write, archived ones included."""
    if not is_staff(user):
        return Article.objects.none()
    qs = Article.objects.filter(organisation_id=user.organisation_id)
    units = unit_ids_for(user)
    if units is None:
        return qs
    through = Article.units.through.objects.filter(unit_id__in=sorted(units))
    return qs.filter(Q(audience__in=[Audience.PUBLIC, Audience.INTERNAL])
                     | Q(audience=Audience.UNITS, pk__in=through.values("article_id")))


def can_see(user: Any, article: Article) -> bool:
    if not is_staff(user) or article.organisation_id != user.organisation_id:
        return False
    if article.audience != Audience.UNITS:
        return True
    units = unit_ids_for(user)
    if units is None:
        return True
    return bool(units & {u.pk for u in article.units.all()})


def require_article(user: Any, article: Article) -> None:
    if not can_see(user, article):
        raise Forbidden(_("You do not have access to this article."), code="article_forbidden")


def public_articles(organisation_id: int) -> QuerySet[Article]:
    return Article.objects.filter(organisation_id=organisation_id, audience=Audience.PUBLIC,
                                  is_archived=False)
