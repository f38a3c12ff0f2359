"""Forms of the supervision pages: parsing only; the services decide what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from caseledger.biometrics import liveness
from caseledger.core.forms import UswdsForm

from . import consent, services
from .models import ChangeKind, DepartureKind, Disposition, EvidenceKind, Level

NOTICE_LANGUAGE_NAMES = {"en": "English", "es": "Español"}
ALTERNATIVE_LABELS = {
    "office_visit": _("Check in by visiting the office"),
    "phone_call": _("Check in by a phone call with the officer"),
}
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class _ChoicesMixin:
    """Radio buttons and checkbox groups carry USWDS classes on each input."""

    def _style_choices(self) -> None:
        for field in self.fields.values():  # type: ignore[attr-defined]
            if isinstance(field.widget, forms.RadioSelect):
                field.widget.attrs["class"] = "usa-radio__input"
            elif isinstance(field.widget, forms.CheckboxSelectMultiple):
                field.widget.attrs["class"] = "usa-checkbox__input"


def read_upload(upload: Any) -> bytes | None:
    """The bytes of an uploaded file, at most one byte past the limit (the service refuses
    anything larger with a clear message)."""
    if not upload:
        return None
    return upload.read(settings.FACE_MAX_UPLOAD_BYTES + 1)


def read_frames(uploads: Any) -> list[bytes]:
    """The frames of a liveness burst: at most one more file than a burst may have, each read
    to at most one byte past a frame's limit (the service refuses too many or too large
    frames with a clear message, recorded)."""
    return [
        upload.read(liveness.MAX_FRAME_BYTES + 1)
        for upload in list(uploads)[: liveness.MAX_FRAMES + 1]
    ]


# --- participant ------------------------------------------------------------------------------
class BurstForm(UswdsForm):
    """The check-in with the liveness burst: checkin.js records the frames (the files named
    `frames`, read by `read_frames`), and fills in the challenge and the location when the
    participant presses Start, never before."""

    challenge_id = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    latitude = forms.CharField(required=False, max_length=32, widget=forms.HiddenInput)
    longitude = forms.CharField(required=False, max_length=32, widget=forms.HiddenInput)
    accuracy = forms.CharField(required=False, max_length=32, widget=forms.HiddenInput)
    submission_id = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)


class CheckInForm(UswdsForm):
    image = forms.FileField(
        label=_("Photo of your face"),
        help_text=_("If the camera above does not work, take or choose a photo here."),
        error_messages={"required": _("Take a photo of your face first.")},
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "user"}),
    )
    # Filled in by checkin.js when the participant presses Send, never before.
    latitude = forms.CharField(required=False, max_length=32, widget=forms.HiddenInput)
    longitude = forms.CharField(required=False, max_length=32, widget=forms.HiddenInput)
    accuracy = forms.CharField(required=False, max_length=32, widget=forms.HiddenInput)
    submission_id = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)


# --- reviews ----------------------------------------------------------------------------------
class DispositionForm(_ChoicesMixin, UswdsForm):
    disposition = forms.ChoiceField(
        label=_("Decision"), choices=Disposition.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required for a suspected impersonation (at least 20 characters)."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_choices()


# --- enrolment --------------------------------------------------------------------------------
class EnrolForm(_ChoicesMixin, UswdsForm):
    level = forms.ChoiceField(
        label=_("Supervision level"), choices=Level.choices, initial=Level.STANDARD
    )
    conditions = forms.MultipleChoiceField(
        label=_("Conditions"),
        required=False,
        choices=list(services.CONDITIONS.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    language = forms.ChoiceField(
        label=_("Language of the notice"),
        choices=[
            (code, NOTICE_LANGUAGE_NAMES.get(code, code)) for code in consent.NOTICE_LANGUAGES
        ],
    )
    acknowledged = forms.BooleanField(
        label=_("The person has read this notice (or had it read to them) and acknowledges it."),
        required=False,
    )
    alternatives_offered = forms.MultipleChoiceField(
        label=_("Alternatives to face check-in offered to the person"),
        required=False,
        choices=[(code, ALTERNATIVE_LABELS.get(code, code)) for code in consent.ALTERNATIVES],
        widget=forms.CheckboxSelectMultiple,
    )
    first_window_at = forms.DateTimeField(
        label=_("First check-in opens"),
        input_formats=[DATETIME_LOCAL],
        widget=forms.DateTimeInput(format=DATETIME_LOCAL, attrs={"type": "datetime-local"}),
    )
    every_days = forms.IntegerField(
        label=_("Check in every (days)"), min_value=1, max_value=31, initial=7
    )
    window_hours = forms.IntegerField(
        label=_("Each check-in stays open (hours)"), min_value=1, max_value=72, initial=24
    )
    grace_minutes = forms.IntegerField(
        label=_("Accepted late for (minutes)"), min_value=0, max_value=720, initial=60
    )
    max_attempts = forms.IntegerField(
        label=_("Tries per check-in"), min_value=1, max_value=10, initial=3
    )
    photo = forms.FileField(
        label=_("Reference photo"),
        help_text=_("One face, looking at the camera, in even light. Stored encrypted."),
        error_messages={"required": _("Take or upload the reference photo.")},
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_choices()

    def enrolment_input(self) -> services.EnrolmentInput:
        c = self.cleaned_data
        return services.EnrolmentInput(
            level=c["level"],
            photo=read_upload(c["photo"]) or b"",
            language=c["language"],
            acknowledged=c["acknowledged"],
            alternatives_offered=list(c["alternatives_offered"]),
            conditions=list(c["conditions"]),
            first_window_at=c["first_window_at"],
            every_days=c["every_days"],
            window_hours=c["window_hours"],
            grace_minutes=c["grace_minutes"],
            max_attempts=c["max_attempts"],
        )


# --- enrolment page: changes and departure -----------------------------------------------------
class ProposeChangeForm(_ChoicesMixin, UswdsForm):
    kind = forms.ChoiceField(
        label=_("Change"), choices=ChangeKind.choices, widget=forms.RadioSelect
    )
    proposed_level = forms.ChoiceField(
        label=_("New level (for a level change)"),
        required=False,
        choices=[("", "—"), *Level.choices],
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("At least 10 characters. A supervisor other than you decides."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "change")
        super().__init__(*args, **kwargs)
        self._style_choices()


class DecideChangeForm(UswdsForm):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("decline", _("Decline"))])
    reason = forms.CharField(
        label=_("Reason (required to decline)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class DepartureForm(_ChoicesMixin, UswdsForm):
    kind = forms.ChoiceField(
        label=_("Departure"), choices=DepartureKind.choices, widget=forms.RadioSelect
    )
    evidence_kind = forms.ChoiceField(
        label=_("Evidence"), choices=EvidenceKind.choices, widget=forms.RadioSelect
    )
    evidence_reference = forms.CharField(
        label=_("Reference (consular note number, flight, ...)"), required=False, max_length=120
    )
    evidence_file = forms.FileField(
        label=_("Boarding document"),
        required=False,
        help_text=_("A scan or photo, 8 MB at most. Stored encrypted."),
    )
    checkin = forms.ChoiceField(
        label=_("Face-verified check-in from abroad"), required=False, choices=[("", "—")]
    )
    departed_on = forms.DateField(
        label=_("Departed on"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, checkins: Any = (), **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "departure")
        super().__init__(*args, **kwargs)
        self.fields["checkin"].choices = [
            ("", "—"),
            *[
                (
                    str(c.pk),
                    f"{timezone.localtime(c.submitted_at):%Y-%m-%d %H:%M} "
                    f"({c.latitude}, {c.longitude})",
                )
                for c in checkins
            ],
        ]
        self._style_choices()
