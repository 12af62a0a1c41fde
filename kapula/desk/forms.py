"""Forms of the agent workspace. They only parse and validate input; the actions decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.forms.renderers import BaseRenderer
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from kapula.core.models import Language
from kapula.tickets.models import (
    STAFF_ENTERED_CHANNELS,
    Channel,
    CustomField,
    FieldKind,
    Level,
    Priority,
    Status,
)
from kapula.tickets.queries import SLA_SORT, SORTS

MAX_FILES = 10


class FastSelectMixin:
    """A <select> written out in Python. Django renders every <option> through a template,
    which made the ticket page's properties form its slowest part; the HTML is the same."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None,
               renderer: BaseRenderer | None = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]  # type: ignore[attr-defined]
        parts: list[str] = [
            format_html('<select name="{}"{}>', widget["name"], flatatt(widget["attrs"]))]
        for group, options, _index in widget["optgroups"]:
            if group:
                parts.append(format_html('<optgroup label="{}">', group))
            parts.extend(format_html('<option value="{}"{}>{}</option>', option["value"],
                                     flatatt(option["attrs"]), option["label"])
                         for option in options)
            if group:
                parts.append("</optgroup>")
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above


class FastSelect(FastSelectMixin, forms.Select):
    pass


class FastSelectMultiple(FastSelectMixin, forms.SelectMultiple):
    pass


class FastSelectsForm(forms.Form):
    """A form whose plain selects are :class:`FastSelect` widgets."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            kind = type(field.widget)
            if kind in (forms.Select, forms.SelectMultiple):
                fast = FastSelect if kind is forms.Select else FastSelectMultiple
                old = field.widget
                field.widget = fast(attrs=old.attrs, choices=old.choices)
                field.widget.is_required = old.is_required


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Zero or more uploaded files (type and size are checked by the action)."""

    widget = MultipleFileInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if not data:
            return []
        files = list(data) if isinstance(data, (list, tuple)) else [data]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(
                _("At most %(n)s files at a time.") % {"n": MAX_FILES}, code="too_many_files")
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Username"), max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )


def _level_choices() -> list[tuple[str, Any]]:
    return list(Level.choices)


class ReplyForm(forms.Form):
    KIND_CHOICES = [("reply", _("Reply to the customer")), ("note", _("Internal note"))]

    kind = forms.ChoiceField(label=_("Message type"), choices=KIND_CHOICES,
                             widget=forms.RadioSelect, initial="reply")
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 6}),
                           required=False)
    attachments = MultipleFileField(label=_("Attachments"))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class PropertiesForm(FastSelectsForm):
    """The ticket's own fields. Choices come from the view (what the user may pick)."""

    status = forms.ChoiceField(label=_("Status"))
    impact = forms.ChoiceField(label=_("Impact"), choices=_level_choices)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=_level_choices)
    team = forms.TypedChoiceField(label=_("Team"), coerce=int)
    assignee = forms.TypedChoiceField(label=_("Assignee"), coerce=int, required=False,
                                      empty_value=None)
    ticket_type = forms.TypedChoiceField(label=_("Type"), coerce=int, required=False,
                                         empty_value=None)
    category = forms.TypedChoiceField(label=_("Category"), coerce=int, required=False,
                                      empty_value=None)
    tags = forms.CharField(label=_("Tags"), required=False, max_length=2000,
                           help_text=_("Separate tags with commas."))
    address = forms.CharField(label=_("Address"), required=False, max_length=300)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, status_choices: list[tuple[str, Any]],
                 team_choices: list[tuple[int, str]], assignee_choices: list[tuple[int, str]],
                 type_choices: list[tuple[int, str]], category_choices: list[tuple[int, str]],
                 custom_fields: list[CustomField], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        none = [("", _("— none —"))]
        self.fields["status"].choices = status_choices  # type: ignore[attr-defined]
        self.fields["team"].choices = team_choices  # type: ignore[attr-defined]
        self.fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("", _("— unassigned —")), *assignee_choices]
        self.fields["ticket_type"].choices = [  # type: ignore[attr-defined]
            *none, *type_choices]
        self.fields["category"].choices = [  # type: ignore[attr-defined]
            *none, *category_choices]
        self.custom_keys: list[str] = []
        for cf in custom_fields:
            name = f"cf_{cf.key}"
            self.fields[name] = custom_field(cf)
            self.custom_keys.append(cf.key)

    def custom_values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in self.custom_keys:
            value = self.cleaned_data.get(f"cf_{key}")
            out[key] = "" if value is None else value
        return out

    def tag_names(self) -> list[str]:
        raw = self.cleaned_data.get("tags") or ""
        return [t.strip() for t in raw.split(",") if t.strip()]


def custom_field(cf: CustomField) -> forms.Field:
    """A typed input for one custom field (the action validates again)."""
    label = cf.name
    if cf.kind == FieldKind.INTEGER:
        return forms.IntegerField(label=label, required=False)
    if cf.kind == FieldKind.DECIMAL:
        return forms.DecimalField(label=label, required=False, max_digits=18, decimal_places=6)
    if cf.kind == FieldKind.BOOLEAN:
        return forms.TypedChoiceField(
            label=label, required=False, empty_value="",
            choices=[("", _("— not set —")), ("true", _("Yes")), ("false", _("No"))])
    if cf.kind == FieldKind.DATE:
        return forms.DateField(label=label, required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))
    if cf.kind == FieldKind.CHOICE:
        return forms.ChoiceField(label=label, required=False,
                                 choices=[("", _("— not set —"))]
                                 + [(str(c), str(c)) for c in cf.choices])
    return forms.CharField(label=label, required=False, max_length=5000)


class LinkForm(forms.Form):
    KIND_CHOICES = [("related", _("Related ticket")), ("parent", _("Parent ticket")),
                    ("child", _("Child ticket"))]

    kind = forms.ChoiceField(label=_("Link type"), choices=KIND_CHOICES)
    number = forms.CharField(label=_("Ticket number"), max_length=40)


class MergeForm(forms.Form):
    number = forms.CharField(label=_("Merge into ticket number"), max_length=40)
    confirm = forms.BooleanField(
        label=_("I understand that this ticket will be closed and its conversation moved."))


class NewTicketForm(FastSelectsForm):
    channel = forms.ChoiceField(
        label=_("Contact channel"), widget=forms.RadioSelect,
        choices=[(c.value, c.label) for c in STAFF_ENTERED_CHANNELS],
        initial=Channel.WALK_IN.value)
    customer_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    customer_name = forms.CharField(label=_("Customer name"), required=False, max_length=200)
    customer_email = forms.EmailField(label=_("Email"), required=False)
    customer_phone = forms.CharField(label=_("Phone"), required=False, max_length=40)
    title = forms.CharField(label=_("Subject"), required=False, max_length=300)
    body = forms.CharField(label=_("What the customer needs"),
                           widget=forms.Textarea(attrs={"rows": 6}))
    language = forms.ChoiceField(
        label=_("Language of the matter"), required=False,
        choices=[("", _("Detect automatically")), *Language.choices])
    ticket_type = forms.TypedChoiceField(label=_("Type"), coerce=int, required=False,
                                         empty_value=None)
    category = forms.TypedChoiceField(label=_("Category"), coerce=int, required=False,
                                      empty_value=None)
    team = forms.TypedChoiceField(label=_("Team"), coerce=int, required=False,
                                  empty_value=None)
    impact = forms.ChoiceField(label=_("Impact"), choices=_level_choices,
                               initial=Level.MEDIUM.value)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=_level_choices,
                                initial=Level.MEDIUM.value)
    address = forms.CharField(label=_("Address or place"), required=False, max_length=300)
    attachments = MultipleFileField(label=_("Attachments"))
    assign_to_me = forms.BooleanField(label=_("Assign to me"), required=False, initial=True)
    resolved = forms.BooleanField(
        label=_("Resolved at first contact"), required=False,
        help_text=_("The matter was settled during this contact; the ticket is recorded "
                    "as resolved."))

    def __init__(self, *args: Any, type_choices: list[tuple[int, str]],
                 category_choices: list[tuple[int, str]], team_choices: list[tuple[int, str]],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        none = [("", _("— none —"))]
        self.fields["ticket_type"].choices = [  # type: ignore[attr-defined]
            ("", _("Default")), *type_choices]
        self.fields["category"].choices = [*none, *category_choices]  # type: ignore[attr-defined]
        self.fields["team"].choices = [  # type: ignore[attr-defined]
            ("", _("Default routing")), *team_choices]


class ServiceTicketForm(FastSelectsForm):
    """The desk's own part of a contact recorded on a catalogue service's form: how the
    customer got in touch, who they are and the language of the matter. The service's
    fields are rendered and validated as on the public form (catalogue.actions.submit)."""

    channel = forms.ChoiceField(
        label=_("Contact channel"), widget=forms.RadioSelect,
        choices=[(c.value, c.label) for c in STAFF_ENTERED_CHANNELS],
        initial=Channel.WALK_IN.value)
    customer_name = forms.CharField(label=_("Customer name"), required=False, max_length=200)
    customer_email = forms.EmailField(label=_("Email"), required=False)
    customer_phone = forms.CharField(label=_("Phone"), required=False, max_length=40)
    language = forms.ChoiceField(
        label=_("Customer's language"), choices=Language.choices,
        help_text=_("The ticket and the answers to the customer are in this language."))
    assign_to_me = forms.BooleanField(label=_("Assign to me"), required=False, initial=True)
    resolved = forms.BooleanField(
        label=_("Resolved at first contact"), required=False,
        help_text=_("The matter was settled during this contact; the ticket is recorded "
                    "as resolved."))


class QueueFilterForm(FastSelectsForm):
    """GET filters of the queue page. Invalid values are ignored, never an error page."""

    status = forms.MultipleChoiceField(label=_("Status"), required=False,
                                       choices=Status.choices)
    priority = forms.TypedMultipleChoiceField(label=_("Priority"), required=False, coerce=int,
                                              choices=Priority.choices)
    type = forms.TypedMultipleChoiceField(label=_("Type"), required=False, coerce=int)
    channel = forms.MultipleChoiceField(label=_("Channel"), required=False,
                                        choices=Channel.choices)
    language = forms.MultipleChoiceField(label=_("Language"), required=False,
                                         choices=Language.choices)
    category = forms.TypedMultipleChoiceField(label=_("Category"), required=False, coerce=int)
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    created_from = forms.DateField(label=_("Created from"), required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(label=_("Created until"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=[
        ("-updated", _("Recently updated first")), ("updated", _("Least recently updated")),
        ("-created", _("Newest first")), ("created", _("Oldest first")),
        ("priority", _("Most urgent first")), ("-priority", _("Least urgent first")),
        (SLA_SORT, _("Nearest SLA deadline first")),
    ])

    def __init__(self, *args: Any, type_choices: list[tuple[int, str]],
                 category_choices: list[tuple[int, str]],
                 assignee_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = type_choices  # type: ignore[attr-defined]
        self.fields["category"].choices = category_choices  # type: ignore[attr-defined]
        self.fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("", _("Anyone")), ("none", _("Unassigned")), *assignee_choices]

    def clean_sort(self) -> str:
        value = self.cleaned_data.get("sort") or "-updated"
        return value if value in SORTS or value == SLA_SORT else "-updated"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start: dt.date | None = data.get("created_from")
        end: dt.date | None = data.get("created_to")
        if start and end and end < start:
            self.add_error("created_to", _("The end date is before the start date."))
        return data


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=200, required=False)
    widen = forms.BooleanField(required=False, widget=forms.HiddenInput)


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100,
                           help_text=_("For example the system that will use the token."))
