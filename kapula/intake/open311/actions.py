"""Writes of the Open311 API: client keys, and opening a service request.

A request is a catalogue submission like any other channel's: :func:`open_request` calls
:func:`kapula.catalogue.actions.submit` (which validates the answers and opens the ticket
through the one intake path) and keeps the Open311 details beside the ticket, all in one
transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from kapula.catalogue.actions import Submission, submit
from kapula.catalogue.models import FieldKind
from kapula.core.db import atomic_action
from kapula.core.errors import Forbidden, ValidationFailed
from kapula.core.models import Organisation, Role, User, hash_token
from kapula.intake.actions import IntakeResult
from kapula.intake.open311 import cache
from kapula.intake.open311.models import Open311Client, Open311Request
from kapula.tickets import actions as ticket_actions

TOUCH_EVERY = dt.timedelta(minutes=1)


@dataclass
class RequestDetails:
    """What an Open311 request brings besides the form: kept in :class:`Open311Request`."""

    device_id: str = ""
    account_id: str = ""
    address_id: str = ""
    media_url: str = ""
    #: a checked GeoJSON geometry in WGS84 (:func:`kapula.intake.open311.geometry.parse`)
    geometry: dict[str, Any] | None = None


def may_manage_clients(actor: User | None, organisation: Organisation) -> bool:
    """Superusers, and the org admins of ``organisation`` (None: the command line)."""
    if actor is None or actor.is_superuser:
        return True
    return actor.role == Role.ORG_ADMIN and actor.organisation_id == organisation.pk


@atomic_action
def create_client(*, actor: User | None, organisation: Organisation, name: str,
                  notes: str = "") -> tuple[Open311Client, str]:
    """A new client application. The raw key is returned once and never stored."""
    if not may_manage_clients(actor, organisation):
        raise Forbidden(_("Only the organisation's admins can create Open311 clients."),
                        code="open311_client_forbidden")
    name = name.strip()[:100]
    if not name:
        raise ValidationFailed(_("Give the client a name."), code="name_required",
                               field="name")
    raw = Open311Client.new_raw_key()
    client = Open311Client.objects.create(organisation=organisation, name=name,
                                          prefix=raw[:10], key_hash=hash_token(raw),
                                          notes=notes.strip())
    return client, raw


def find_client(raw_key: str) -> Open311Client | None:
    """The active client with this key (its organisation joined in), or None. Notes when
    it was last used, at most once a minute."""
    raw_key = raw_key.strip()
    if not raw_key or len(raw_key) > 200:
        return None
    digest = hash_token(raw_key)
    client: Open311Client | None = cache.get(("client", digest))
    if client is None:
        client = (Open311Client.objects.filter(key_hash=digest, is_active=True)
                  .select_related("organisation").first())
        if client is None:
            return None
        cache.put(("client", digest), client)
    now = timezone.now()
    if client.last_used_at is None or now - client.last_used_at >= TOUCH_EVERY:
        client.last_used_at = now
        Open311Client.objects.filter(pk=client.pk).update(last_used_at=now)
    return client


@atomic_action
def open_request(*, client: Open311Client, submission: Submission,
                 details: RequestDetails) -> IntakeResult:
    """Open a ticket for ``submission`` on behalf of ``client``; nothing is written when
    anything fails."""
    service = submission.service
    if service.organisation_id != client.organisation_id:
        raise Forbidden(_("This API key belongs to another organisation."),
                        code="open311_wrong_organisation")
    result = submit(submission)
    if not result.created:
        return result
    has_location_field = any(f.kind == FieldKind.LOCATION for f in service.fields.all())
    if submission.location is not None and not has_location_field:
        # the form has no place for it, but an Open311 request always has a location
        ticket_actions.update_ticket(actor=None, ticket=result.ticket,
                                     changes={"location": submission.location},
                                     actor_label=client.name)
    Open311Request.objects.create(
        ticket=result.ticket, client=client, device_id=details.device_id[:100],
        account_id=details.account_id[:100], address_id=details.address_id[:100],
        media_url=details.media_url[:500], geometry=details.geometry)
    return result
