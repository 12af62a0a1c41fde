"""Fixtures for escalation and supplier tests: an email supplier, a webhook supplier, the
service mailbox, and the real SMTP sink of the mail tests."""

from __future__ import annotations

import pytest

from kapula.intake.mail.models import Mailbox
from kapula.suppliers.models import Supplier
from tests.mail.conftest import smtp_sink  # noqa: F401  (a real SMTP server)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def mailbox(world):  # type: ignore[no-untyped-def]
    return Mailbox.objects.create(organisation=world.org, name="Palvelu",
                                  address="palvelu@tre.example.fi", kind="lmtp",
                                  team=world.service_point)


@pytest.fixture
def supplier(world) -> Supplier:  # type: ignore[no-untyped-def]
    return Supplier.objects.create(organisation=world.org, name="Datakeskus Oy",
                                   email="tuki@datakeskus.example", response_hours=4,
                                   resolution_hours=40, reference_pattern=r"DK-(\d+)")
