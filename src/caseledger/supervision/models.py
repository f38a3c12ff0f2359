"""Supervised release: enrolment, consent, schedule, check-ins, reviews, approvals, departures.

Images and locations carry their data class and the date they fall due for deletion from the
first row (see retention.py): failed-check images 28 days after their review is decided,
matched check-in images are never kept, the enrolment photo 30 days after unenrolment.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q

from caseledger.core.models import BaseModel


class Level(models.TextChoices):
    INTENSIVE = "intensive", "Intensive (check-in twice a week)"
    STANDARD = "standard", "Standard (weekly check-in)"
    REDUCED = "reduced", "Reduced (monthly check-in)"


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"


class Compliance(models.TextChoices):
    COMPLIANT = "compliant", "Compliant"
    NEEDS_CONTACT = "needs_contact", "Needs contact"
    NON_COMPLIANT = "non_compliant", "Not compliant"


class Enrolment(BaseModel):
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="enrolments")
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="enrolments",
        db_comment="Responsible officer",
    )
    level = models.CharField(max_length=16, choices=Level.choices)
    conditions = models.JSONField(
        default=list, blank=True, db_comment="Condition codes set at enrolment"
    )
    status = models.CharField(
        max_length=8, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE
    )
    compliance = models.CharField(
        max_length=16,
        choices=Compliance.choices,
        default=Compliance.COMPLIANT,
        db_comment="Changed only by a human review disposition",
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        db_table = "supervision_enrolment"
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(status="active"),
                name="supervision_one_active_enrolment",
            ),
        ]


class Consent(BaseModel):
    """The notice the person was given, bound by its hash, and their acknowledgement."""

    enrolment = models.OneToOneField(Enrolment, on_delete=models.CASCADE, related_name="consent")
    language = models.CharField(max_length=8)
    notice_version = models.CharField(max_length=32)
    notice_sha256 = models.CharField(max_length=64, db_comment="SHA-256 of the exact notice text")
    acknowledged_at = models.DateTimeField()
    alternatives_offered = models.JSONField(
        default=list, db_comment="Alternatives to face check-in offered"
    )

    class Meta:
        db_table = "supervision_consent"


class Schedule(BaseModel):
    """Check-in windows: every `every_days` from `first_window_at`, open `window_hours`,
    accepted `grace_minutes` after closing, at most `max_attempts` tries per window."""

    enrolment = models.OneToOneField(Enrolment, on_delete=models.CASCADE, related_name="schedule")
    first_window_at = models.DateTimeField()
    every_days = models.PositiveSmallIntegerField(default=7)
    window_hours = models.PositiveSmallIntegerField(default=24)
    grace_minutes = models.PositiveSmallIntegerField(default=60)
    max_attempts = models.PositiveSmallIntegerField(default=3)

    class Meta:
        db_table = "supervision_schedule"

    def window_index(self, moment: datetime) -> int:
        return max(0, (moment - self.first_window_at) // timedelta(days=self.every_days))

    def window(self, index: int) -> tuple[datetime, datetime, datetime]:
        """(opens, closes, accepted until) of window `index`."""
        opens = self.first_window_at + timedelta(days=self.every_days * index)
        closes = opens + timedelta(hours=self.window_hours)
        return opens, closes, closes + timedelta(minutes=self.grace_minutes)

    def current_window(self, moment: datetime) -> tuple[datetime, datetime, datetime] | None:
        if moment < self.first_window_at:
            return None
        opens, closes, until = self.window(self.window_index(moment))
        return (opens, closes, until) if opens <= moment <= until else None

    def next_window(self, moment: datetime) -> tuple[datetime, datetime, datetime]:
        if moment < self.first_window_at:
            return self.window(0)
        current = self.current_window(moment)
        return current or self.window(self.window_index(moment) + 1)


class DataClass(models.TextChoices):
    ENROLMENT_PHOTO = "enrolment_photo", "Enrolment photo"
    FACE_TEMPLATE = "face_template", "Face template"
    FAILED_CHECK_IMAGE = "failed_check_image", "Failed-check image"
    CHECKIN_LOCATION = "checkin_location", "Check-in location"
    DEPARTURE_EVIDENCE = "departure_evidence", "Departure evidence"


class ReferencePhoto(BaseModel):
    """The enrolment photo and its face template, both encrypted (keys outside the database)."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="photos")
    photo_encrypted = models.BinaryField(db_comment="AES-GCM; key from the environment")
    template_encrypted = models.BinaryField(db_comment="AES-GCM float32 embedding")
    model_id = models.CharField(max_length=64)
    quality = models.JSONField(default=dict)
    active = models.BooleanField(default=True)
    data_class = models.CharField(max_length=32, default=DataClass.ENROLMENT_PHOTO)
    delete_after = models.DateField(
        null=True, blank=True, db_comment="Unenrolment + 30 days; null while enrolled"
    )

    class Meta:
        db_table = "supervision_reference_photo"


class CheckInOutcome(models.TextChoices):
    VERIFIED = "verified", "Verified"
    REVIEW = "review", "A person will review it"
    RETAKE = "retake", "Asked to try once more"


class CaptureDevice(models.TextChoices):
    """The coarse class of the device a check-in was sent from, derived on the server from the
    request's User-Agent (supervision.devices); the User-Agent itself is never stored."""

    PHONE = "phone", "Phone"
    TABLET = "tablet", "Tablet"
    COMPUTER = "computer", "Computer"
    OTHER = "other", "Other or unknown"


class CheckInChallenge(BaseModel):
    """The head-turn prompts the server chose at random for one burst of a check-in
    (biometrics.liveness): bound to the participant's login and the window open when it was
    issued, single use (`used_at` is set by a conditional update before the burst is checked),
    refused after `expires_at`. Rows are deleted by the sweep a day after they expire; the
    check-in keeps a copy of the challenge in its liveness record."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_comment="The participant's login the challenge was issued to",
    )
    window_opens_at = models.DateTimeField(
        db_comment="The check-in window the challenge was issued for"
    )
    prompts = models.JSONField(
        default=list,
        db_comment="Prompt codes in order (turn_left, turn_right), chosen at random by the server",
    )
    issued_at = models.DateTimeField(db_comment="When the challenge was issued (UTC)")
    expires_at = models.DateTimeField(db_comment="Issued + 2 minutes: refused from then on")
    used_at = models.DateTimeField(
        null=True, blank=True, db_comment="When a burst was sent with it (single use)"
    )

    class Meta:
        db_table = "supervision_checkin_challenge"
        indexes = [models.Index(fields=["user", "issued_at"], name="supervision_challenge_user")]


class CheckInSubmission(models.Model):
    """The client nonce of every check-in stored, and the window of that check-in: the replay
    refusal across all windows. On PostgreSQL the check-ins are partitioned by window
    (supervision/partitions.py), where a unique constraint must name the window, so the
    uniqueness of a nonce across windows is this table's primary key; each check-in references
    its row by (submission_id, window_opens_at), so a check-in cannot be stored without it nor
    share it with a check-in of another window. Written in the check-in's transaction."""

    submission_id = models.UUIDField(primary_key=True, db_comment="Client nonce of a check-in")
    window_opens_at = models.DateTimeField(db_comment="The window of the check-in that used it")

    class Meta:
        db_table = "supervision_checkin_submission"
        db_table_comment = "Client nonces of the check-ins stored: a nonce is used once"
        constraints = [
            # the key the check-ins' composite foreign key references (PostgreSQL)
            models.UniqueConstraint(
                fields=["submission_id", "window_opens_at"],
                name="supervision_submission_window",
            ),
        ]

    def __str__(self) -> str:
        return f"check-in nonce {self.submission_id}"


class CheckIn(BaseModel):
    """A check-in try. On PostgreSQL the table is partitioned by month of `window_opens_at`
    (supervision migration 0007): its database keys are (id, window_opens_at) and
    (submission_id, window_opens_at), and reviews and departures reference it by the check-in
    and its window (see supervision/partitions.py)."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="checkins")
    submission_id = models.UUIDField(
        unique=True,
        db_comment="Client nonce: replays are refused (supervision_checkin_submission)",
    )
    window_opens_at = models.DateTimeField()
    attempt = models.PositiveSmallIntegerField()
    submitted_at = models.DateTimeField(db_index=True)
    outcome = models.CharField(max_length=16, choices=CheckInOutcome.choices)
    face_outcome = models.CharField(max_length=32, db_comment="match, no_match, poor_quality, ...")
    distance = models.FloatField(null=True, blank=True)
    model_id = models.CharField(max_length=64)
    threshold = models.FloatField()
    threshold_version = models.CharField(max_length=64)
    quality = models.JSONField(default=dict)
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        db_comment="Null once the location is purged (location_delete_after)",
    )
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    accuracy_m = models.FloatField()
    location_delete_after = models.DateField()
    image_encrypted = models.BinaryField(
        null=True, blank=True, db_comment="Only for checks that were not verified"
    )
    image_delete_after = models.DateField(
        null=True, blank=True, db_comment="Review decision + 28 days"
    )
    ledger_event = models.UUIDField(
        null=True, blank=True, db_comment="Event recording this check-in (for its receipt)"
    )
    liveness_outcome = models.CharField(
        max_length=16,
        blank=True,
        db_comment="live, not_live or unusable; empty for a single photo (liveness off)",
    )
    liveness_reason = models.CharField(
        max_length=32,
        blank=True,
        db_comment="ok, prompt_not_followed, planar_motion, face_changed, ...; empty for a photo",
    )
    liveness = models.JSONField(
        default=dict,
        blank=True,
        db_comment="Liveness record: challenge, limits, per-frame pose and quality, continuity, "
        "planarity fits (no image, no embedding)",
    )
    frames_encrypted = models.BinaryField(
        null=True,
        blank=True,
        db_comment="AES-GCM: the other frames of a burst not verified; deleted when its review "
        "is decided or the window is verified",
    )
    capture_device = models.CharField(
        max_length=16,
        choices=CaptureDevice.choices,
        blank=True,
        default="",
        db_comment="phone, tablet, computer or other, from the User-Agent (never stored); "
        "empty for check-ins sent before it was recorded",
    )

    class Meta:
        db_table = "supervision_checkin"
        indexes = [
            models.Index(fields=["enrolment", "window_opens_at"], name="supervision_checkin_window")
        ]
        constraints = [
            # The backstop of the per-window try limit: two check-ins racing for the same
            # attempt number cannot both be stored (the service also locks the enrolment).
            models.UniqueConstraint(
                fields=["enrolment", "window_opens_at", "attempt"],
                name="supervision_checkin_one_per_attempt",
            ),
        ]


class UploadAttempt(BaseModel):
    """One photo upload (check-in submission), accepted or refused, for the upload rate
    limits per participant and per client address. Rows older than the limits' window are
    deleted by the check-in path (the participant's own) and by the sweep (all)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_comment="The participant's login that sent the photo",
    )
    address_hash = models.CharField(
        max_length=64,
        blank=True,
        db_comment="Keyed HMAC-SHA256 of the client address (IPv6: its /64); never the address",
    )
    at = models.DateTimeField(db_comment="When the upload arrived (UTC)")

    class Meta:
        db_table = "supervision_upload_attempt"
        indexes = [
            models.Index(fields=["user", "at"], name="supervision_upload_user"),
            models.Index(fields=["address_hash", "at"], name="supervision_upload_address"),
        ]


class ReviewKind(models.TextChoices):
    FAILED_CHECK = "failed_check", "Face did not match"
    UNCERTAIN = "uncertain", "Could not be checked"
    NOT_LIVE = "not_live", "Live check not passed"
    MISSED_WINDOW = "missed_window", "Missed check-in"


class Disposition(models.TextChoices):
    VERIFIED_BY_REVIEW = "verified_by_review", "Verified by review"
    TECHNICAL_PROBLEM = "technical_problem", "Technical problem"
    NEEDS_CONTACT = "needs_contact", "Needs contact"
    SUSPECTED_IMPERSONATION = "suspected_impersonation", "Suspected impersonation"


class Review(BaseModel):
    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="reviews")
    checkin = models.ForeignKey(
        CheckIn,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reviews",
        db_constraint=False,  # PostgreSQL: (checkin_id, window_opens_at), see 0007
    )
    window_opens_at = models.DateTimeField(db_comment="The window; the check-in's, if any")
    kind = models.CharField(max_length=16, choices=ReviewKind.choices)
    opened_at = models.DateTimeField()
    due_at = models.DateTimeField(
        db_comment="Service level: past this it surfaces to the supervisor"
    )
    disposition = models.CharField(max_length=32, choices=Disposition.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        db_table = "supervision_review"
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment", "window_opens_at"], name="supervision_one_review_per_window"
            ),
        ]
        indexes = [
            # The open reviews in due order: the review queue walks it and stops at a page.
            models.Index(
                fields=["due_at"], condition=Q(disposition=""), name="supervision_review_open_due"
            ),
        ]


class ChangeKind(models.TextChoices):
    LEVEL = "level", "Level change"
    TERMINATION = "termination", "End supervision"


class ChangeDecision(models.TextChoices):
    PENDING = "pending", "Waiting for a supervisor"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


class ChangeRequest(BaseModel):
    """A level change or termination: proposed by one person, decided by another."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    proposed_level = models.CharField(max_length=16, choices=Level.choices, blank=True)
    reason = models.TextField()
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField()
    decision = models.CharField(
        max_length=16, choices=ChangeDecision.choices, default=ChangeDecision.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        db_table = "supervision_change_request"
        constraints = [
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("proposed_by")),
                name="supervision_change_two_people",
            ),
        ]


class DepartureKind(models.TextChoices):
    VOLUNTARY_DEPARTURE = "voluntary_departure", "Voluntary departure"
    SELF_DEPARTURE = "self_departure", "Self-departure"


class EvidenceKind(models.TextChoices):
    CONSULAR = "consular", "Consular verification"
    BOARDING_DOCUMENT = "boarding_document", "Boarding document"
    CHECKIN_ABROAD = "checkin_abroad", "Face-verified check-in from abroad"


class Departure(BaseModel):
    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="departures")
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="departures"
    )
    kind = models.CharField(max_length=32, choices=DepartureKind.choices)
    evidence_kind = models.CharField(max_length=32, choices=EvidenceKind.choices)
    evidence_reference = models.CharField(
        max_length=120, blank=True, db_comment="Consular note number, flight, ..."
    )
    evidence_encrypted = models.BinaryField(null=True, blank=True)
    checkin = models.ForeignKey(
        CheckIn,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,  # PostgreSQL: (checkin_id, checkin_window_opens_at), see 0007
    )
    checkin_window_opens_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        db_comment="The window of the check-in: with checkin_id, the key of the check-in",
    )
    departed_on = models.DateField()
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField()

    class Meta:
        db_table = "supervision_departure"
