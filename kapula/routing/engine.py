"""Routing rules, compiled and cached per organisation, and their evaluation.

A process keeps each organisation's rules compiled (keyword and pattern regexes, unit
subtrees, assignee memberships, team assignment modes). Whether its copy is current is
decided by a version number in the shared cache (Redis when configured): a change to a rule
or a team's mode bumps it, and every process reloads on its next intake. When the cache is
process-local (no Redis), a copy is also reloaded after ``TTL_SECONDS``. Evaluating the rules
therefore costs no database query once they are loaded.

Keywords: one per line; any matches. A keyword matches whole words, ignoring case; a word
ending in ``*`` matches any word starting with it (Finnish and Swedish inflection: ``tulost*``
matches "tulostin" and "tulostimen"). Several words match with any whitespace between them.

Regular expressions use Python's ``re`` (which has no timeout), so they are guarded instead:
at most ``MAX_PATTERN`` characters, no back-references, no nested or adjacent unbounded
repetition (the shapes that backtrack catastrophically, such as ``(a+)+`` or ``(a|a)*``), and
they are searched in the first ``MAX_TEXT`` characters of the title and message only.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
import time
import zoneinfo
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _

from kapula.core import geo
from kapula.core.models import Membership, Team, Unit, User
from kapula.tickets.models import Category, Level, TicketType

if TYPE_CHECKING:
    from kapula.core.models import Customer
    from kapula.intake.actions import Intake

TTL_SECONDS = 60.0
MAX_PATTERN = 200
MAX_TEXT = 10_000
MAX_KEYWORDS = 200
HELSINKI = zoneinfo.ZoneInfo("Europe/Helsinki")
LEVEL_RANK: dict[str, int] = {Level.LOW: 0, Level.MEDIUM: 1, Level.HIGH: 2}

# --- validation ----------------------------------------------------------------------------

_WORD = re.compile(r"^[\w\-'.&+/]+\*?$")
_NESTED = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]")
_ALTERNATION_REPEATED = re.compile(r"\((?:[^()\\]|\\.)*\|(?:[^()\\]|\\.)*\)\s*[+*{]")
_BACKREF = re.compile(r"\\[1-9]|\(\?P=")
_ADJACENT = re.compile(r"(?:\.|\\[wWsSdD]|\])[+*]\s*(?:\.|\\[wWsSdD]|\[[^\]]*\])[+*]")


def parse_keywords(raw: str) -> list[str]:
    """The keywords of a rule, one per line (commas also separate). Raises ValueError."""
    out: list[str] = []
    for line in re.split(r"[\n,;]", raw or ""):
        phrase = " ".join(line.split())
        if not phrase:
            continue
        for word in phrase.split(" "):
            if not _WORD.match(word) or word.strip("*") == "":
                raise ValueError(_("Keywords are words, optionally ending in *: %(w)s")
                                 % {"w": word})
        out.append(phrase)
    if len(out) > MAX_KEYWORDS:
        raise ValueError(_("At most %(n)s keywords.") % {"n": MAX_KEYWORDS})
    return out


def keyword_regex(keywords: list[str]) -> re.Pattern[str] | None:
    if not keywords:
        return None
    alternatives = []
    for phrase in keywords:
        words = []
        for word in phrase.split(" "):
            stem = re.escape(word.rstrip("*"))
            words.append(stem + r"\w*" if word.endswith("*") else stem)
        alternatives.append(r"\s+".join(words))
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def check_pattern(pattern: str) -> str:
    """Why ``pattern`` may not be used (an empty string when it may)."""
    if len(pattern) > MAX_PATTERN:
        return _("At most %(n)s characters.") % {"n": MAX_PATTERN}
    try:
        re.compile(pattern)
    except re.error as exc:
        return _("Not a valid regular expression: %(e)s") % {"e": exc}
    if _BACKREF.search(pattern):
        return _("Back-references are not allowed.")
    if _NESTED.search(pattern) or _ALTERNATION_REPEATED.search(pattern) \
            or _ADJACENT.search(pattern):
        return _("Repeated groups that contain repetition or alternatives can take "
                 "very long to match; simplify the expression.")
    return ""


# --- compiled rules ------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledRule:
    id: int
    name: str
    kind: str
    cont: bool
    channels: frozenset[str] = frozenset()
    mailbox_id: int | None = None
    service_id: int | None = None
    category_id: int | None = None
    type_id: int | None = None
    languages: frozenset[str] = frozenset()
    keywords: re.Pattern[str] | None = None
    pattern: re.Pattern[str] | None = None
    unit_ids: frozenset[int] | None = None
    customer_org: str = ""
    box: tuple[float, float, float, float] | None = None
    weekdays: frozenset[int] = frozenset()
    window: tuple[dt.time, dt.time] | None = None
    # actions
    team: Team | None = None
    category: Category | None = None
    ticket_type: TicketType | None = None
    impact: str = ""
    urgency: str = ""
    tags: tuple[str, ...] = ()
    assignee: User | None = None
    assignee_team_ids: frozenset[int] = frozenset()
    notify: tuple[int, ...] = ()
    replies: dict[str, str] = field(default_factory=dict)
    out_of_scope_action: str = ""
    forward_email: str = ""


@dataclass(frozen=True)
class Compiled:
    version: str
    loaded_at: float
    rules: tuple[CompiledRule, ...]
    #: team id -> assignment mode, for teams that do not assign manually
    team_modes: dict[int, str]


_lock = threading.Lock()
_compiled: dict[int, Compiled] = {}


def _version_key(organisation_id: int) -> str:
    return f"routing:version:{organisation_id}"


def current_version(organisation_id: int) -> str:
    key = _version_key(organisation_id)
    version = cache.get(key)
    if version is None:
        cache.add(key, secrets.token_hex(8), timeout=None)
        version = cache.get(key) or ""
    return str(version)


def bump_version(organisation_id: int) -> None:
    cache.set(_version_key(organisation_id), secrets.token_hex(8), timeout=None)
    with _lock:
        _compiled.pop(organisation_id, None)


def forget() -> None:
    """Drop every process-local copy (tests: ids are reused between tests)."""
    with _lock:
        _compiled.clear()


def _subtree(units: list[tuple[int, int | None]], root: int) -> frozenset[int]:
    children: dict[int | None, list[int]] = {}
    for uid, parent in units:
        children.setdefault(parent, []).append(uid)
    found: set[int] = set()
    stack = [root]
    while stack:
        uid = stack.pop()
        if uid not in found:
            found.add(uid)
            stack.extend(children.get(uid, []))
    return frozenset(found)


def _load(organisation_id: int, version: str) -> Compiled:
    from kapula.routing.models import AssignmentMode, RoutingRule, RuleKind, TeamRouting

    rows = list(RoutingRule.objects.filter(organisation_id=organisation_id, enabled=True)
                .select_related("set_team", "set_category", "set_type", "set_assignee")
                .prefetch_related("notify").order_by("position", "id"))
    units: list[tuple[int, int | None]] = []
    if any(r.customer_unit_id for r in rows):
        units = list(Unit.objects.filter(organisation_id=organisation_id)
                     .values_list("id", "parent_id"))
    assignee_ids = {r.set_assignee_id for r in rows if r.set_assignee_id}
    teams_of: dict[int, set[int]] = {}
    for user_id, team_id in Membership.objects.filter(user_id__in=sorted(assignee_ids)) \
            .values_list("user_id", "team_id") if assignee_ids else ():
        teams_of.setdefault(user_id, set()).add(team_id)
    rules = []
    for r in rows:
        pattern = None
        if r.pattern and not check_pattern(r.pattern):
            pattern = re.compile(r.pattern, re.IGNORECASE)
        try:
            keywords = keyword_regex(parse_keywords(r.keywords))
        except ValueError:
            keywords = re.compile(r"(?!)")  # an invalid list (edited outside the admin)
        box = None
        if None not in (r.area_south, r.area_west, r.area_north, r.area_east):
            box = (float(r.area_south), float(r.area_west),  # type: ignore[arg-type]
                   float(r.area_north), float(r.area_east))  # type: ignore[arg-type]
        rules.append(CompiledRule(
            id=r.pk, name=r.name, kind=r.kind, cont=r.continue_processing,
            channels=frozenset(r.channels or ()), mailbox_id=r.mailbox_id,
            service_id=r.service_id, category_id=r.if_category_id, type_id=r.if_type_id,
            languages=frozenset(r.languages or ()), keywords=keywords, pattern=pattern,
            unit_ids=_subtree(units, r.customer_unit_id) if r.customer_unit_id else None,
            customer_org=r.customer_organisation.strip().casefold(), box=box,
            weekdays=frozenset(int(d) for d in r.weekdays or ()),
            window=(r.time_from, r.time_to) if r.time_from and r.time_to else None,
            team=r.set_team, category=r.set_category, ticket_type=r.set_type,
            impact=r.set_impact, urgency=r.set_urgency,
            tags=tuple(t.strip()[:64] for t in r.add_tags.split(",") if t.strip()),
            assignee=r.set_assignee,
            assignee_team_ids=frozenset(teams_of.get(r.set_assignee_id or 0, ())),
            notify=tuple(sorted(u.pk for u in r.notify.all())),
            replies={"fi": r.reply_fi, "sv": r.reply_sv, "en": r.reply_en}
            if r.kind == RuleKind.OUT_OF_SCOPE else {},
            out_of_scope_action=r.out_of_scope_action, forward_email=r.forward_email,
        ))
    modes = dict(TeamRouting.objects.filter(team__organisation_id=organisation_id)
                 .exclude(mode=AssignmentMode.MANUAL).values_list("team_id", "mode"))
    return Compiled(version, time.monotonic(), tuple(rules), modes)


def compiled(organisation_id: int) -> Compiled:
    """The organisation's rules, loaded once per version (and at most TTL_SECONDS old)."""
    version = current_version(organisation_id)
    hit = _compiled.get(organisation_id)
    if hit is not None and hit.version == version \
            and time.monotonic() - hit.loaded_at < TTL_SECONDS:
        return hit
    fresh = _load(organisation_id, version)
    with _lock:
        _compiled[organisation_id] = fresh
    return fresh


# --- matching ------------------------------------------------------------------------------


@dataclass
class Facts:
    """What the rules look at, gathered once per intake."""

    channel: str
    language: str
    text: str
    mailbox_id: int | None = None
    service_id: int | None = None
    category_id: int | None = None
    type_id: int | None = None
    unit_id: int | None = None
    customer_org: str = ""
    point: tuple[float, float] | None = None
    now: dt.datetime = field(default_factory=timezone.now)

    @classmethod
    def of(cls, intake: Intake, customer: Customer | None, language: str) -> Facts:
        point = None
        loc = intake.location
        if loc is not None:
            if loc.latitude is not None and loc.longitude is not None:
                point = (float(loc.latitude), float(loc.longitude))
            elif loc.northing is not None and loc.easting is not None:
                try:
                    point = geo.etrs_to_wgs84(float(loc.northing), float(loc.easting))
                except Exception:
                    point = None
        return cls(
            channel=intake.channel, language=language or "",
            text=f"{intake.subject}\n{intake.body}"[:MAX_TEXT],
            mailbox_id=intake.mailbox_id, service_id=intake.service_id,
            category_id=intake.category.pk if intake.category else None,
            type_id=intake.ticket_type.pk if intake.ticket_type else None,
            unit_id=customer.unit_id if customer is not None else None,
            customer_org=(customer.organisation_name.casefold()
                          if customer is not None else ""),
            point=point,
        )


def matches(rule: CompiledRule, facts: Facts) -> bool:
    if rule.channels and facts.channel not in rule.channels:
        return False
    if rule.mailbox_id is not None and facts.mailbox_id != rule.mailbox_id:
        return False
    if rule.service_id is not None and facts.service_id != rule.service_id:
        return False
    if rule.category_id is not None and facts.category_id != rule.category_id:
        return False
    if rule.type_id is not None and facts.type_id != rule.type_id:
        return False
    if rule.languages and facts.language not in rule.languages:
        return False
    if rule.unit_ids is not None and facts.unit_id not in rule.unit_ids:
        return False
    if rule.customer_org and rule.customer_org not in facts.customer_org:
        return False
    if rule.box is not None:
        if facts.point is None:
            return False
        south, west, north, east = rule.box
        lat, lon = facts.point
        if not (south <= lat <= north and west <= lon <= east):
            return False
    if rule.weekdays or rule.window:
        local = facts.now.astimezone(HELSINKI)
        if rule.weekdays and local.weekday() not in rule.weekdays:
            return False
        if rule.window:
            start, end = rule.window
            now = local.time()
            inside = start <= now < end if start <= end else (now >= start or now < end)
            if not inside:
                return False
    if rule.keywords is not None and not rule.keywords.search(facts.text):
        return False
    return not (rule.pattern is not None and not rule.pattern.search(facts.text))


def evaluate(rules: tuple[CompiledRule, ...], facts: Facts,
             skip_out_of_scope: bool = False) -> list[CompiledRule]:
    """The rules that apply, in order: up to and including the first matching rule that
    does not say "continue". An out-of-scope rule always ends the list."""
    from kapula.routing.models import RuleKind

    applied = []
    for rule in rules:
        if skip_out_of_scope and rule.kind == RuleKind.OUT_OF_SCOPE:
            continue
        if matches(rule, facts):
            applied.append(rule)
            if not rule.cont or rule.kind == RuleKind.OUT_OF_SCOPE:
                break
    return applied
