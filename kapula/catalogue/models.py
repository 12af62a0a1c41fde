"""Services (request types) customers can ask for, the fields of their guided forms, and
what a customer filled in."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kapula.core.models import Organisation, Team, TranslatedName, Unit, in_language
from kapula.tickets.models import Category, Level, Ticket, TicketType


class Visibility(models.TextChoices):
    PUBLIC = "public", _("Public (anyone)")
    INTRANET = "intranet", _("Intranet only (logged-in users)")
    BOTH = "both", _("Both")


class Service(TranslatedName):
    """Something a customer can ask for: report a street fault, reset a password..."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                     related_name="services")
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="services", verbose_name=_("unit"),
                             help_text=_("The unit whose admins maintain this service."))
    code = models.SlugField(_("code"), help_text=_("Stable identifier in addresses and in the "
                                                   "Open311 API (service_code)."))
    description_fi = models.TextField(_("description (Finnish)"), blank=True)
    description_sv = models.TextField(_("description (Swedish)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    group = models.CharField(_("group"), max_length=100, blank=True)
    keywords = models.CharField(_("keywords"), max_length=300, blank=True)
    visibility = models.CharField(_("visibility"), max_length=10, choices=Visibility.choices,
                                  default=Visibility.PUBLIC)
    on_web = models.BooleanField(_("offered as a web form"), default=True)
    on_mobile = models.BooleanField(_("offered in the mobile app (Open311)"), default=False)
    on_desk = models.BooleanField(_("offered to staff recording contacts"), default=True)
    ticket_type = models.ForeignKey(TicketType, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("ticket type"))
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("category"))
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("team"))
    impact = models.CharField(_("impact"), max_length=10, choices=Level.choices,
                              default=Level.MEDIUM)
    urgency = models.CharField(_("urgency"), max_length=10, choices=Level.choices,
                               default=Level.MEDIUM)
    ask_contact = models.BooleanField(
        _("ask for contact details"), default=True,
        help_text=_("Name, email address and phone number (the email address is optional "
                    "unless the service requires a reply)."))
    require_email = models.BooleanField(_("email address required"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    ordering = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["ordering", "name_fi"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "code"], name="service_code_per_org")
        ]

    def description_in(self, language: str | None = None) -> str:
        return in_language(self, "description", language)

    @property
    def description(self) -> str:
        return self.description_in()

    @property
    def is_public(self) -> bool:
        return self.visibility in (Visibility.PUBLIC, Visibility.BOTH)


class FieldKind(models.TextChoices):
    TEXT = "text", _("Short text")
    TEXTAREA = "textarea", _("Long text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    MULTICHOICE = "multichoice", _("Multiple choice")
    LOCATION = "location", _("Location")
    ATTACHMENT = "attachment", _("Attachment (image or document)")
    DEVICE = "device", _("Device or workstation identifier")
    YESNO = "yesno", _("Yes/no")


class ServiceField(models.Model):
    """One field of a service's form."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="fields")
    code = models.SlugField(_("code"))
    kind = models.CharField(_("kind"), max_length=12, choices=FieldKind.choices)
    label_fi = models.CharField(_("label (Finnish)"), max_length=200)
    label_sv = models.CharField(_("label (Swedish)"), max_length=200, blank=True)
    label_en = models.CharField(_("label (English)"), max_length=200, blank=True)
    help_fi = models.CharField(_("help text (Finnish)"), max_length=500, blank=True)
    help_sv = models.CharField(_("help text (Swedish)"), max_length=500, blank=True)
    help_en = models.CharField(_("help text (English)"), max_length=500, blank=True)
    required = models.BooleanField(_("required"), default=False)
    choices = models.JSONField(
        _("choices"), default=list, blank=True,
        help_text=_('For choice fields: a list like [{"key": "dark", "fi": "Pimeä", '
                    '"sv": "Mörk", "en": "Dark"}].'))
    urgent_values = models.JSONField(
        _("values that mean urgent"), default=list, blank=True,
        help_text=_('Choice keys (or "yes") that raise the urgency to high, e.g. "work is '
                    'prevented".'))
    ordering = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("form field")
        verbose_name_plural = _("form fields")
        ordering = ["ordering", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["service", "code"], name="field_code_per_service")
        ]

    def __str__(self) -> str:
        return self.label

    def label_in(self, language: str | None = None) -> str:
        return in_language(self, "label", language)

    @property
    def label(self) -> str:
        return self.label_in()

    @property
    def help(self) -> str:
        return in_language(self, "help")

    def choice_pairs(self, language: str | None = None) -> list[tuple[str, str]]:
        lang = (language or get_language() or "fi")[:2]
        out = []
        for item in self.choices or []:
            if isinstance(item, dict) and item.get("key"):
                key = str(item["key"])
                out.append((key, str(item.get(lang) or item.get("fi") or key)))
            elif isinstance(item, str):
                out.append((item, item))
        return out


class FormSubmission(models.Model):
    """What the customer filled in on a service's form (kept as given, with labels)."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="submission")
    service = models.ForeignKey(Service, null=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=20)
    language = models.CharField(max_length=2)
    #: [{"code", "label", "kind", "value", "display"}] in form order
    answers = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")
        indexes: ClassVar = [
            # the Open311 request listing: newest first, for all listed services or one
            models.Index(fields=["-created_at", "-id"], name="submission_recent"),
            models.Index(fields=["service", "-created_at", "-id"],
                         name="submission_service_recent"),
        ]
