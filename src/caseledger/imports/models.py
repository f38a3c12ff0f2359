"""CSV imports: each run (batch), what each row became, and the rows that were set aside.

`ImportedRecord` makes re-imports idempotent: one row per (kind, external_id), with the hash
of the row it came from. `QuarantinedRow` keeps a refused row with the reason, so nothing is
dropped silently; it holds the row as written (personal data), so it carries a retention date
and `caseledger import-quarantine purge` deletes it once that date has passed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from caseledger.core.models import BaseModel


class ImportKind(models.TextChoices):
    PERSONS = "persons", "Persons"
    CASES = "cases", "Cases"
    HEARINGS = "hearings", "Hearings"


class Reason(models.TextChoices):
    """Why a row was quarantined (the summary counts rows by these codes)."""

    MALFORMED_ROW = "malformed_row", "Wrong number of fields"
    MISSING_VALUE = "missing_value", "A required value is empty"
    INVALID_DATE = "invalid_date", "A date that does not exist or is not plausible"
    INVALID_TIME = "invalid_time", "A malformed local time, or one that does not exist"
    PAST_HEARING = "past_hearing", "Hearing scheduled in the past"
    UNKNOWN_CODE = "unknown_code", "Code not in its code list"
    INVALID_A_NUMBER = "invalid_a_number", "Malformed A-number"
    INVALID_CONTACT = "invalid_contact", "Invalid phone number or email address"
    INVALID_VALUE = "invalid_value", "Invalid value"
    NOT_FOUND = "not_found", "Person or case not found, or not visible to the importing user"
    ALREADY_EXISTS = "already_exists", "Conflicts with an existing record"
    DUPLICATE = "duplicate", "Repeats an external_id seen earlier in the file"
    IMPORT_CONFLICT = "import_conflict", "Conflicts with an earlier import"
    FORBIDDEN = "forbidden", "Not allowed for the importing user"


class ImportBatch(BaseModel):
    """One run of `caseledger import` over one file (dry runs leave no batch)."""

    file_name = models.CharField(max_length=255, db_comment="Base name of the imported file")
    sha256 = models.CharField(max_length=64, db_index=True, db_comment="SHA-256 of the file bytes")
    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="import_batches",
        db_comment="Staff user the import ran as (--as)",
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(
        null=True, blank=True, db_comment="Null: still running, or interrupted"
    )
    rows = models.PositiveIntegerField(default=0, db_comment="Data rows in the file")
    created = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    quarantined = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "imports_batch"
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.kind} import {self.pk} ({self.file_name})"


class ImportedRecord(BaseModel):
    """The record a row with this external_id created; the key of idempotent re-imports."""

    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    external_id = models.CharField(max_length=64, db_comment="Id of the row in the source list")
    record_type = models.CharField(max_length=64, db_comment="app_label.model of the record")
    record_id = models.UUIDField(db_comment="Primary key of the created record")
    first_batch = models.ForeignKey(
        ImportBatch, on_delete=models.PROTECT, related_name="imported_records"
    )
    line = models.PositiveIntegerField(db_comment="Line of the row in the first batch's file")
    row_hash = models.CharField(max_length=64, db_comment="SHA-256 of the row's trimmed cells")

    class Meta:
        db_table = "imports_imported_record"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "external_id"], name="imports_record_one_per_external_id"
            ),
        ]


class QuarantinedRow(BaseModel):
    """A row that was not applied, with why. Holds the row as written: personal data."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="quarantine")
    line = models.PositiveIntegerField(db_comment="First line of the row in the file")
    raw = models.TextField(db_comment="The row as written in the file (personal data)")
    reason = models.CharField(max_length=32, choices=Reason.choices)
    message = models.TextField(db_comment="What is wrong, and what to do about it")
    retain_until = models.DateField(
        db_index=True, db_comment="Deleted after this date by the retention engine"
    )

    class Meta:
        db_table = "imports_quarantined_row"
        ordering = ["batch", "line"]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"
