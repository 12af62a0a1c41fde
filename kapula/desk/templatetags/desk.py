"""Template helpers of the agent workspace: readable history entries."""

from __future__ import annotations

import datetime as dt

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from kapula.tickets.models import AuthorKind, Channel, Level, Priority, Status, Ticket

register = template.Library()

_EXTRA = {
    "created": lambda: _("created"),
    "related": lambda: _("related ticket"),
    "merged_into": lambda: _("merged into"),
    "merged_from": lambda: _("merged from"),
    "external_ref": lambda: _("external reference"),
    "escalation": lambda: _("escalation"),
    "supplier_reference": lambda: _("supplier's reference"),
    "supplier_state": lambda: _("supplier engagement"),
    "rating": lambda: _("customer's rating"),
}
_VALUES = {"status": Status, "impact": Level, "urgency": Level}


@register.filter
def history_field(name: str) -> str:
    """The translated label of a changed field (``custom_fields.x`` shows ``x``)."""
    if name in _EXTRA:
        return str(_EXTRA[name]())
    if name.startswith("custom_fields."):
        return name.split(".", 1)[1]
    try:
        field = Ticket._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    return str(getattr(field, "verbose_name", name))


@register.simple_tag
def history_value(name: str, value: str) -> str:
    """A stored history value shown in words where it is a known code."""
    if not value:
        return ""
    choices = _VALUES.get(name)
    if choices is not None and value in choices.values:
        return str(choices(value).label)
    if name == "rating":  # "4" or "4\ncomment" (kapula.portal.actions.rate)
        score, _sep, comment = value.partition("\n")
        shown = _("%(score)s / 5") % {"score": score}
        return f"{shown} – “{comment}”" if comment else shown
    if name == "priority" and value.isdigit() and int(value) in Priority.values:
        return str(Priority(int(value)).label)
    if name.endswith("_at"):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return formats.date_format(moment, "SHORT_DATETIME_FORMAT")
    return value


@register.filter
def history_actor(label: str) -> str:
    """Who made a change: a person's name as stored; a channel code or "system" in words."""
    if label == AuthorKind.SYSTEM.value:
        return str(AuthorKind.SYSTEM.label)
    if label in Channel.values:
        return str(Channel(label).label)
    return label
