"""Retention: a schedule per data class, legal holds, purge runs and deletion certificates.

What each data class covers, and how its rows are purged, lives in `classes.py`; the
schedules themselves are rows (seeded by a data migration) so that a certificate can name
the schedule and the version it was issued under.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from caseledger.core.models import BaseModel


class DataClass(models.TextChoices):
    FAILED_CHECK_IMAGE = "failed_check_image", _("Failed-check images")
    UNREVIEWED_CHECK_IMAGE = "unreviewed_check_image", _(
        "Failed-check images without a review decision"
    )
    MATCHED_CHECKIN_DATA = "matched_checkin_data", _("Matched check-in data")
    CHECKIN_LOCATION = "checkin_location", _("Check-in locations")
    FACE_TEMPLATE = "face_template", _("Face templates")
    ENROLMENT_PHOTO = "enrolment_photo", _("Enrolment photos")
    DEPARTURE_EVIDENCE = "departure_evidence", _("Departure evidence files")
    NOTES = "notes", _("Free-text notes (review notes)")
    IMPORT_QUARANTINE = "import_quarantine", _("Quarantined import rows")
    ACCOUNTING = "accounting", _("Accounting of disclosures")
    CASE_FILE = "case_file", _("Person and case file")
    LEDGER_EVENT = "ledger_event", _("Ledger events")


class Method(models.TextChoices):
    DELETE_ROW = "delete_row", "Delete the row"
    CLEAR_FIELDS = "clear_fields", "Clear the fields; the rest of the row stays"
    NOT_AUTOMATIC = "not_automatic", "Not purged by the engine (records officer decides)"
    PERMANENT = "permanent", "Permanent: never deleted"


class Schedule(BaseModel):
    """How long one data class is kept, from when, why, and how it is purged."""

    data_class = models.CharField(
        max_length=32, unique=True, choices=DataClass.choices, db_comment="Data class code"
    )
    period_days = models.PositiveIntegerField(
        null=True, blank=True, db_comment="Days kept after `counts_from`; null: not purged"
    )
    counts_from = models.CharField(
        max_length=300, db_comment="The date the period counts from, in words"
    )
    date_field = models.CharField(
        max_length=100,
        db_comment="Field holding the due date or the start of the period (model.field)",
    )
    method = models.CharField(max_length=16, choices=Method.choices)
    citation = models.TextField(db_comment="Legal citation and justification")
    version = models.PositiveIntegerField(
        default=1, db_comment="Bumped on every change; certificates name the version"
    )

    class Meta:
        db_table = "retention_schedule"
        ordering = ["data_class"]

    def __str__(self) -> str:
        return f"{self.data_class} v{self.version}"

    @property
    def purgeable(self) -> bool:
        return self.method in (Method.DELETE_ROW, Method.CLEAR_FIELDS)


class LegalHold(BaseModel):
    """Keeps one person's data (one data class, or every class when blank) past its date."""

    person = models.ForeignKey(
        "people.Person",
        on_delete=models.PROTECT,
        related_name="legal_holds",
        db_comment="The person whose data is held",
    )
    data_class = models.CharField(
        max_length=32, blank=True, db_comment="Held data class; blank: every class"
    )
    reason = models.TextField(db_comment="Why the data must be kept (litigation, request, ...)")
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        db_comment="Privacy officer who placed the hold",
    )
    placed_at = models.DateTimeField()
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_comment="Privacy officer who released the hold",
    )
    released_at = models.DateTimeField(null=True, blank=True, db_comment="Null while in force")
    release_reason = models.TextField(blank=True)

    class Meta:
        db_table = "retention_legal_hold"
        ordering = ["-placed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "data_class"],
                condition=Q(released_at__isnull=True),
                name="retention_one_open_hold_per_class",
            ),
        ]
        indexes = [models.Index(fields=["released_at", "person"], name="retention_hold_open")]

    @property
    def active(self) -> bool:
        return self.released_at is None


class PurgeRun(BaseModel):
    """One run of the purge (dry runs leave none): what was due, deleted and held per class."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True, db_comment="Null: interrupted")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_comment="Privacy officer; null for the scheduled job",
    )
    trigger = models.CharField(max_length=16, db_comment="task, command, web, api or demo")
    summary = models.JSONField(
        default=dict, db_comment="{class: {due, deleted, held, certificates}}: counts only"
    )

    class Meta:
        db_table = "retention_purge_run"
        ordering = ["-started_at"]


class DeletionCertificate(BaseModel):
    """What one batch of a purge deleted, under which schedule; mirrored by a ledger event."""

    run = models.ForeignKey(PurgeRun, on_delete=models.PROTECT, related_name="certificates")
    data_class = models.CharField(max_length=32, choices=DataClass.choices)
    schedule = models.ForeignKey(Schedule, on_delete=models.PROTECT, related_name="+")
    schedule_version = models.PositiveIntegerField()
    method = models.CharField(max_length=16, choices=Method.choices)
    count = models.PositiveIntegerField()
    record_type = models.CharField(max_length=64, db_comment="app_label.model of the records")
    record_ids = models.JSONField(db_comment="Primary keys of the purged records")
    persons = models.PositiveIntegerField(default=0, db_comment="Distinct persons concerned")
    issued_at = models.DateTimeField(db_index=True)
    ledger_event = models.UUIDField(unique=True, db_comment="The ledger event of this batch")

    class Meta:
        db_table = "retention_deletion_certificate"
        ordering = ["-issued_at", "-id"]


class DeletionItem(BaseModel):
    """Per person and certificate, how many of their records went: what the person sees."""

    certificate = models.ForeignKey(
        DeletionCertificate, on_delete=models.PROTECT, related_name="items"
    )
    person_id = models.UUIDField(db_comment="The person (kept even once the record is gone)")
    data_class = models.CharField(max_length=32, choices=DataClass.choices)
    count = models.PositiveIntegerField()
    deleted_at = models.DateTimeField()

    class Meta:
        db_table = "retention_deletion_item"
        ordering = ["-deleted_at"]
        indexes = [models.Index(fields=["person_id", "deleted_at"], name="retention_item_person")]
