"""Submitting a service's form: every channel that offers the catalogue (web forms, the
Open311 API, staff recording a contact) validates the answers here and opens the ticket
through the one intake path."""

from __future__ import annotations

import datetime as dt
import mimetypes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from kapula.catalogue.models import FieldKind, FormSubmission, Service, ServiceField
from kapula.core.actions import CustomerIdentity
from kapula.core.db import atomic_action
from kapula.core.errors import ValidationFailed
from kapula.core.models import Language, User
from kapula.intake.actions import Intake, IntakeResult, receive
from kapula.tickets.actions import Location
from kapula.tickets.attachments import AttachmentInput
from kapula.tickets.models import Level, Status

MAX_TEXT = 1000
MAX_DESCRIPTION = 4000
MAX_FILES = 5
#: what a form's attachment field takes: photos from a phone and PDF documents
FORM_FILE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp",
                             "image/gif", "application/pdf"})


@dataclass
class Submission:
    service: Service
    channel: str
    language: str
    description: str = ""
    #: raw answers by field code: a string, or a list of strings for multiple choice
    values: Mapping[str, Any] = field(default_factory=dict)
    #: uploaded files by attachment field code
    files: Mapping[str, Sequence[AttachmentInput]] = field(default_factory=dict)
    location: Location | None = None
    name: str = ""
    email: str = ""
    phone: str = ""
    actor: User | None = None
    message_id: str = ""
    #: staff recording a contact: an existing customer they picked, the agent the ticket is
    #: assigned to, and whether the matter was settled during the contact
    customer_id: int | None = None
    assignee: User | None = None
    resolved: bool = False
    #: the ticket's title when the channel has one (Open311's ``title`` extension); empty:
    #: "<service name>: <first line of the description>"
    title: str = ""


def _fields(service: Service) -> list[ServiceField]:
    return list(service.fields.all())


def _answer(f: ServiceField, raw: Any, sub: Submission,
            errors: dict[str, str]) -> tuple[Any, str] | None:
    """(stored value, text shown to agents) or None when not answered."""
    kind = f.kind
    if kind == FieldKind.ATTACHMENT:
        files = list(sub.files.get(f.code, ()))
        if not files:
            return None
        if len(files) > MAX_FILES:
            errors[f.code] = _("At most %(n)d files.") % {"n": MAX_FILES}
            return None
        for x in files:
            mime = (x.content_type or mimetypes.guess_type(x.filename)[0] or "").split(";")[0]
            if mime.strip().lower() not in FORM_FILE_TYPES:
                errors[f.code] = _("%(name)s: only photos (JPEG, PNG, GIF, WebP) and PDF "
                                   "files can be attached.") % {"name": x.filename[:100]}
                return None
        return [x.filename for x in files], ", ".join(x.filename for x in files)
    if kind == FieldKind.LOCATION:
        loc = sub.location
        if loc is None or (loc.latitude is None and loc.northing is None
                           and not (loc.address or "").strip()):
            return None
        shown = loc.address or ""
        if loc.latitude is not None and loc.longitude is not None:
            shown = f"{shown} ({loc.latitude:.6f}, {loc.longitude:.6f})".strip()
        return {"address": loc.address, "latitude": loc.latitude,
                "longitude": loc.longitude}, shown
    if kind == FieldKind.MULTICHOICE:
        picked = [str(v) for v in (raw if isinstance(raw, (list, tuple)) else [raw]) if v]
        if not picked:
            return None
        names = dict(f.choice_pairs(sub.language))
        if any(p not in names for p in picked):
            errors[f.code] = _("Choose from the given options.")
            return None
        return picked, ", ".join(names[p] for p in picked)
    text = str(raw if raw is not None else "").strip()
    if not text:
        return None
    if kind == FieldKind.CHOICE:
        names = dict(f.choice_pairs(sub.language))
        if text not in names:
            errors[f.code] = _("Choose from the given options.")
            return None
        return text, names[text]
    if kind == FieldKind.YESNO:
        if text not in ("yes", "no"):
            errors[f.code] = _("Answer yes or no.")
            return None
        return text, str(_("Yes") if text == "yes" else _("No"))
    if kind == FieldKind.NUMBER:
        try:
            number = Decimal(text.replace(",", ".").replace(" ", ""))
        except InvalidOperation:
            errors[f.code] = _("Enter a number.")
            return None
        if not number.is_finite() or abs(number) >= Decimal("1e12"):
            errors[f.code] = _("Enter a number.")
            return None
        return str(number), str(number)
    if kind == FieldKind.DATE:
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            errors[f.code] = _("Enter a date (for example 2026-11-23).")
            return None
        return day.isoformat(), day.strftime("%d.%m.%Y")
    limit = MAX_DESCRIPTION if kind == FieldKind.TEXTAREA else MAX_TEXT
    if len(text) > limit:
        errors[f.code] = _("At most %(n)d characters.") % {"n": limit}
        return None
    return text, text


def validate(sub: Submission) -> tuple[list[dict[str, Any]], bool]:
    """The answers in form order, and whether one of them marks the request urgent.
    Raises ValidationFailed with ``details["fields"]`` {code: message} for every bad field."""
    errors: dict[str, str] = {}
    answers: list[dict[str, Any]] = []
    urgent = False
    with translation.override(sub.language):
        if len(sub.description) > MAX_DESCRIPTION:
            errors["description"] = _("At most %(n)d characters.") % {"n": MAX_DESCRIPTION}
        if sub.service.require_email and not sub.email.strip():
            errors["email"] = _("This service needs your email address for the reply.")
        for f in _fields(sub.service):
            got = _answer(f, sub.values.get(f.code), sub, errors)
            if got is None:
                if f.required and f.code not in errors:
                    errors[f.code] = _("This field is required.")
                continue
            value, shown = got
            answers.append({"code": f.code, "label": f.label_in(sub.language), "kind": f.kind,
                            "value": value, "display": shown})
            chosen = value if isinstance(value, list) else [value]
            if f.urgent_values and any(str(v) in map(str, f.urgent_values) for v in chosen):
                urgent = True
        if not sub.description.strip() and not answers:
            errors["description"] = _("Tell us what this is about.")
        if errors:
            raise ValidationFailed(_("Check the fields marked in the form."),
                                   code="form_invalid", details={"fields": errors})
    return answers, urgent


@atomic_action
def submit(sub: Submission) -> IntakeResult:
    """Validate the answers and open (or, for a repeated message id, find) the ticket."""
    service = sub.service
    if sub.language not in Language.values:
        raise ValidationFailed(_("Language must be fi, sv or en."), code="invalid_language",
                               field="language")
    answers, urgent = validate(sub)
    with translation.override(sub.language):
        lines = [sub.description.strip()] if sub.description.strip() else []
        details = [f"{a['label']}: {a['display']}" for a in answers
                   if a["kind"] not in (FieldKind.ATTACHMENT,)]
        body = "\n\n".join([*lines, "\n".join(details)] if details else lines)
        first = sub.description.strip().splitlines()[0][:120] if sub.description.strip() \
            else ""
        title = f"{service.name_in(sub.language)}: {first}" if first else \
            service.name_in(sub.language)
        if sub.title.strip():
            title = " ".join(sub.title.split())  # one line
    attachments = [a for code in sub.files for a in sub.files[code]]
    result = receive(Intake(
        organisation=service.organisation, channel=sub.channel, subject=title[:300],
        body=body, language=sub.language, attachments=attachments,
        customer=CustomerIdentity(name=sub.name.strip(), email=sub.email.strip(),
                                  phone=sub.phone.strip(), customer_id=sub.customer_id),
        location=sub.location if any(a["kind"] == FieldKind.LOCATION for a in answers)
        else None,
        ticket_type=service.ticket_type, category=service.category, team=service.team,
        impact=service.impact, urgency=Level.HIGH if urgent else service.urgency,
        actor=sub.actor, message_id=sub.message_id, assignee=sub.assignee,
        status=Status.RESOLVED if sub.resolved else Status.NEW,
        first_contact_resolution=sub.resolved, service_id=service.pk,
    ))
    if result.created:
        FormSubmission.objects.create(ticket=result.ticket, service=service,
                                      channel=sub.channel, language=sub.language,
                                      answers=answers)
    return result
