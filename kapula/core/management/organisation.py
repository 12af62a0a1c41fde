"""The ``--organisation`` option of the data-generating commands."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from kapula.core import demo
from kapula.core.models import Organisation


def organisation_or_demo(slug: str) -> Organisation:
    """The organisation ``slug``; without one, the demo city (created if missing)."""
    if not slug:
        return demo.load(tickets=0).organisation
    org = Organisation.objects.filter(slug=slug).first()
    if org is None:
        raise CommandError(_("No organisation %(slug)s.") % {"slug": slug})
    return org
