from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from caseledger.core.forms import UswdsForm

from .models import AmendmentCategory
from .services import MAX_TEXT


class AmendmentForm(UswdsForm):
    category = forms.ChoiceField(
        label=_("Which part of your record is wrong?"),
        choices=[("", _("Choose one")), *AmendmentCategory.choices],
    )
    what_is_wrong = forms.CharField(
        label=_("What is wrong"),
        help_text=_("Say what the record says now and why it is not right."),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=MAX_TEXT,
    )
    correction = forms.CharField(
        label=_("What it should say"),
        help_text=_("Write the correction you are asking for."),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=MAX_TEXT,
    )


class StatementForm(UswdsForm):
    text = forms.CharField(
        label=_("Your statement"),
        help_text=_("Say why you disagree. It will be kept with your record and shown with it."),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=MAX_TEXT,
    )


class DecisionForm(UswdsForm):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("", _("Choose one")),
            ("grant", _("Grant: make the correction")),
            ("refuse", _("Refuse")),
        ],
    )
    reasons = forms.CharField(
        label=_("Reasons"),
        help_text=_("Shown to the person. For a refusal, name the rule or the evidence."),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=MAX_TEXT,
    )
