"""Organisations, units, teams, people and the event outbox."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    FI = "fi", _("Finnish")
    SV = "sv", _("Swedish")
    EN = "en", _("English")


def in_language(obj: object, stem: str, language: str | None = None) -> str:
    """``obj.<stem>_<language>`` (the active language by default), falling back to the
    Finnish, English and Swedish texts in that order."""
    lang = (language or get_language() or "fi")[:2]
    value = getattr(obj, f"{stem}_{lang}", "") if lang in ("fi", "sv", "en") else ""
    return str(value or getattr(obj, f"{stem}_fi", "") or getattr(obj, f"{stem}_en", "")
               or getattr(obj, f"{stem}_sv", ""))


class TranslatedName(models.Model):
    """Abstract: a name in Finnish, Swedish and English, shown in the active language."""

    name_fi = models.CharField(_("name (Finnish)"), max_length=200)
    name_sv = models.CharField(_("name (Swedish)"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)

    class Meta:
        abstract = True

    def name_in(self, language: str | None) -> str:
        return in_language(self, "name", language or "fi")

    @property
    def name(self) -> str:
        return self.name_in(get_language())

    def __str__(self) -> str:
        return self.name


#: a web origin as browsers send it: scheme://host[:port], nothing more
ORIGIN = re.compile(
    r"^https?://(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)(?::[0-9]{1,5})?$")


def origin_lines(text: str) -> list[str]:
    """The non-empty lines of ``text``, trimmed, lower-cased and without a trailing slash."""
    return [line.strip().lower().rstrip("/") for line in (text or "").splitlines()
            if line.strip()]


def parse_origins(text: str) -> list[str]:
    """The valid origins of ``text`` (one per line), without duplicates. Anything else is
    left out, so a value that bypassed validation can never reach a header."""
    out: list[str] = []
    for line in origin_lines(text):
        if ORIGIN.match(line) and line not in out and _port_ok(line):
            out.append(line)
    return out


def _port_ok(origin: str) -> bool:
    tail = origin.rsplit(":", 1)[-1]
    return not tail.isdigit() or 0 < int(tail) < 65536


def validate_origins(text: str) -> None:
    bad = [line for line in origin_lines(text) if not (ORIGIN.match(line) and _port_ok(line))]
    if bad:
        raise ValidationError(
            _("Give one origin per line as scheme://host or scheme://host:port (http or "
              "https, no path), e.g. https://www.example.fi. Not valid: %(bad)s"),
            code="invalid_origin", params={"bad": ", ".join(bad[:5])})


class Organisation(models.Model):
    """A tenant: a city, a university, a company. Nothing crosses organisations."""

    slug = models.SlugField(_("identifier"), unique=True)
    name = models.CharField(_("name"), max_length=200)
    ticket_prefix = models.CharField(
        _("ticket number prefix"), max_length=10,
        help_text=_("Ticket numbers look like PREFIX-2026-000123."),
    )
    default_language = models.CharField(
        _("default language"), max_length=2, choices=Language.choices, default=Language.FI
    )
    default_team = models.ForeignKey(
        "Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("default team"),
        help_text=_("Where new tickets go when nothing else routes them."),
    )
    embed_origins = models.TextField(
        _("websites that may embed the forms"), blank=True, validators=[validate_origins],
        help_text=_("One origin per line, e.g. https://www.example.fi. Only these sites may "
                    "show the organisation's public web forms in a frame."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def embed_origin_list(self) -> list[str]:
        return parse_origins(self.embed_origins)


class Unit(TranslatedName):
    """A node of the organisation's tree: a faculty, a service area, a department."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="units",
                                     verbose_name=_("organisation"))
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children",
        verbose_name=_("parent unit"),
    )
    shared_visibility = models.BooleanField(
        _("members see all tickets of the unit"), default=False,
        help_text=_("When set, an agent of any team in this unit sees the tickets of every "
                    "team in the unit and its sub-units."),
    )

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["name_fi"]


class Tier(models.TextChoices):
    FRONT = "front", _("Service point / 1st-line desk")
    SPECIALIST = "specialist", _("Specialists (2nd line)")
    SUPPLIER = "supplier", _("Supplier")


class Team(TranslatedName):
    """A work queue. Tickets are owned by a team and optionally by one of its agents."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="teams",
                                     verbose_name=_("organisation"))
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.SET_NULL, related_name="teams",
        verbose_name=_("unit"),
    )
    slug = models.SlugField(_("identifier"))
    tier = models.CharField(_("tier"), max_length=20, choices=Tier.choices, default=Tier.FRONT)
    email = models.EmailField(_("team email"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name_fi"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "slug"], name="team_slug_per_org")
        ]


class Role(models.TextChoices):
    AGENT = "agent", _("Agent")
    TEAM_LEAD = "team_lead", _("Team lead")
    UNIT_ADMIN = "unit_admin", _("Unit admin")
    ORG_ADMIN = "org_admin", _("Organisation admin")


class User(AbstractUser):
    """A person who logs in: an agent, an administrator (customers need no login)."""

    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="users",
        verbose_name=_("organisation"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.AGENT)
    admin_unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.SET_NULL, related_name="admins",
        verbose_name=_("administered unit"),
        help_text=_("For unit admins: the unit (with its sub-units) they administer."),
    )
    language = models.CharField(
        _("interface language"), max_length=2, choices=Language.choices, blank=True
    )
    teams = models.ManyToManyField(
        Team, through="Membership", related_name="members", blank=True, verbose_name=_("teams")
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships",
                             verbose_name=_("user"))
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships",
                             verbose_name=_("team"))
    is_lead = models.BooleanField(_("team lead"), default=False)

    class Meta:
        verbose_name = _("team membership")
        verbose_name_plural = _("team memberships")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "team"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.team}"


class Customer(models.Model):
    """Somebody the organisation serves. Needs no login."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="customers"
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    language = models.CharField(
        _("preferred language"), max_length=2, choices=Language.choices, blank=True
    )
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers",
        verbose_name=_("unit (internal customers)"),
    )
    organisation_name = models.CharField(_("customer's organisation"), max_length=200, blank=True)
    user = models.OneToOneField(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="customer"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes: ClassVar = [models.Index(fields=["organisation", "name"])]

    def __str__(self) -> str:
        return self.name or str(_("Customer %(id)s") % {"id": self.pk})

    @property
    def emails(self) -> list[str]:
        return [c.value for c in self.contacts.all() if c.kind == ContactKind.EMAIL]

    @property
    def phones(self) -> list[str]:
        return [c.value for c in self.contacts.all() if c.kind == ContactKind.PHONE]


class ContactKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")


class CustomerContact(models.Model):
    """An email address or phone number of a customer, normalised for matching."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    kind = models.CharField(_("kind"), max_length=10, choices=ContactKind.choices)
    value = models.CharField(_("value"), max_length=254)
    normalised = models.CharField(max_length=254)
    #: mail to this address bounced (set by the email channel, cleared when it works again)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    failure_reason = models.CharField(_("delivery failure"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("customer contact")
        verbose_name_plural = _("customer contacts")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "kind", "normalised"], name="contact_unique_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.value


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the REST API. Only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens",
                             verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def new_raw_token() -> str:
        return "kpl_" + secrets.token_urlsafe(32)


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction as the change it describes."""

    organisation = models.ForeignKey(
        Organisation, null=True, on_delete=models.CASCADE, related_name="+"
    )
    topic = models.CharField(_("topic"), max_length=64, db_index=True)
    aggregate = models.CharField(_("aggregate"), max_length=32)
    aggregate_id = models.BigIntegerField(_("aggregate id"))
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        indexes: ClassVar = [
            models.Index(
                fields=["id"], name="outbox_pending", condition=models.Q(processed_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.aggregate_id}"


class OutboxDelivery(models.Model):
    """One subscriber has handled one event; a failing subscriber never re-runs the others."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.CharField(max_length=100)
    delivered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("event delivery")
        verbose_name_plural = _("event deliveries")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["event", "subscriber"], name="delivery_once")
        ]


class IdempotencyRecord(models.Model):
    """The first response to a POST carrying an Idempotency-Key, replayed on retries."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=0)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")
        ]
