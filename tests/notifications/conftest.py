"""Fixtures for notification tests: a second member of the IT desk, outbox delivery, and the
real SMTP sink of the mail tests."""

from __future__ import annotations

import pytest

from kapula.core import outbox
from kapula.core.models import User
from tests.conftest import World, make_user
from tests.mail.conftest import smtp_sink  # noqa: F401  (a real SMTP server)


def deliver() -> None:
    """Run the outbox as the task worker would, until nothing is pending."""
    outbox._scheduled_until = 0.0
    while outbox.deliver_pending():
        pass


@pytest.fixture
def second(world: World) -> User:
    """A second agent of the IT desk (the lead is the first), with an email address."""
    return make_user("second", world.org, teams=(world.it_desk,), email="second@tre.example.fi",
                     language="en")
