"""Forms of the knowledge base in the agents' workspace. They parse and validate input; the
actions in kapula/kb/actions.py decide (and sanitise the HTML)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kapula.core.models import Language
from kapula.kb.actions import MAX_BODY, MAX_TITLE
from kapula.kb.models import Audience

STATUS_CHOICES = [("", _("Any")), ("published", _("Published")), ("draft", _("Draft"))]


def _editor_attrs() -> dict[str, Any]:
    """The textarea the rich-text editor (kb/editor.js) enhances; the labels of its toolbar
    come from here so that they are translated with the rest of the page."""
    return {
        "rows": 14, "data-rich-editor": "",
        "data-label-toolbar": _("Text formatting"), "data-label-bold": _("Bold"),
        "data-label-italic": _("Italic"), "data-label-heading": _("Heading"),
        "data-label-bullets": _("Bulleted list"), "data-label-numbers": _("Numbered list"),
        "data-label-link": _("Link"), "data-label-link-prompt": _("Address of the link"),
        "data-label-area": _("Text of the article"),
    }


class ListFilterForm(forms.Form):
    q = forms.CharField(label=_("Search articles"), required=False, max_length=200)
    category = forms.TypedChoiceField(label=_("Category"), required=False, coerce=int,
                                      empty_value=None)
    audience = forms.ChoiceField(label=_("Audience"), required=False,
                                 choices=[("", _("Any")), *Audience.choices])
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)
    due = forms.BooleanField(label=_("Due for review"), required=False)
    archived = forms.BooleanField(label=_("Show archived articles"), required=False)

    def __init__(self, *args: Any, category_choices: list[tuple[int, str]] = (),  # type: ignore[assignment]
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("Any")), *category_choices]  # type: ignore[attr-defined]


class SettingsFields(forms.Form):
    """The article's own settings (shared by the new-article form and the settings form)."""

    category = forms.TypedChoiceField(label=_("Category"), required=False, coerce=int,
                                      empty_value=None)
    audience = forms.ChoiceField(label=_("Audience"), choices=Audience.choices,
                                 initial=Audience.INTERNAL, widget=forms.RadioSelect)
    units = forms.TypedMultipleChoiceField(
        label=_("Units"), required=False, coerce=int,
        help_text=_("For the audience 'chosen units': staff of these units and their "
                    "sub-units see the article."))
    review_due = forms.DateField(label=_("Review by"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, category_choices: list[tuple[int, str]] = (),  # type: ignore[assignment]
                 unit_choices: list[tuple[int, str]] = (),  # type: ignore[assignment]
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "—"), *category_choices]  # type: ignore[attr-defined]
        self.fields["units"].choices = unit_choices  # type: ignore[attr-defined]


class ArticleForm(SettingsFields):
    """A new article: its first language version and its settings."""

    field_order = ["title", "body", "language", "category", "audience", "units",
                   "review_due", "publish", "note"]

    title = forms.CharField(label=_("Title"), max_length=MAX_TITLE)
    body = forms.CharField(label=_("Text"), max_length=MAX_BODY,
                           widget=forms.Textarea(attrs=_editor_attrs()))
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    publish = forms.BooleanField(label=_("Publish now"), required=False,
                                 help_text=_("Unpublished articles are drafts: only staff "
                                             "see them here, and they are not suggested."))
    note = forms.CharField(label=_("Change note"), required=False, max_length=300)


class TranslationForm(forms.Form):
    """One language version: a new translation or a new version of an existing one."""

    title = forms.CharField(label=_("Title"), max_length=MAX_TITLE)
    body = forms.CharField(label=_("Text"), max_length=MAX_BODY,
                           widget=forms.Textarea(attrs=_editor_attrs()))
    publish = forms.BooleanField(label=_("Published"), required=False,
                                 help_text=_("Untick to keep this language version as a "
                                             "draft."))
    note = forms.CharField(label=_("Change note"), required=False, max_length=300)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)


class ArticleSettingsForm(SettingsFields):
    is_archived = forms.BooleanField(label=_("Archived"), required=False,
                                     help_text=_("Archived articles are not suggested or "
                                                 "shown to customers."))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ReviewedForm(forms.Form):
    next_review = forms.DateField(label=_("Next review on"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"))


class SuggestSearchForm(forms.Form):
    q = forms.CharField(label=_("Search other articles"), required=False, max_length=200)
