"""Fixtures for the customer portal: customers with tickets in several channels, a logged-in
portal client, and login mail sent at once (not from a thread) so tests can read it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from kapula.core.actions import create_customer
from kapula.core.models import Customer, Organisation
from kapula.portal import actions as portal_actions
from kapula.portal.models import PortalLink
from kapula.portal.views import EMAIL_KEY, ORG_KEY
from kapula.tickets import actions as A
from kapula.tickets.models import Ticket

EMAIL = "aino@example.fi"
OTHER_EMAIL = "bertil@example.fi"
LINK = re.compile(r"https?://\S+/portal/[a-z0-9-]+/login/[A-Za-z0-9_-]+/")


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    cache.clear()  # the rate limits live in the cache
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _mail_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send the login mail in the calling thread (production sends it from a thread)."""
    monkeypatch.setattr(portal_actions, "send_in_background", lambda fn: fn())


def make_customer(org: Organisation, email: str = EMAIL, name: str = "Aino Asiakas",
                  language: str | None = None, extra: tuple[str, ...] = ()) -> Customer:
    return create_customer(actor=None, organisation=org, name=name,
                           emails=[email, *extra], language=language)


def make_ticket(org: Organisation, customer: Customer | None, title: str = "Katuvalo rikki",
                channel: str = "email", body: str = "Katuvalo on rikki Hämeenkadulla.",
                **kw: Any) -> Ticket:
    return A.create_ticket(actor=None, organisation=org, title=title, body=body,
                           channel=channel, customer=customer, **kw)


def portal_client(org: Organisation, email: str = EMAIL, language: str = "en") -> Client:
    """A browser with a portal session for ``email`` (as a used login link leaves it)."""
    client = Client()
    client.cookies["django_language"] = language
    session = client.session
    session[ORG_KEY] = org.pk
    session[EMAIL_KEY] = email
    session.save()
    client.cookies["sessionid"] = session.session_key  # type: ignore[assignment]
    return client


def english() -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    return client


def link_in(body: str) -> str:
    found = LINK.search(body)
    assert found, body
    return found.group(0)


def mailed_link() -> str:
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    return link_in(str(mail.outbox[0].body))


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def links() -> int:
    return PortalLink.objects.count()
