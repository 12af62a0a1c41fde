"""Shared fixtures: a small city with teams and one user per role, and a second
organisation that must never be visible to the first one's people."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread

from kapula.api.auth import forget_token
from kapula.core.models import Membership, Organisation, Role, Team, Unit, User
from kapula.intake.open311 import cache as open311_cache
from kapula.routing import engine as routing_engine
from kapula.tickets import config
from kapula.tickets.models import Category, TicketType

PASSWORD = "kapula-test-pass-1"


class _SerialisedLiveServer(ThreadedWSGIServer):
    """The browser tests' live server. On SQLite the test database lives in memory and the
    server's request threads share the test's one connection (Django passes it to them), so
    two requests at once (a page and the htmx panels it loads) can read each other's rows.
    Handle one request at a time then; PostgreSQL keeps the threaded server as it is."""

    _lock = threading.Lock()

    def set_app(self, application):  # type: ignore[no-untyped-def]
        if self.connections_override:
            def serialised(environ, start_response):  # type: ignore[no-untyped-def]
                with self._lock:
                    return application(environ, start_response)

            return super().set_app(serialised)
        return super().set_app(application)


LiveServerThread.server_class = _SerialisedLiveServer


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):  # type: ignore[no-untyped-def]
    """Tests create many users; the production hasher is deliberately slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_map_tiles_from_the_internet(settings):  # type: ignore[no-untyped-def]
    """No background map by default: the browser would fetch tiles from the internet.
    Map tests serve their own tiles (tests/test_maps_browser.py)."""
    settings.KAPULA_MAP_LAYERS = []


@pytest.fixture(autouse=True)
def _fresh_config_cache():  # type: ignore[no-untyped-def]
    """Each test builds its own organisations (SQLite reuses ids after a rollback)."""
    config.invalidate()
    forget_token()
    open311_cache.forget()
    routing_engine.forget()
    yield
    config.invalidate()
    forget_token()
    open311_cache.forget()


@dataclass
class World:
    org: Organisation
    other_org: Organisation
    unit: Unit
    sub_unit: Unit
    service_point: Team
    it_desk: Team
    specialists: Team
    other_team: Team
    agent: User
    lead: User
    unit_admin: User
    org_admin: User
    outsider: User
    other_agent: User
    incident: TicketType
    question: TicketType
    category: Category


def make_user(username: str, org: Organisation | None, role: str = Role.AGENT,
              teams: tuple[Team, ...] = (), lead: bool = False, **extra: object) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, organisation=org,
                                    role=role, first_name=username.title(), **extra)
    for team in teams:
        Membership.objects.create(user=user, team=team, is_lead=lead)
    return user


@pytest.fixture
def world(db: None) -> World:
    org = Organisation.objects.create(slug="tre", name="Tampere", ticket_prefix="TRE")
    other = Organisation.objects.create(slug="oulu", name="Oulu", ticket_prefix="OUL")
    unit = Unit.objects.create(organisation=org, name_fi="Palvelut", name_en="Services")
    sub = Unit.objects.create(organisation=org, name_fi="IT", parent=unit)
    sp = Team.objects.create(organisation=org, unit=unit, slug="sp", name_fi="Palvelupiste",
                             name_sv="Servicepunkt", name_en="Service point")
    it = Team.objects.create(organisation=org, unit=sub, slug="it", name_fi="IT-tuki",
                             name_en="IT service desk")
    spec = Team.objects.create(organisation=org, unit=sub, slug="spec", tier="specialist",
                               name_fi="IT-asiantuntijat", name_en="IT specialists")
    ot = Team.objects.create(organisation=other, slug="sp", name_fi="Oulun palvelupiste")
    org.default_team = sp
    org.save()
    other.default_team = ot
    other.save()
    incident = TicketType.objects.create(organisation=org, code="incident", name_fi="Häiriö",
                                         name_en="Incident", ordering=2)
    question = TicketType.objects.create(organisation=org, code="question", name_fi="Kysymys",
                                         name_en="Question", ordering=1)
    cat = Category.objects.create(organisation=org, name_fi="Katuvalot", name_en="Street lights")
    return World(
        org=org, other_org=other, unit=unit, sub_unit=sub, service_point=sp, it_desk=it,
        specialists=spec, other_team=ot,
        agent=make_user("agent", org, teams=(sp,)),
        lead=make_user("lead", org, Role.TEAM_LEAD, teams=(it,), lead=True),
        unit_admin=make_user("unitadmin", org, Role.UNIT_ADMIN, admin_unit=sub),
        org_admin=make_user("orgadmin", org, Role.ORG_ADMIN, is_staff=True),
        outsider=make_user("outsider", org),
        other_agent=make_user("otheragent", other, teams=(ot,)),
        incident=incident, question=question, category=cat,
    )
