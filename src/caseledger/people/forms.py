from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from caseledger.cases.models import CaseType, Court
from caseledger.core.forms import UswdsForm


class PersonForm(UswdsForm):
    given_names = forms.CharField(label=_("Given names"), max_length=200, required=False)
    family_names = forms.CharField(label=_("Family names"), max_length=200, required=False)
    full_name = forms.CharField(
        label=_("Full name as written (any script)"), max_length=400, required=False
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    a_number = forms.CharField(
        label=_("A-number"),
        max_length=16,
        required=False,
        help_text=_("A followed by 8 or 9 digits"),
    )
    citizenship = forms.CharField(
        label=_("Citizenship (country codes, comma-separated)"), max_length=40, required=False
    )
    languages = forms.CharField(
        label=_("Languages (codes, preferred first)"), max_length=60, required=False
    )
    interpreter_needed = forms.BooleanField(label=_("Needs an interpreter"), required=False)


class AddressForm(UswdsForm):
    line1 = forms.CharField(label=_("Street address"), max_length=200)
    line2 = forms.CharField(label=_("Apartment, unit (optional)"), max_length=200, required=False)
    city = forms.CharField(label=_("City"), max_length=120)
    region = forms.CharField(label=_("State"), max_length=64, required=False)
    postal_code = forms.CharField(label=_("ZIP code"), max_length=16, required=False)
    country = forms.CharField(label=_("Country code"), max_length=2, initial="US")
    valid_from = forms.DateField(
        label=_("Lives here from"), widget=forms.DateInput(attrs={"type": "date"})
    )


class OpenCaseForm(UswdsForm):
    case_type = forms.ChoiceField(label=_("Case type"), choices=CaseType.choices)
    court = forms.ModelChoiceField(
        label=_("Court"), queryset=Court.objects.all(), to_field_name="code"
    )
    opened_on = forms.DateField(
        label=_("Opened on"), widget=forms.DateInput(attrs={"type": "date"})
    )


class BreakGlassForm(UswdsForm):
    reason = forms.CharField(
        label=_("Why do you need access to this person's record now?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        min_length=20,
        max_length=1000,
        help_text=_("At least 20 characters. The privacy officer reviews every emergency access."),
    )


def split_codes(value: str) -> list[str]:
    return [c.strip() for c in (value or "").replace(";", ",").split(",") if c.strip()]


class ReportAddressForm(AddressForm):
    """The participant's own report of a move (labels in plain language, translated)."""

    valid_from = forms.DateField(
        label=_("The date you moved, or will move, to this address"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
