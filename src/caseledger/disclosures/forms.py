"""Forms of the disclosure pages (staff only, English)."""

from __future__ import annotations

from typing import Any

from django import forms

from caseledger.core.forms import UswdsForm

from . import rules
from .categories import choices as category_choices
from .models import Agency, Rank, RoutineUse


def _authority_choices() -> list[tuple[str, str]]:
    uses = [
        (u.code, f"{u.code}: {u.name} ({u.citation})")
        for u in RoutineUse.objects.filter(active=True).order_by("code")
    ]
    return [("b7", "(b)(7): written law-enforcement request, section chief or above"), *uses]


class RequestForm(UswdsForm):
    person = forms.CharField(
        label="Person (A-number or record id)",
        max_length=64,
        help_text="Exactly one person. A request for several persons is never accepted.",
    )
    agency = forms.ChoiceField(label="Requesting agency")
    official_name = forms.CharField(label="Requesting official's name", max_length=200)
    official_title = forms.CharField(label="Official's title", max_length=200)
    official_rank = forms.ChoiceField(label="Official's rank", choices=Rank.choices)
    authority = forms.ChoiceField(label="Authority")
    activity = forms.CharField(
        label="Activity the record is needed for",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    categories = forms.MultipleChoiceField(
        label="Data categories requested",
        widget=forms.CheckboxSelectMultiple,
        help_text="Only these categories are released. Free-text notes only if listed.",
    )
    withhold_from_subject = forms.BooleanField(
        label="The (b)(7) requester asked in writing that the person not be told", required=False
    )
    letter = forms.FileField(
        label="Signed request letter (PDF)",
        help_text=f"PDF, at most {rules.LETTER_MAX_BYTES // (1024 * 1024)} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = [
            (a.code, f"{a.name} ({a.code})") for a in Agency.objects.filter(active=True)
        ]
        self.fields["authority"].choices = _authority_choices()
        self.fields["categories"].choices = category_choices()

    def letter_bytes(self) -> tuple[bytes, str]:
        upload = self.cleaned_data.get("letter")
        if not upload:
            return b"", ""
        return upload.read(rules.LETTER_MAX_BYTES + 1), upload.content_type or ""


class DecisionForm(UswdsForm):
    decision = forms.ChoiceField(
        label="Decision",
        widget=forms.RadioSelect,
        choices=[("approve", "Approve and release"), ("decline", "Decline")],
    )
    reason = forms.CharField(
        label="Reasons", max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class CorrectionForm(UswdsForm):
    categories = forms.MultipleChoiceField(
        label="Corrected categories", widget=forms.CheckboxSelectMultiple
    )
    reason = forms.CharField(
        label="What was corrected (sent to the recipients)",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["categories"].choices = category_choices()
