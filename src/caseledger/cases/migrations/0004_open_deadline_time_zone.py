"""Each kept deadline row says its court's time zone, so the dashboard reads a due date
against today at that court (not UTC's date), and the rows are recomputed to fill it."""

from django.db import migrations, models


def refill_open_deadlines(apps, schema_editor):
    """Recompute every case's rows, now with their zones (see cases.deadline_rows)."""
    from caseledger.cases.deadline_rows import refresh_all

    refresh_all(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0003_open_deadlines_hearing_time"),
    ]

    operations = [
        migrations.AddField(
            model_name="opendeadline",
            name="time_zone",
            field=models.CharField(
                db_comment=(
                    "The court's time zone, whose day `due` is and against whose today it is "
                    "read"
                ),
                db_default="America/New_York",
                max_length=64,
            ),
        ),
        migrations.RunPython(refill_open_deadlines, migrations.RunPython.noop),
    ]
