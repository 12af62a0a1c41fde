"""Fixtures for the agent workspace tests."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from kapula.core.actions import CustomerIdentity
from kapula.intake.actions import Intake, receive
from kapula.tickets.models import Ticket
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def _clear_cache():  # type: ignore[no-untyped-def]
    cache.clear()  # the login rate limit lives in the cache
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")


def logged_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def make_ticket(world, subject="Katuvalo rikki", body="Katuvalo on rikki Hämeenkadulla.",
                team=None, email="asiakas@example.fi", **kw) -> Ticket:  # type: ignore[no-untyped-def]
    return receive(Intake(organisation=world.org, channel="email", subject=subject, body=body,
                          team=team, customer=CustomerIdentity(name="Aino Asiakas", email=email),
                          **kw)).ticket
