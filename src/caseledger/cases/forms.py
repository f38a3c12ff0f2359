"""The case and hearing pages' forms: each is checked by its write's input model
(cases/inputs.py), as the API's request bodies and the importer's rows are."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from caseledger.core.inputs import InputForm

from .inputs import HearingVersionIn, MoveHearingIn, ScheduleHearingIn, TransitionIn
from .models import CalendarType, CaseStatus

_LOCAL = {"type": "datetime-local"}


def local_input(value: str) -> str:
    """The browser's datetime-local value ('2027-03-10T09:00') as a local time."""
    return value.strip().replace("T", " ")


class TransitionForm(InputForm):
    input_model = TransitionIn
    to_status = forms.ChoiceField(label=gettext_lazy("New status"), choices=CaseStatus.choices)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500, required=False)
    row_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class HearingForm(InputForm):
    input_model = ScheduleHearingIn
    calendar = forms.ChoiceField(label=gettext_lazy("Calendar"), choices=CalendarType.choices)
    scheduled_at = forms.CharField(
        label=gettext_lazy("Date and time, in the court's time zone"),
        help_text=gettext_lazy("For example 2027-03-10 09:00"),
        max_length=40,
        widget=forms.DateTimeInput(attrs=_LOCAL),
    )
    judge = forms.CharField(label=gettext_lazy("Judge (optional)"), max_length=120, required=False)

    def input_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return {**super().input_data(cleaned), "scheduled_at": local_input(cleaned["scheduled_at"])}


class MoveHearingForm(InputForm):
    input_model = MoveHearingIn
    scheduled_at = forms.CharField(
        label=gettext_lazy("New date and time, in the court's time zone"),
        help_text=gettext_lazy("For example 2027-03-10 09:00"),
        max_length=40,
        widget=forms.DateTimeInput(attrs=_LOCAL),
    )
    row_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def input_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return {**super().input_data(cleaned), "scheduled_at": local_input(cleaned["scheduled_at"])}


class ConfirmHearingForm(InputForm):
    input_model = HearingVersionIn
    row_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
