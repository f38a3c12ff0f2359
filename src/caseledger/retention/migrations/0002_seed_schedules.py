"""Seed one retention schedule per data class (DESIGN invariant 6).

The periods of classes whose rows carry their own due date repeat the settings that set
those dates when the rows are written (FAILED_IMAGE_RETENTION_DAYS, ENROLMENT_PHOTO_
RETENTION_DAYS, LOCATION_RETENTION_DAYS, IMPORT_QUARANTINE_RETENTION_DAYS); the engine uses
the row's date. The others count `period_days` from the date named in `date_field`.
"""

from django.db import migrations

PRIVACY_ACT = "Privacy Act, 5 U.S.C. 552a(e)(1): keep only what is relevant and necessary."
RECORDS = "Records officer to confirm against the agency's NARA-approved records schedule."

SCHEDULES = [
    {
        "data_class": "failed_check_image",
        "period_days": 28,
        "counts_from": "The human review's decision on the check-in",
        "date_field": "supervision.CheckIn.image_delete_after",
        "method": "clear_fields",
        "citation": (
            f"{PRIVACY_ACT} The image of a check-in whose face did not match is kept only "
            "for the human review and 28 days after its decision (time to contest the "
            "disposition); the check-in's outcome and the review decision stay. "
            "DESIGN invariant 7 (encrypted at rest until then)."
        ),
    },
    {
        "data_class": "matched_checkin_data",
        "period_days": 90,
        "counts_from": "The time of the check-in",
        "date_field": "supervision.CheckIn.submitted_at",
        "method": "clear_fields",
        "citation": (
            f"{PRIVACY_ACT} A matched check-in's image is never stored. Its comparison "
            "details (face distance, quality measures, image hash used against replays) are "
            "cleared after 90 days; the time, attempt and outcome stay as the compliance "
            f"record. {RECORDS}"
        ),
    },
    {
        "data_class": "checkin_location",
        "period_days": 365,
        "counts_from": "The time of the check-in",
        "date_field": "supervision.CheckIn.location_delete_after",
        "method": "clear_fields",
        "citation": (
            f"{PRIVACY_ACT} The location given at a check-in (never collected otherwise, "
            "DESIGN invariant 4) is kept for LOCATION_RETENTION_DAYS (default 365), then the "
            f"coordinates and accuracy are cleared. {RECORDS}"
        ),
    },
    {
        "data_class": "face_template",
        "period_days": 30,
        "counts_from": "The end of supervision (unenrolment)",
        "date_field": "supervision.ReferencePhoto.delete_after",
        "method": "clear_fields",
        "citation": (
            f"{PRIVACY_ACT} The face template serves only 1:1 verification during "
            "supervision; it is cleared 30 days after the enrolment ends (no 'life of the "
            "contract' retention). The row keeps the model id and quality measures, which "
            "ledger events name."
        ),
    },
    {
        "data_class": "enrolment_photo",
        "period_days": 30,
        "counts_from": "The end of supervision (unenrolment)",
        "date_field": "supervision.ReferencePhoto.delete_after",
        "method": "clear_fields",
        "citation": (
            f"{PRIVACY_ACT} The enrolment photo is cleared 30 days after the enrolment ends, "
            "with the template."
        ),
    },
    {
        "data_class": "departure_evidence",
        "period_days": 1095,
        "counts_from": "The confirmation of the departure",
        "date_field": "supervision.Departure.confirmed_at",
        "method": "clear_fields",
        "citation": (
            f"{PRIVACY_ACT} The uploaded evidence file (boarding document) is cleared three "
            "years after the departure was confirmed; the departure record, its kind and "
            f"reference stay with the case file. {RECORDS}"
        ),
    },
    {
        "data_class": "notes",
        "period_days": 1095,
        "counts_from": "The end of supervision",
        "date_field": "supervision.Enrolment.ended_at",
        "method": "clear_fields",
        "citation": (
            f"{PRIVACY_ACT} Free-text review notes support compliance decisions during "
            "supervision; their text is cleared three years after supervision ends. The "
            f"disposition and who decided stay. {RECORDS}"
        ),
    },
    {
        "data_class": "import_quarantine",
        "period_days": 90,
        "counts_from": "The import of the row",
        "date_field": "imports.QuarantinedRow.retain_until",
        "method": "delete_row",
        "citation": (
            f"{PRIVACY_ACT} A refused import row (as written, personal data) is kept 90 days "
            "(IMPORT_QUARANTINE_RETENTION_DAYS) for correction and re-import, then deleted. "
            "`caseledger import-quarantine purge` runs the retention engine for this class: "
            "either path leaves deletion certificates."
        ),
    },
    {
        "data_class": "accounting",
        "period_days": 1826,
        "counts_from": "The disclosure, and never before the person's record is gone",
        "date_field": "disclosures.AccountingEntry.retain_until",
        "method": "delete_row",
        "citation": (
            "Privacy Act, 5 U.S.C. 552a(c)(2): the accounting of disclosures is kept at least "
            "five years after the disclosure or the life of the record, whichever is longer. "
            "An entry is purged only when its retain_until date has passed AND the person's "
            "record no longer exists; an entry that correction notices point to stays."
        ),
    },
    {
        "data_class": "case_file",
        "period_days": None,
        "counts_from": "The closing of the case file",
        "date_field": "people.Person",
        "method": "not_automatic",
        "citation": (
            "The person, names, addresses, contacts, cases, hearings, enrolment, consent, "
            "reminders, access grants, disclosure requests, amendment requests and "
            "statements of disagreement form the case file, kept under the agency's "
            "records schedule for case files. The engine never deletes it; a records "
            f"officer disposes of closed files. {RECORDS}"
        ),
    },
    {
        "data_class": "ledger_event",
        "period_days": None,
        "counts_from": "Permanent",
        "date_field": "ledger.Event",
        "method": "permanent",
        "citation": (
            "Permanent. The ledger is the accounting of every access (5 U.S.C. 552a(c) and "
            "DESIGN invariants 1, 2 and 6). It is append-only: every event is a leaf of the "
            "signed Merkle tree, so deleting one would break every later inclusion and "
            "consistency proof and every published checkpoint. Events hold ids, codes and "
            "counts, never names or free text, so keeping them keeps no content."
        ),
    },
]


def seed(apps, schema_editor):
    Schedule = apps.get_model("retention", "Schedule")
    for values in SCHEDULES:
        Schedule.objects.update_or_create(
            data_class=values["data_class"],
            defaults={k: v for k, v in values.items() if k != "data_class"},
        )


def unseed(apps, schema_editor):
    apps.get_model("retention", "Schedule").objects.filter(
        data_class__in=[s["data_class"] for s in SCHEDULES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("retention", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
