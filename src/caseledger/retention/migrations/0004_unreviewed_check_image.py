"""Liveness bursts: the other frames of a failed try and the liveness measures.

- `failed_check_image` also clears a burst's other frames (`CheckIn.frames_encrypted`) with
  the key frame; `matched_checkin_data` also clears the liveness record (`CheckIn.liveness`)
  of a verified try. Each schedule's version is bumped, so certificates name the new wording.
- New class `unreviewed_check_image`: the images and frames of a try that no review decision
  dates (a retake never sent before supervision ended, a try after the window's review was
  decided, a review left undecided when supervision ended) are cleared 30 days after the end
  of supervision or, while it lasts, 30 days after a try whose window has no review waiting.
"""

from django.db import migrations, models

PRIVACY_ACT = "Privacy Act, 5 U.S.C. 552a(e)(1): keep only what is relevant and necessary."

UNREVIEWED = {
    "data_class": "unreviewed_check_image",
    "period_days": 30,
    "counts_from": (
        "The end of supervision, or the try when its window has no review waiting for a "
        "decision"
    ),
    "date_field": "supervision.Enrolment.ended_at / supervision.CheckIn.submitted_at",
    "method": "clear_fields",
    "citation": (
        f"{PRIVACY_ACT} The photo or key frame and the other frames of a try that was not "
        "verified are kept for the human review; the review's decision dates them "
        "(failed_check_image). A try that no decision will date (a retake not sent before "
        "supervision ended, a try after the window's review was decided, a review left "
        "undecided when supervision ended) is cleared 30 days after supervision ended, with "
        "the enrolment photo it would be compared with, or, while supervision lasts, 30 days "
        "after the try when its window has no review waiting. The try's outcome stays."
    ),
}
FAILED_OLD = "The image of a check-in whose face did not match is kept only"
FAILED_NEW = (
    "The image of a check-in whose face did not match or that was not judged live (a "
    "burst's key frame, with its other frames) is kept only"
)
MATCHED_OLD = "(face distance, quality measures, image hash used against replays)"
MATCHED_NEW = (
    "(face distance, quality measures, image hash used against replays, liveness measures "
    "and challenge)"
)
REWORDED = (("failed_check_image", FAILED_OLD, FAILED_NEW),
            ("matched_checkin_data", MATCHED_OLD, MATCHED_NEW))


def forwards(apps, schema_editor):
    Schedule = apps.get_model("retention", "Schedule")
    Schedule.objects.update_or_create(
        data_class=UNREVIEWED["data_class"],
        defaults={k: v for k, v in UNREVIEWED.items() if k != "data_class"},
    )
    for code, old, new in REWORDED:
        for schedule in Schedule.objects.filter(data_class=code):
            if old in schedule.citation:
                schedule.citation = schedule.citation.replace(old, new)
                schedule.version += 1
                schedule.save(update_fields=["citation", "version"])


def backwards(apps, schema_editor):
    Schedule = apps.get_model("retention", "Schedule")
    Schedule.objects.filter(data_class=UNREVIEWED["data_class"]).delete()
    for code, old, new in REWORDED:
        for schedule in Schedule.objects.filter(data_class=code):
            if new in schedule.citation:
                schedule.citation = schedule.citation.replace(new, old)
                schedule.version = max(1, schedule.version - 1)
                schedule.save(update_fields=["citation", "version"])


class Migration(migrations.Migration):

    dependencies = [
        ('retention', '0003_quarantine_citation'),
    ]

    operations = [
        migrations.AlterField(
            model_name='deletioncertificate',
            name='data_class',
            field=models.CharField(choices=[('failed_check_image', 'Failed-check images'), ('unreviewed_check_image', 'Failed-check images without a review decision'), ('matched_checkin_data', 'Matched check-in data'), ('checkin_location', 'Check-in locations'), ('face_template', 'Face templates'), ('enrolment_photo', 'Enrolment photos'), ('departure_evidence', 'Departure evidence files'), ('notes', 'Free-text notes (review notes)'), ('import_quarantine', 'Quarantined import rows'), ('accounting', 'Accounting of disclosures'), ('case_file', 'Person and case file'), ('ledger_event', 'Ledger events')], max_length=32),
        ),
        migrations.AlterField(
            model_name='deletionitem',
            name='data_class',
            field=models.CharField(choices=[('failed_check_image', 'Failed-check images'), ('unreviewed_check_image', 'Failed-check images without a review decision'), ('matched_checkin_data', 'Matched check-in data'), ('checkin_location', 'Check-in locations'), ('face_template', 'Face templates'), ('enrolment_photo', 'Enrolment photos'), ('departure_evidence', 'Departure evidence files'), ('notes', 'Free-text notes (review notes)'), ('import_quarantine', 'Quarantined import rows'), ('accounting', 'Accounting of disclosures'), ('case_file', 'Person and case file'), ('ledger_event', 'Ledger events')], max_length=32),
        ),
        migrations.AlterField(
            model_name='schedule',
            name='data_class',
            field=models.CharField(choices=[('failed_check_image', 'Failed-check images'), ('unreviewed_check_image', 'Failed-check images without a review decision'), ('matched_checkin_data', 'Matched check-in data'), ('checkin_location', 'Check-in locations'), ('face_template', 'Face templates'), ('enrolment_photo', 'Enrolment photos'), ('departure_evidence', 'Departure evidence files'), ('notes', 'Free-text notes (review notes)'), ('import_quarantine', 'Quarantined import rows'), ('accounting', 'Accounting of disclosures'), ('case_file', 'Person and case file'), ('ledger_event', 'Ledger events')], db_comment='Data class code', max_length=32, unique=True),
        ),
        migrations.RunPython(forwards, backwards),
    ]
