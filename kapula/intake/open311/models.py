"""Open311 GeoReport v2: the client applications allowed to open requests, and what a
request brought that the ticket itself does not keep (the client, device and account ids,
the address id, an external media URL and a line or area drawn on a map)."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kapula.core.models import Organisation
from kapula.tickets.models import Ticket


class Open311Client(models.Model):
    """A client application (a mobile app, a map service) with its API key. Only the
    SHA-256 of the key is stored."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                     related_name="open311_clients",
                                     verbose_name=_("organisation"))
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("key prefix"), max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("Open311 client")
        verbose_name_plural = _("Open311 clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def new_raw_key() -> str:
        return "o311_" + secrets.token_urlsafe(32)


class Open311Request(models.Model):
    """The Open311 details of a ticket opened through the API."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="open311")
    client = models.ForeignKey(Open311Client, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="requests", verbose_name=_("client"))
    device_id = models.CharField(_("device id"), max_length=100, blank=True)
    account_id = models.CharField(_("account id"), max_length=100, blank=True)
    address_id = models.CharField(_("address id"), max_length=100, blank=True)
    media_url = models.URLField(_("media URL"), max_length=500, blank=True)
    #: the GeoJSON geometry that was posted (Point, MultiPoint, LineString or Polygon), in
    #: WGS84 [longitude, latitude]; the ticket keeps its representative point
    geometry = models.JSONField(_("geometry"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("Open311 request")
        verbose_name_plural = _("Open311 requests")
