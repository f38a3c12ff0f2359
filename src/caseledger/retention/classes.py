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

Of a model whose rows stay, every column is either cleared by a class (`ClassSpec.clears`)
or named as kept (`KEPT_FIELDS`): the system check retention.W002 names a column that is
neither, so a column added later gets a retention decision before it ships.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.apps import apps
from django.db.models import Exists, OuterRef, Q, QuerySet

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
    # or: due by a condition on the period's cutoff (model, cutoff) -> Q, for a class whose
    # period counts from whichever of several dates applies
    due_when: Callable[[Any, datetime], Q] | None = None
    covers: tuple[str, ...] = ()  # models whose personal data the class covers (for checks)
    clears: dict[str, Any] | None = None  # column -> emptied value; None: delete the row

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
            return qs.filter(**{f"{self.due_field}__lt": today})
        if period_days is None or not (self.start_field or self.due_when):
            return model.objects.none()
        # The start fields are times (UTC): the period ends at the start of a UTC day.
        cutoff = datetime.combine(today - timedelta(days=period_days), time.min, tzinfo=UTC)
        if self.due_when is not None:
            return qs.filter(self.due_when(model, cutoff))
        return qs.filter(**{f"{self.start_field}__lt": cutoff})

    def purge(self, qs: QuerySet[Any]) -> int:
        """Purge the rows of `qs` (already narrowed to one batch); returns how many."""
        if self.clears is None:
            return qs.delete()[0]
        return qs.update(**self.clears)


def _accounting_due(model: Any) -> Q:
    """Past its date AND past the life of the record (the person's record is gone); an entry
    that correction notices point to stays with them."""
    condition = Q(person__isnull=True)
    names = {f.name for f in model._meta.get_fields()}
    if "notices" in names:
        condition &= Q(notices__isnull=True)
    return condition


def _no_review_will_decide(model: Any, cutoff: datetime) -> Q:
    """A try not verified whose images no review decision will date: the enrolment ended
    before `cutoff` (no review is opened for an ended enrolment, and its reference photo goes
    at the same time), or the try is older than `cutoff` and its window has no review waiting
    for a decision (the window's review was decided before the try, or none was opened)."""
    review = apps.get_model("supervision", "Review")
    waiting = review.objects.filter(
        enrolment=OuterRef("enrolment"),
        window_opens_at=OuterRef("window_opens_at"),
        disposition="",
    )
    return Q(enrolment__ended_at__lt=cutoff) | (Q(submitted_at__lt=cutoff) & ~Exists(waiting))


#: A failed try's images: the key frame (or photo) and a burst's other frames.
_TRY_IMAGES = {"image_encrypted": None, "frames_encrypted": None}

SPECS: dict[str, ClassSpec] = {
    spec.code: spec
    for spec in (
        ClassSpec(
            DataClass.FAILED_CHECK_IMAGE,
            "supervision.CheckIn",
            "supervision.checkin",
            "enrolment__person_id",
            due_field="image_delete_after",
            pending=Q(image_encrypted__isnull=False) | Q(frames_encrypted__isnull=False),
            covers=("supervision.CheckIn",),
            clears=_TRY_IMAGES,
        ),
        ClassSpec(
            # The images of a try that no review decision dates (a retake never sent by an
            # enrolment that ended, a try after the window's review was decided, a review
            # left undecided when supervision ended): without this class they stay forever.
            DataClass.UNREVIEWED_CHECK_IMAGE,
            "supervision.CheckIn",
            "supervision.checkin",
            "enrolment__person_id",
            pending=Q(image_encrypted__isnull=False) | Q(frames_encrypted__isnull=False),
            extra_due=Q(image_delete_after__isnull=True) & ~Q(outcome="verified"),
            due_when=_no_review_will_decide,
            covers=("supervision.CheckIn",),
            clears=_TRY_IMAGES,
        ),
        ClassSpec(
            DataClass.MATCHED_CHECKIN_DATA,
            "supervision.CheckIn",
            "supervision.checkin",
            "enrolment__person_id",
            start_field="submitted_at",
            pending=Q(distance__isnull=False) | ~Q(quality={}) | ~Q(liveness={}),
            extra_due=Q(outcome="verified"),
            covers=("supervision.CheckIn",),
            clears={"distance": None, "quality": {}, "liveness": {}},
        ),
        ClassSpec(
            DataClass.CHECKIN_LOCATION,
            "supervision.CheckIn",
            "supervision.checkin",
            "enrolment__person_id",
            due_field="location_delete_after",
            pending=Q(latitude__isnull=False),
            covers=("supervision.CheckIn",),
            clears={"latitude": None, "longitude": None, "accuracy_m": 0},
        ),
        ClassSpec(
            DataClass.FACE_TEMPLATE,
            "supervision.ReferencePhoto",
            "supervision.referencephoto",
            "enrolment__person_id",
            due_field="delete_after",
            pending=~Q(template_encrypted=b""),
            covers=("supervision.ReferencePhoto",),
            clears={"template_encrypted": b""},
        ),
        ClassSpec(
            DataClass.ENROLMENT_PHOTO,
            "supervision.ReferencePhoto",
            "supervision.referencephoto",
            "enrolment__person_id",
            due_field="delete_after",
            pending=~Q(photo_encrypted=b""),
            covers=("supervision.ReferencePhoto",),
            clears={"photo_encrypted": b""},
        ),
        ClassSpec(
            DataClass.DEPARTURE_EVIDENCE,
            "supervision.Departure",
            "supervision.departure",
            "enrolment__person_id",
            start_field="confirmed_at",
            pending=Q(evidence_encrypted__isnull=False),
            covers=("supervision.Departure",),
            clears={"evidence_encrypted": None},
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
            clears={"note": ""},
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

# The columns of the models whose rows stay after a purge that no class clears, and why they
# may stay: keys, times and codes of the compliance record, the due dates the engine reads.
# With `ClassSpec.clears` they account for every column (system check retention.W002).
_BASE_FIELDS = ("id", "created_at", "updated_at", "row_version")
KEPT_FIELDS: dict[str, tuple[str, ...]] = {
    # The compliance record of a try: when, which try, its outcome and the codes of why
    # (face result, liveness outcome and reason, model and threshold), the coarse kind of
    # device; distance, quality and liveness measures go for verified tries
    # (matched_checkin_data) and stay with a failed try's review.
    "supervision.CheckIn": (
        *_BASE_FIELDS, "enrolment", "submission_id", "window_opens_at", "attempt",
        "submitted_at", "outcome", "face_outcome", "model_id", "threshold",
        "threshold_version", "location_delete_after", "image_delete_after", "ledger_event",
        "liveness_outcome", "liveness_reason", "capture_device",
    ),
    # Named by ledger events: the model and quality measures, never the face.
    "supervision.ReferencePhoto": (
        *_BASE_FIELDS, "enrolment", "model_id", "quality", "active", "data_class",
        "delete_after",
    ),
    # The departure stays with the case file; only the uploaded evidence file goes.
    "supervision.Departure": (
        *_BASE_FIELDS, "enrolment", "case", "kind", "evidence_kind", "evidence_reference",
        "checkin", "checkin_window_opens_at", "departed_on", "confirmed_by", "confirmed_at",
    ),
    # The decision and who made it stay; the free-text note goes.
    "supervision.Review": (
        *_BASE_FIELDS, "enrolment", "checkin", "window_opens_at", "kind", "opened_at",
        "due_at", "disposition", "decided_by", "decided_at",
    ),
}

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


def cleared_fields() -> dict[str, set[str]]:
    """Per model whose rows stay after a purge ("app_label.ModelName"), the columns some
    class clears."""
    cleared: dict[str, set[str]] = {}
    for spec in SPECS.values():
        if spec.clears is not None:
            cleared.setdefault(spec.model, set()).update(spec.clears)
    return cleared


def covered_models() -> set[str]:
    """Every model some data class covers ("app_label.ModelName")."""
    covered = {m for spec in SPECS.values() for m in spec.covers}
    covered.update(CASE_FILE_MODELS)
    covered.add("ledger.Event")
    return covered
