"""Forms of the escalation panel on the desk's ticket page. They parse; actions decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kapula.desk.forms import FastSelect
from kapula.suppliers.actions import MAX_REASON, MAX_REFERENCE
from kapula.suppliers.models import EngagementState


class EscalateForm(forms.Form):
    """One target: ``team:<id>`` or ``supplier:<id>``, grouped in the select."""

    target = forms.ChoiceField(label=_("Escalate to"), widget=FastSelect)
    reason = forms.CharField(label=_("Reason"), max_length=MAX_REASON,
                             help_text=_("Recorded in the history and shown to the receiving "
                                         "team."))
    note = forms.CharField(label=_("Note for the receiving team or supplier"), required=False,
                           widget=forms.Textarea(attrs={"rows": 4}),
                           help_text=_("What has been done and what is needed. A supplier is "
                                       "sent this note; the customer sees none of it."))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, teams: list[tuple[Any, str]] = (),  # type: ignore[assignment]
                 suppliers: list[tuple[Any, str]] = (),  # type: ignore[assignment]
                 **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "esc")
        super().__init__(*args, **kwargs)
        choices: list[Any] = [("", _("Choose…"))]
        if teams:
            choices.append((_("Teams"), [(f"team:{pk}", name) for pk, name in teams]))
        if suppliers:
            choices.append((_("Suppliers"), [(f"supplier:{pk}", name)
                                             for pk, name in suppliers]))
        self.fields["target"].choices = choices  # type: ignore[attr-defined]

    def target_parts(self) -> tuple[str, int]:
        kind, _sep, pk = self.cleaned_data["target"].partition(":")
        return kind, int(pk)


class ReturnForm(forms.Form):
    team = forms.TypedChoiceField(label=_("Return to"), coerce=int, widget=FastSelect)
    reason = forms.CharField(label=_("Reason"), max_length=MAX_REASON)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, teams: list[tuple[Any, str]] = (),  # type: ignore[assignment]
                 **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "ret")
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = list(teams)  # type: ignore[attr-defined]


class EngagementForm(forms.Form):
    reference = forms.CharField(label=_("Supplier's reference"), required=False,
                                max_length=MAX_REFERENCE)
    state = forms.ChoiceField(label=_("State"), widget=FastSelect)

    def __init__(self, *args: Any, states: list[str] = (),  # type: ignore[assignment]
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [  # type: ignore[attr-defined]
            (s, EngagementState(s).label) for s in states]


class SupplierMessageForm(forms.Form):
    body = forms.CharField(label=_("Message to the supplier"),
                           widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("Sent to the supplier in the same thread and kept as "
                                       "an internal note."))
