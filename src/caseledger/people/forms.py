"""The person pages' forms. Those of a write are `InputForm`s: their values are checked by the
write's input model (people/inputs.py, cases/inputs.py), as the API's and the importer's are,
and its errors are shown on the fields in its words."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from caseledger.cases.inputs import OpenCaseIn
from caseledger.cases.models import CaseType, Court
from caseledger.core.forms import UswdsForm
from caseledger.core.inputs import InputForm

from .inputs import AddressIn, PersonIn

_DATE = {"type": "date"}


class PersonForm(InputForm):
    """Identity fields; checked as a `PersonIn` (new person: `extra` may hold the checked
    address) or a `PersonPatch` (edit: `extra` holds the row version read)."""

    input_model = PersonIn

    given_names = forms.CharField(label=_("Given names"), max_length=200, required=False)
    family_names = forms.CharField(label=_("Family names"), max_length=200, required=False)
    full_name = forms.CharField(
        label=_("Full name as written (any script)"), max_length=400, required=False
    )
    date_of_birth = forms.CharField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs=_DATE)
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

    def input_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": {
                "given_names": cleaned["given_names"],
                "family_names": cleaned["family_names"],
                "full_name": cleaned["full_name"],
                "kind": "primary",
            },
            "date_of_birth": cleaned["date_of_birth"] or None,
            "a_number": cleaned["a_number"] or None,
            "citizenship": split_codes(cleaned["citizenship"]),
            "languages": split_codes(cleaned["languages"]),
            "interpreter_needed": cleaned["interpreter_needed"],
        }


class AddressForm(InputForm):
    input_model = AddressIn

    line1 = forms.CharField(label=_("Street address"), max_length=200)
    line2 = forms.CharField(label=_("Apartment, unit (optional)"), max_length=200, required=False)
    city = forms.CharField(label=_("City"), max_length=120)
    region = forms.CharField(label=_("State"), max_length=64, required=False)
    postal_code = forms.CharField(label=_("ZIP code"), max_length=16, required=False)
    country = forms.CharField(label=_("Country code"), max_length=2, initial="US")
    valid_from = forms.CharField(label=_("Lives here from"), widget=forms.DateInput(attrs=_DATE))


class OpenCaseForm(InputForm):
    input_model = OpenCaseIn
    case_type = forms.ChoiceField(label=_("Case type"), choices=CaseType.choices)
    court = forms.ChoiceField(label=_("Court"), choices=())
    opened_on = forms.CharField(label=_("Opened on"), widget=forms.DateInput(attrs=_DATE))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        courts = Court.objects.order_by("name").values_list("code", "name")
        self.fields["court"].choices = [("", "---------"), *courts]


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

    valid_from = forms.CharField(
        label=_("The date you moved, or will move, to this address"),
        widget=forms.DateInput(attrs=_DATE),
    )
