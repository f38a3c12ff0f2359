"""The data classes: which rows (or fields) each covers, when a row is due, how it is purged.

A class whose rows carry their own due date (set when the row was written, see the models of
supervision and imports) is due when that date has passed. A class without one counts its
schedule's `period_days` from a date of the row (`start_field`).

"Purged" means, per class (`Schedule.method`):
- clear_fields: the personal fields go (encrypted bytes, coordinates, note text); the row
  stays because something else must (the check-in's outcome is the compliance record, the
  reference photo row is named by ledger events, the review decision stays);
- delete_row: the row goes (quarantined import rows, accounting entries past their term);
- permanent / not_automatic: never purged by the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.apps import apps
from django.db.models import Q, QuerySet

from .models import DataClass, Method


@dataclass(frozen=True)
class ClassSpec:
    code: str
    model: str  # "app_label.ModelName"
    record_type: str  # what certificates and ledger events call the records
    person_path: str | None  # ORM path to the person's id; None: rows name no person
    due_field: str | None = None  # row's own due date: due when it is before today
    start_field: str | None = None  # or: schedule period counts from this date/time
    pending: Q = field(default_factory=Q)  # still holds data (so a second run finds nothing)
    extra_due: Q | Callable[[Any], Q] = field(default_factory=Q)  # further conditions
    covers: tuple[str, ...] = ()  # models whose personal data the class covers (for checks)

    def model_class(self) -> Any | None:
        app_label, name = self.model.split(".")
        try:
            return apps.get_model(app_label, name)
        except LookupError:  # an app or model not built yet: the class is skipped
            return None

    def due(self, period_days: int | None, today: date) -> QuerySet[Any] | None:
        """Rows due for purging on `today`, held or not; None when the model is absent."""
        model = self.model_class()
        if model is None:
            return None
        extra = self.extra_due(model) if callable(self.extra_due) else self.extra_due
        qs = model.objects.filter(self.pending).filter(extra)
        if self.due_field:
            qs = qs.filter(**{f"{self.due_field}__lt": today})
        elif self.start_field and period_days is not None:
            # The start fields are times (UTC): the period ends at the start of a UTC day.
            cutoff = datetime.combine(today - timedelta(days=period_days), time.min, tzinfo=UTC)
            qs = qs.filter(**{f"{self.start_field}__lt": cutoff})
        else:
            return model.objects.none()
        return qs

    def purge(self, qs: QuerySet[Any]) -> int:
        """Purge the rows of `qs` (already narrowed to one batch); returns how many."""
        return _PURGERS[self.code](qs)


def _accounting_due(model: Any) -> Q:
    """Past its date AND past the life of the record (the person's record is gone); an entry
    that correction notices point to stays with them."""
    condition = Q(person__isnull=True)
    names = {f.name for f in model._meta.get_fields()}
    if "notices" in names:
        condition &= Q(notices__isnull=True)
    return condition


def _location_values(model: Any) -> dict[str, Any]:
    """Coordinates (and their accuracy) are cleared to null."""
    return {"latitude": None, "longitude": None, "accuracy_m": 0}


_PURGERS: dict[str, Any] = {
    DataClass.FAILED_CHECK_IMAGE: lambda qs: qs.update(image_encrypted=None),
    DataClass.MATCHED_CHECKIN_DATA: lambda qs: qs.update(distance=None, quality={}),
    DataClass.CHECKIN_LOCATION: lambda qs: qs.update(**_location_values(qs.model)),
    DataClass.FACE_TEMPLATE: lambda qs: qs.update(template_encrypted=b""),
    DataClass.ENROLMENT_PHOTO: lambda qs: qs.update(photo_encrypted=b""),
    DataClass.DEPARTURE_EVIDENCE: lambda qs: qs.update(evidence_encrypted=None),
    DataClass.NOTES: lambda qs: qs.update(note=""),
    DataClass.IMPORT_QUARANTINE: lambda qs: qs.delete()[0],
    DataClass.ACCOUNTING: lambda qs: qs.delete()[0],
}

SPECS: dict[str, ClassSpec] = {
    spec.code: spec
    for spec in (
        ClassSpec(
            DataClass.FAILED_CHECK_IMAGE,
            "supervision.CheckIn",
            "supervision.checkin",
            "enrolment__person_id",
            due_field="image_delete_after",
            pending=Q(image_encrypted__isnull=False),
            covers=("supervision.CheckIn",),
        ),
        ClassSpec(
            DataClass.MATCHED_CHECKIN_DATA,
            "supervision.CheckIn",
            "supervision.checkin",
            "enrolment__person_id",
            start_field="submitted_at",
            pending=Q(distance__isnull=False) | ~Q(quality={}),
            extra_due=Q(outcome="verified"),
            covers=("supervision.CheckIn",),
        ),
        ClassSpec(
            DataClass.CHECKIN_LOCATION,
            "supervision.CheckIn",
            "supervision.checkin",
            "enrolment__person_id",
            due_field="location_delete_after",
            pending=Q(latitude__isnull=False),
            covers=("supervision.CheckIn",),
        ),
        ClassSpec(
            DataClass.FACE_TEMPLATE,
            "supervision.ReferencePhoto",
            "supervision.referencephoto",
            "enrolment__person_id",
            due_field="delete_after",
            pending=~Q(template_encrypted=b""),
            covers=("supervision.ReferencePhoto",),
        ),
        ClassSpec(
            DataClass.ENROLMENT_PHOTO,
            "supervision.ReferencePhoto",
            "supervision.referencephoto",
            "enrolment__person_id",
            due_field="delete_after",
            pending=~Q(photo_encrypted=b""),
            covers=("supervision.ReferencePhoto",),
        ),
        ClassSpec(
            DataClass.DEPARTURE_EVIDENCE,
            "supervision.Departure",
            "supervision.departure",
            "enrolment__person_id",
            start_field="confirmed_at",
            pending=Q(evidence_encrypted__isnull=False),
            covers=("supervision.Departure",),
        ),
        ClassSpec(
            DataClass.NOTES,
            "supervision.Review",
            "supervision.review",
            "enrolment__person_id",
            start_field="enrolment__ended_at",
            pending=~Q(note=""),
            extra_due=Q(enrolment__ended_at__isnull=False),
            covers=("supervision.Review",),
        ),
        ClassSpec(
            DataClass.IMPORT_QUARANTINE,
            "imports.QuarantinedRow",
            "imports.quarantinedrow",
            None,
            due_field="retain_until",
            covers=("imports.QuarantinedRow",),
        ),
        ClassSpec(
            DataClass.ACCOUNTING,
            "disclosures.AccountingEntry",
            "disclosures.accountingentry",
            "subject_id",
            due_field="retain_until",
            extra_due=_accounting_due,
            covers=("disclosures.AccountingEntry",),
        ),
    )
}

# Classes the engine never purges (their schedules say why).
NOT_PURGED: dict[str, str] = {
    DataClass.LEDGER_EVENT: Method.PERMANENT,
    DataClass.CASE_FILE: Method.NOT_AUTOMATIC,
}

# Order of a full run: the fields of a row before the row itself.
RUN_ORDER: tuple[str, ...] = tuple(SPECS)

# Models holding personal data that belong to the person and case file (class case_file),
# kept under the agency's case-file schedule and not purged by the engine.
CASE_FILE_MODELS: tuple[str, ...] = (
    "people.Person",
    "people.PersonName",
    "people.Address",
    "people.Contact",
    "people.Representation",
    "cases.Case",
    "cases.Proceeding",
    "cases.Hearing",
    "cases.Decision",
    "cases.StatusChange",
    "supervision.Enrolment",
    "supervision.Consent",
    "supervision.Schedule",
    "supervision.ChangeRequest",
    "notices.Reminder",
    "notices.Delivery",
    "notices.OptOut",
    "notices.Alert",
    "accounts.CaseloadAssignment",
    "access.Grant",
    "disclosures.DisclosureRequest",
    "portal.AmendmentRequest",
    "portal.DisagreementStatement",
    "retention.LegalHold",
)


def covered_models() -> set[str]:
    """Every model some data class covers ("app_label.ModelName")."""
    covered = {m for spec in SPECS.values() for m in spec.covers}
    covered.update(CASE_FILE_MODELS)
    covered.add("ledger.Event")
    return covered
