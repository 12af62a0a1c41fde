"""Helpers for the permission matrix (tests/test_permissions.py): the portal's pages are
public from the staff roles' point of view. Pages that need a portal session answer every
staff role (and the anonymous) with a redirect to the portal login; their real access
rules are tested in tests/portal/."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.utils import timezone

from kapula.core.models import hash_token
from kapula.portal.models import PortalLink


def portal_link(c: Any) -> str:
    """The path of a fresh, unused login link for the matrix's customer."""
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    PortalLink.objects.create(organisation=c.world.org, email="matti@example.fi",
                              token_hash=hash_token(raw), created_at=now,
                              expires_at=now + timedelta(minutes=30))
    return f"/portal/tre/login/{raw}/"


def portal_ticket(c: Any, what: str = "") -> str:
    return f"/portal/tre/tickets/{c.ticket.number}/" + (f"{what}/" if what else "")
