"""Loads the demo city (see :mod:`kapula.core.demo_content`).

Configuration rows are created with ``get_or_create`` (never overwritten, so an
administrator's edits survive). Tickets are created through the real intake and ticket
actions, so history, search index and outbox are consistent; each demo ticket is recognised
by the channel message id of its first message, so a second run creates nothing. Only the
timestamps are moved into the past afterwards (data loading, not a business flow).
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from kapula.core import demo_content as content
from kapula.core.actions import CustomerIdentity
from kapula.core.models import Membership, Organisation, Team, Unit, User
from kapula.intake.actions import Intake, ThreadRefs, receive
from kapula.tickets import actions as ticket_actions
from kapula.tickets.models import (
    DEFAULT_MATRIX,
    Category,
    CustomField,
    HistoryEntry,
    Message,
    MessageKind,
    PriorityRule,
    Status,
    Ticket,
    TicketType,
)

DEFAULT_TICKETS = 300
MESSAGE_ID = "demo-{n}@demola.kapula.example"
STAFF_CHANNELS = {"walk_in", "phone", "social_media"}
#: who answers a team's tickets in the demo
RESPONDERS = {
    "palvelupiste": "aino", "puhelinpalvelu": "emma", "katujen-kunnossapito": "linnea",
    "it-tuki": "elias", "it-asiantuntijat": "mikael", "datakeskus": "jussi",
}
ESCALATE_TO = {"it-tuki": "it-asiantuntijat", "it-asiantuntijat": "datakeskus"}


@dataclass
class DemoSummary:
    organisation: Organisation
    created_tickets: int = 0
    existing_tickets: int = 0
    created_users: list[str] = field(default_factory=list)


@dataclass
class _Setup:
    org: Organisation
    teams: dict[str, Team]
    users: dict[str, User]
    types: dict[str, TicketType]
    categories: dict[str, Category]


def logins() -> list[dict[str, str]]:
    """The demo accounts: username, password, role and teams (for ``--logins``)."""
    team_names = {t[0]: t[3] for t in content.TEAMS}
    return [
        {"username": u.username, "password": content.DEMO_PASSWORD, "role": u.role,
         "teams": ", ".join(team_names[t] for t in u.teams)}
        for u in content.USERS
    ]


# --- configuration ---------------------------------------------------------------------------


def _setup(summary_users: list[str]) -> _Setup:
    org, _created = Organisation.objects.get_or_create(
        slug=content.ORG_SLUG,
        defaults={"name": content.ORG_NAME, "ticket_prefix": content.ORG_PREFIX,
                  "default_language": "fi"},
    )
    units: dict[str, Unit] = {}
    for key, parent, fi, sv, en, shared in content.UNITS:
        units[key], _ = Unit.objects.get_or_create(
            organisation=org, name_fi=fi, parent=units[parent] if parent else None,
            defaults={"name_sv": sv, "name_en": en, "shared_visibility": shared},
        )
    teams: dict[str, Team] = {}
    for slug, unit, tier, fi, sv, en, email in content.TEAMS:
        teams[slug], _ = Team.objects.get_or_create(
            organisation=org, slug=slug,
            defaults={"unit": units[unit], "tier": tier, "name_fi": fi, "name_sv": sv,
                      "name_en": en, "email": email},
        )
    if org.default_team_id is None:
        org.default_team = teams["palvelupiste"]
        org.save(update_fields=["default_team"])

    from kapula.intake.mail.models import Mailbox

    for address, team, default in content.MAILBOXES:
        if not Mailbox.objects.filter(address=address).exists():
            Mailbox.objects.create(organisation=org, name=teams[team].name_fi,
                                   address=address, kind="lmtp", team=teams[team],
                                   is_default_outbound=default)

    users: dict[str, User] = {}
    hashed: str | None = None
    for spec in content.USERS:
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            hashed = hashed or make_password(content.DEMO_PASSWORD)
            user = User.objects.create(
                username=spec.username, password=hashed, first_name=spec.first_name,
                last_name=spec.last_name, email=f"{spec.username}@demola.example",
                organisation=org, role=spec.role, language=spec.language,
                admin_unit=units[spec.admin_unit] if spec.admin_unit else None,
                is_staff=spec.is_staff,
            )
            summary_users.append(spec.username)
        users[spec.username] = user
        if user.organisation_id != org.pk:
            continue  # a non-demo account with the same name: leave it alone
        for slug in spec.teams:
            Membership.objects.get_or_create(user=user, team=teams[slug],
                                             defaults={"is_lead": slug in spec.lead_of})

    types: dict[str, TicketType] = {}
    for code, order, fi, sv, en in content.TICKET_TYPES:
        types[code], _ = TicketType.objects.get_or_create(
            organisation=org, code=code,
            defaults={"ordering": order, "name_fi": fi, "name_sv": sv, "name_en": en},
        )
    categories: dict[str, Category] = {}
    for key, parent, fi, sv, en, team in content.CATEGORIES:
        categories[key], _ = Category.objects.get_or_create(
            organisation=org, name_fi=fi, parent=categories[parent] if parent else None,
            defaults={"name_sv": sv, "name_en": en, "default_team": teams[team]},
        )
    for (impact, urgency), priority in DEFAULT_MATRIX.items():
        PriorityRule.objects.get_or_create(organisation=org, impact=impact, urgency=urgency,
                                           defaults={"priority": priority})
    for key, kind, fi, sv, en, type_code, cat_key, choices in content.CUSTOM_FIELDS:
        CustomField.objects.get_or_create(
            organisation=org, key=key,
            defaults={"kind": kind, "name_fi": fi, "name_sv": sv, "name_en": en,
                      "ticket_type": types[type_code] if type_code else None,
                      "category": categories[cat_key] if cat_key else None,
                      "choices": choices},
        )
    _services(org, units, types, categories)
    from kapula.intake.open311.demo import ensure_demo_client

    ensure_demo_client(org)
    from kapula.suppliers.demo import ensure_demo_supplier

    ensure_demo_supplier(org, teams)
    from kapula.sla.demo import ensure_demo_sla

    ensure_demo_sla(org)
    from kapula.kb.demo import ensure_demo_articles

    if users["helena"].organisation_id == org.pk:
        ensure_demo_articles(org, categories, users["helena"])
    return _Setup(org, teams, users, types, categories)


def _services(org: Organisation, units: dict[str, Unit], types: dict[str, TicketType],
              categories: dict[str, Category]) -> None:
    from kapula.catalogue.models import Service, ServiceField

    for order, (code, unit, visibility, type_code, cat_key, names, texts, group, need_email,
                fields) in enumerate(content.SERVICES):
        service, created = Service.objects.get_or_create(
            organisation=org, code=code,
            defaults={"unit": units[unit], "visibility": visibility,
                      "ticket_type": types[type_code], "category": categories[cat_key],
                      "name_fi": names[0], "name_sv": names[1], "name_en": names[2],
                      "description_fi": texts[0], "description_sv": texts[1],
                      "description_en": texts[2], "group": group,
                      "require_email": need_email, "on_mobile": visibility == "public",
                      "ordering": order})
        if not created:
            continue
        for n, (fcode, kind, required, labels, choices, urgent) in enumerate(fields):
            ServiceField.objects.create(
                service=service, code=fcode, kind=kind, required=required,
                label_fi=labels[0], label_sv=labels[1], label_en=labels[2],
                choices=choices, urgent_values=urgent, ordering=n)


# --- tickets ------------------------------------------------------------------------------------


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower())
                   if c.isalnum() and c.isascii())


def _identity(rng: random.Random, language: str, channel: str) -> CustomerIdentity:
    """One of a fixed pool of residents per language (so some customers come back)."""
    if channel == "monitoring":
        return CustomerIdentity()
    k = rng.randrange(60)
    firsts, lasts = content.FIRST_NAMES[language], content.LAST_NAMES[language]
    first, last = firsts[k % len(firsts)], lasts[(k * 7) % len(lasts)]
    email = f"{_ascii(first)}.{_ascii(last)}{k}@example.fi"
    phone = f"+358 40 {100 + k:03d} {4000 + k:04d}"
    if channel in ("phone", "walk_in"):
        return CustomerIdentity(name=f"{first} {last}", phone=phone, language=language)
    if channel == "partner_desk":
        return CustomerIdentity(name=f"{first} {last}", email=email, language=language)
    return CustomerIdentity(name=f"{first} {last}", email=email, language=language)


@dataclass
class _Plan:
    n: int
    story: content.Story
    channel: str
    target: str
    age_days: float
    gaps: list[float]
    rng_state: Any


def _plan(n: int) -> _Plan:
    rng = random.Random(f"kapula-demo-{n}")
    story = content.STORIES[n % len(content.STORIES)]
    channel = story.channels[rng.randrange(len(story.channels))]
    statuses, weights = zip(*content.STATUS_WEIGHTS, strict=True)
    target = rng.choices(statuses, weights)[0]
    if target in ("new", "open", "pending_customer", "pending_third_party"):
        age = rng.uniform(0.05, 21)
    else:
        age = rng.uniform(3, 150)
    gaps = [rng.uniform(0.2, 30) for _ in range(12)]  # hours between steps
    return _Plan(n, story, channel, target, age, gaps, rng.getstate())


def _create_one(setup: _Setup, plan: _Plan, marks: list[dt.datetime]) -> Ticket:
    """Run the ticket's story through the actions; ``marks`` gets the moment after each
    action, so that backdating can keep what one action wrote together."""
    rng = random.Random()
    rng.setstate(plan.rng_state)
    story, channel, org = plan.story, plan.channel, setup.org
    street = rng.choice(content.STREETS)
    identity = _identity(rng, story.language, channel)
    username = _ascii(identity.name.split(" ")[0][:1] + identity.name.split(" ")[-1]) or "user"
    body = story.body.format(street=street, user=username)
    category = setup.categories[story.category]
    team = None
    staff = channel in STAFF_CHANNELS
    if staff and category.default_team_id in (setup.teams["palvelupiste"].pk,
                                               setup.teams["puhelinpalvelu"].pk):
        team = setup.teams["puhelinpalvelu" if channel == "phone" else "palvelupiste"]
    actor = None
    if staff:
        actor = setup.users["elias" if story.category in ("tunnukset", "tulostus", "verkko",
                                                          "ohjelmistot", "laitteet") else "aino"]
    location = None
    if story.located:
        lat = content.CENTRE[0] + rng.uniform(-0.03, 0.03)
        lon = content.CENTRE[1] + rng.uniform(-0.06, 0.06)
        location = ticket_actions.Location(latitude=round(lat, 6), longitude=round(lon, 6),
                                           address=f"{street} {rng.randint(1, 60)}, Demola")
    custom = dict(story.fields)
    if channel == "phone" and story.ticket_type != "incident":
        custom["takaisinsoitto"] = rng.random() < 0.4
    fcr = staff and plan.target == "closed" and story.ticket_type == "question"
    refs: list[tuple[str, str]] = []
    if channel == "partner_desk":
        refs = [("alue-ict", f"INC{100000 + plan.n}")]
    intake = Intake(
        organisation=org, channel=channel, subject=story.title, body=body,
        customer=identity, language=story.language,
        message_id=MESSAGE_ID.format(n=plan.n), thread=ThreadRefs(external_refs=refs),
        location=location, custom_fields=custom, ticket_type=setup.types[story.ticket_type],
        category=category, team=team, impact=story.impact, urgency=story.urgency,
        tags=story.tags if rng.random() < 0.7 else (), actor=actor,
        status=Status.CLOSED if fcr else Status.NEW, first_contact_resolution=fcr,
    )
    ticket = receive(intake).ticket
    marks.append(timezone.now())
    if fcr or plan.target == "new":
        if not fcr and story.note and rng.random() < 0.3:
            responder = setup.users[_responder(setup, ticket)]
            ticket_actions.add_message(actor=responder, ticket=ticket, kind=MessageKind.NOTE,
                                       body=story.note)
            marks.append(timezone.now())
        return ticket

    agent = setup.users[_responder(setup, ticket)]
    ticket = ticket_actions.assign(actor=agent, ticket=ticket, assignee=agent)
    ticket_actions.add_message(actor=agent, ticket=ticket, kind=MessageKind.REPLY,
                               body=story.reply)
    marks.append(timezone.now())
    if story.note and rng.random() < 0.6:
        ticket_actions.add_message(actor=agent, ticket=ticket, kind=MessageKind.NOTE,
                                   body=story.note)
        marks.append(timezone.now())
    ticket.refresh_from_db()
    if plan.target == "pending_customer":
        ticket_actions.change_status(actor=agent, ticket=ticket, status=Status.PENDING_CUSTOMER)
        marks.append(timezone.now())
        return ticket
    if plan.target == "pending_third_party":
        ticket = ticket_actions.change_status(actor=agent, ticket=ticket,
                                              status=Status.PENDING_THIRD_PARTY)
        marks.append(timezone.now())
        slug = next(s for s, t in setup.teams.items() if t.pk == ticket.team_id)
        if slug in ESCALATE_TO:  # handed on to the next tier, nobody picked it up yet
            ticket_actions.assign(actor=agent, ticket=ticket,
                                  team=setup.teams[ESCALATE_TO[slug]], assignee=None)
            marks.append(timezone.now())
        return ticket
    if story.follow_up and rng.random() < 0.8:
        ticket_actions.add_message(
            actor=None, ticket=ticket, kind=MessageKind.INBOUND, body=story.follow_up,
            language=story.language, channel=channel if channel != "monitoring" else None,
            author_customer=ticket.customer, author_name=identity.name,
        )
        marks.append(timezone.now())
        ticket.refresh_from_db()
    if plan.target in ("resolved", "closed"):
        ticket = ticket_actions.change_status(actor=agent, ticket=ticket,
                                              status=Status.RESOLVED)
        marks.append(timezone.now())
        if plan.target == "closed":
            ticket = ticket_actions.change_status(actor=agent, ticket=ticket,
                                                  status=Status.CLOSED)
            marks.append(timezone.now())
    return ticket


def _responder(setup: _Setup, ticket: Ticket) -> str:
    slug = next(s for s, t in setup.teams.items() if t.pk == ticket.team_id)
    return RESPONDERS[slug]


def _backdate(ticket_id: int, plan: _Plan, marks: list[dt.datetime],
              now: dt.datetime) -> None:
    """Spread the ticket's conversation and history over its (past) lifetime: what one
    action wrote stays together, the actions move hours apart."""
    messages = list(Message.objects.filter(ticket_id=ticket_id))
    history = list(HistoryEntry.objects.filter(ticket_id=ticket_id))
    gaps = [0.0, *[plan.gaps[i % len(plan.gaps)] for i in range(len(marks) - 1)]]
    start = now - dt.timedelta(days=plan.age_days) - dt.timedelta(hours=sum(gaps))
    step_times: list[dt.datetime] = []
    t = start
    for gap in gaps:
        t = t + dt.timedelta(hours=gap)
        step_times.append(t)

    first = min([m.created_at for m in messages] + [h.at for h in history])

    def moved(original: dt.datetime) -> dt.datetime:
        step = min(bisect.bisect_left(marks, original), len(marks) - 1)
        began = marks[step - 1] if step else first
        # keep the order inside one action (its rows are milliseconds apart)
        return step_times[step] + max(original - began, dt.timedelta(0))

    for m in messages:
        m.created_at = moved(m.created_at)
    for h in history:
        h.at = moved(h.at)
    Message.objects.bulk_update(messages, ["created_at"])
    HistoryEntry.objects.bulk_update(history, ["at"])
    times = [m.created_at for m in messages] + [h.at for h in history]
    updates: dict[str, Any] = {"created_at": start, "updated_at": max([start, *times])}
    replies = [m.created_at for m in messages if m.kind == MessageKind.REPLY]
    ticket = Ticket.objects.only("first_response_at", "resolved_at", "closed_at").get(
        pk=ticket_id)
    if ticket.first_response_at is not None:
        updates["first_response_at"] = min(replies) if replies else start
    status_times = {h.new: h.at for h in history if h.field == "status"}
    if ticket.resolved_at is not None:
        updates["resolved_at"] = status_times.get(Status.RESOLVED, status_times.get(
            Status.CLOSED, start))
    if ticket.closed_at is not None:
        updates["closed_at"] = status_times.get(Status.CLOSED, start)
    Ticket.objects.filter(pk=ticket_id).update(**updates)


def load(tickets: int = DEFAULT_TICKETS,
         progress: Callable[[str], None] | None = None) -> DemoSummary:
    """Create the demo city and its tickets; idempotent."""
    with transaction.atomic():
        created_users: list[str] = []
        setup = _setup(created_users)
        summary = DemoSummary(setup.org, created_users=created_users)
        done = set(Message.objects.filter(
            ticket__organisation=setup.org, external_id__startswith="demo-",
            kind=MessageKind.INBOUND).values_list("external_id", flat=True))
        plans = [_plan(n) for n in range(1, tickets + 1) if MESSAGE_ID.format(n=n) not in done]
        summary.existing_tickets = tickets - len(plans)
        plans.sort(key=lambda p: -p.age_days)  # numbers grow with time, as in real life
        now = timezone.now()
        created: list[tuple[int, _Plan, list[dt.datetime]]] = []
        for i, plan in enumerate(plans, 1):
            marks: list[dt.datetime] = []
            ticket = _create_one(setup, plan, marks)
            created.append((ticket.pk, plan, marks))
            if progress and i % 100 == 0:
                progress(f"{i} tickets")
        for ticket_id, plan, marks in created:
            _backdate(ticket_id, plan, marks, now)
        from kapula.sla.demo import rebuild_clocks

        rebuild_clocks([c[0] for c in created])
        fresh = list(Ticket.objects.filter(pk__in=[c[0] for c in created])
                     .select_related("customer").prefetch_related("customer__contacts"))
        for i in range(0, len(fresh), 200):
            ticket_actions.reindex(fresh[i:i + 200])
        from kapula.routing.demo import ensure_demo_routing  # after the demo tickets

        ensure_demo_routing(setup.org, setup.teams, setup.categories)
        summary.created_tickets = len(created)
    return summary
