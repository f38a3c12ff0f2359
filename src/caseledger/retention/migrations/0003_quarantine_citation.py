"""The import quarantine's schedule: `caseledger import-quarantine purge` now runs the retention
engine too, so both paths leave deletion certificates."""

from django.db import migrations

OLD = (
    "`caseledger import-quarantine purge` deletes the same rows (one event, no "
    "certificate); the retention engine is the scheduled path."
)
NEW = (
    "`caseledger import-quarantine purge` runs the retention engine for this class: "
    "either path leaves deletion certificates."
)


def forwards(apps, schema_editor):
    Schedule = apps.get_model("retention", "Schedule")
    for schedule in Schedule.objects.filter(data_class="import_quarantine"):
        schedule.citation = schedule.citation.replace(OLD, NEW)
        schedule.save(update_fields=["citation"])


def backwards(apps, schema_editor):
    Schedule = apps.get_model("retention", "Schedule")
    for schedule in Schedule.objects.filter(data_class="import_quarantine"):
        schedule.citation = schedule.citation.replace(NEW, OLD)
        schedule.save(update_fields=["citation"])


class Migration(migrations.Migration):
    dependencies = [("retention", "0002_seed_schedules")]
    operations = [migrations.RunPython(forwards, backwards)]
