"""Tickets, their conversation, attachments, links and history."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kapula.core.models import (
    Customer,
    Language,
    Organisation,
    Team,
    TranslatedName,
    User,
)


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING_CUSTOMER = "pending_customer", _("Pending customer")
    PENDING_THIRD_PARTY = "pending_third_party", _("Pending third party")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


ACTIVE_STATUSES = (
    Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_THIRD_PARTY,
)


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEB_FORM = "web_form", _("Web form")
    MOBILE_APP = "mobile_app", _("Mobile app")
    CHAT = "chat", _("Chat")
    CHATBOT = "chatbot", _("Chatbot")
    PHONE = "phone", _("Phone")
    WALK_IN = "walk_in", _("Walk-in")
    SOCIAL_MEDIA = "social_media", _("Social media")
    API = "api", _("API")
    PARTNER_DESK = "partner_desk", _("Partner service desk")
    MONITORING = "monitoring", _("Monitoring")
    INTERNAL = "internal", _("Internal")
    PORTAL = "portal", _("Customer portal")


STAFF_ENTERED_CHANNELS = (Channel.WALK_IN, Channel.PHONE, Channel.SOCIAL_MEDIA)


def choice_label(choices: Any, value: object) -> str:
    """The label of ``value`` in ``choices``, translated: one enum lookup and one gettext."""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value) if value is not None else ""


class Level(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class Priority(models.IntegerChoices):
    CRITICAL = 1, _("Critical")
    HIGH = 2, _("High")
    NORMAL = 3, _("Normal")
    LOW = 4, _("Low")


class TicketType(TranslatedName):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="ticket_types"
    )
    code = models.SlugField(_("code"))
    is_active = models.BooleanField(_("active"), default=True)
    ordering = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("ticket type")
        verbose_name_plural = _("ticket types")
        ordering = ["ordering", "name_fi"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "code"], name="type_code_per_org")
        ]


class Category(TranslatedName):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="categories"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children",
        verbose_name=_("parent category"),
    )
    default_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("default team"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["name_fi"]


class PriorityRule(models.Model):
    """One cell of an organisation's impact x urgency matrix."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="priority_rules"
    )
    impact = models.CharField(_("impact"), max_length=10, choices=Level.choices)
    urgency = models.CharField(_("urgency"), max_length=10, choices=Level.choices)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices)

    class Meta:
        verbose_name = _("priority matrix cell")
        verbose_name_plural = _("priority matrix")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "impact", "urgency"], name="priority_cell_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_impact_display()} x {self.get_urgency_display()}"


DEFAULT_MATRIX = {
    ("high", "high"): 1, ("high", "medium"): 2, ("high", "low"): 3,
    ("medium", "high"): 2, ("medium", "medium"): 3, ("medium", "low"): 3,
    ("low", "high"): 3, ("low", "medium"): 4, ("low", "low"): 4,
}


class FieldKind(models.TextChoices):
    TEXT = "text", _("Text")
    INTEGER = "integer", _("Whole number")
    DECIMAL = "decimal", _("Decimal number")
    BOOLEAN = "boolean", _("Yes/no")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")


class CustomField(TranslatedName):
    """A typed extra field, for one ticket type and/or category (or for all tickets)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="custom_fields"
    )
    key = models.SlugField(_("key"))
    kind = models.CharField(_("kind"), max_length=10, choices=FieldKind.choices)
    ticket_type = models.ForeignKey(
        TicketType, null=True, blank=True, on_delete=models.CASCADE, related_name="fields",
        verbose_name=_("ticket type"),
    )
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, related_name="fields",
        verbose_name=_("category"),
    )
    choices = models.JSONField(
        _("choices"), default=list, blank=True,
        help_text=_("For choice fields: a list of allowed values."),
    )
    required = models.BooleanField(_("required"), default=False)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "key"], name="field_key_per_org")
        ]


class Tag(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(_("name"), max_length=64)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "name"], name="tag_per_org")
        ]

    def __str__(self) -> str:
        return self.name


class TicketSequence(models.Model):
    """Per organisation and year counter for readable ticket numbers (SQLite; PostgreSQL
    uses a real sequence per organisation and year, see tickets.numbering)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("ticket number sequence")
        verbose_name_plural = _("ticket number sequences")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "year"], name="sequence_per_year")
        ]


class Ticket(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("number"), max_length=32)
    ticket_type = models.ForeignKey(
        TicketType, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("type"),
    )
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("category"),
    )
    title = models.CharField(_("title"), max_length=300)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW
    )
    impact = models.CharField(
        _("impact"), max_length=10, choices=Level.choices, default=Level.MEDIUM
    )
    urgency = models.CharField(
        _("urgency"), max_length=10, choices=Level.choices, default=Level.MEDIUM
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.FI
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("team"),
    )
    assignee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("assignee"),
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets",
        verbose_name=_("customer"),
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children",
        verbose_name=_("parent ticket"),
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged",
        verbose_name=_("merged into"),
    )
    # Location: WGS84 (lat/lon) and ETRS-TM35FIN (EPSG:3067, northing/easting).
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    etrs_n = models.FloatField(_("northing (EPSG:3067)"), null=True, blank=True)
    etrs_e = models.FloatField(_("easting (EPSG:3067)"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets", verbose_name=_("tags"))
    first_contact_resolution = models.BooleanField(_("resolved at first contact"), default=False)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    # the nearest SLA deadline and the worst SLA state, kept by kapula.sla for the queues
    sla_due_at = models.DateTimeField(_("SLA due"), null=True, blank=True)
    sla_state = models.CharField(_("SLA state"), max_length=10, blank=True, default="")

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "number"], name="ticket_number_unique")
        ]
        indexes: ClassVar = [
            # queue views: keyset pagination on (updated_at, id) within a team / assignee
            models.Index(fields=["team", "status", "-updated_at", "-id"], name="ticket_team_q"),
            models.Index(fields=["assignee", "status", "-updated_at", "-id"],
                         name="ticket_assignee_q"),
            models.Index(fields=["organisation", "-updated_at", "-id"], name="ticket_org_q"),
            models.Index(fields=["customer", "-created_at"], name="ticket_customer"),
            # one team's queue newest first, however busy the other teams are
            models.Index(fields=["team", "-updated_at", "-id"], name="ticket_team_recent"),
            # queue counts and the mine/unassigned views: only the (few) active tickets
            models.Index(fields=["organisation", "team", "assignee"], name="ticket_active",
                         condition=models.Q(status__in=ACTIVE_STATUSES)),
            models.Index(fields=["team", "sla_due_at"], name="ticket_sla_due",
                         condition=models.Q(sla_due_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class CustomFieldValue(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="field_values")
    field = models.ForeignKey(CustomField, on_delete=models.CASCADE, related_name="values")
    value_text = models.TextField(null=True, blank=True)
    value_integer = models.BigIntegerField(null=True, blank=True)
    value_decimal = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    value_boolean = models.BooleanField(null=True, blank=True)
    value_date = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("custom field value")
        verbose_name_plural = _("custom field values")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["ticket", "field"], name="one_value_per_field")
        ]

    @property
    def value(self) -> object:
        return getattr(self, f"value_{self.field.kind if self.field.kind != 'choice' else 'text'}")


class MessageKind(models.TextChoices):
    INBOUND = "inbound", _("From the customer")
    REPLY = "reply", _("Reply to the customer")
    NOTE = "note", _("Internal note")
    EVENT = "event", _("System event")


class AuthorKind(models.TextChoices):
    AGENT = "agent", _("Agent")
    CUSTOMER = "customer", _("Customer")
    SYSTEM = "system", _("System")
    PARTNER = "partner", _("Partner")


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=MessageKind.choices)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    author_kind = models.CharField(max_length=10, choices=AuthorKind.choices)
    author_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=200, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    language = models.CharField(max_length=2, choices=Language.choices, blank=True)
    external_id = models.CharField(
        max_length=255, blank=True, db_index=True,
        help_text="Channel's own id for threading, e.g. an email Message-ID.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        indexes: ClassVar = [models.Index(fields=["ticket", "created_at", "id"], name="msg_order")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_public(self) -> bool:
        return self.kind in (MessageKind.INBOUND, MessageKind.REPLY)


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=300)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class LinkKind(models.TextChoices):
    RELATED = "related", _("Related")
    DUPLICATE = "duplicate", _("Duplicate of")


class TicketLink(models.Model):
    source = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_out")
    target = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(max_length=10, choices=LinkKind.choices, default=LinkKind.RELATED)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("ticket link")
        verbose_name_plural = _("ticket links")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["source", "target", "kind"], name="link_unique")
        ]


class ExternalReference(models.Model):
    """The same matter in another system: a maintenance system, a partner desk..."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="external_refs")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    system = models.CharField(_("system"), max_length=64)
    external_id = models.CharField(_("external id"), max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("external reference")
        verbose_name_plural = _("external references")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "system", "external_id"], name="external_ref_unique"
            )
        ]


class HistoryEntry(models.Model):
    """Append-only record of every change to a ticket."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="history")
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_label = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)
    field = models.CharField(max_length=64)
    old = models.TextField(blank=True)
    new = models.TextField(blank=True)

    class Meta:
        verbose_name = _("history entry")
        verbose_name_plural = _("history")
        ordering = ["at", "id"]
        indexes: ClassVar = [models.Index(fields=["ticket", "at"], name="history_ticket")]

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("history is append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("history is append-only")


def _fast_display(attname: str, choices: Any) -> Any:
    def display(self: models.Model) -> str:
        return choice_label(choices, getattr(self, attname))

    display.__name__ = f"get_{attname}_display"
    return display


# Django's generated get_FOO_display() rebuilds a dict of every (lazy, translated) choice on
# each call: ~30 gettext calls per row of a 50-row queue page (docs/performance.md).
for _model, _fields in (
    (Ticket, {"status": Status, "priority": Priority, "channel": Channel,
              "language": Language, "impact": Level, "urgency": Level}),
    (Message, {"kind": MessageKind, "author_kind": AuthorKind, "channel": Channel,
               "language": Language}),
):
    for _name, _choices in _fields.items():
        setattr(_model, f"get_{_name}_display", _fast_display(_name, _choices))
