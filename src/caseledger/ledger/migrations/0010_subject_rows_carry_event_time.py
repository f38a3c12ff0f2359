"""Each subject row (a person a search or list returned) carries its event's time.

On PostgreSQL the ledger is partitioned by month on `time`, and its key is (id, time): a
lookup by id alone probes every month's index. "Who accessed my record" found a person's
listed events that way, one probe per month for each event (8,400 listed events of a
much-read person at 10^7 events: 92,000 index probes). With the time in the row, each event is
one probe in its own month, and the index on (subject, time, event) gives the keys alone.

The rows are append-only (PostgreSQL triggers refuse UPDATE): the backfill runs with the row
trigger disabled, as the table owner, inside this migration's transaction, so no other session
ever sees it off. At 10^7 events (8.4 million subject rows) the migration took 260 s on the
2-core benchmark machine (15 s at 10^6 events), with writers of search and list events
waiting; run `VACUUM (ANALYZE) ledger_event_subject` after it (the update leaves the old rows
behind). `caseledger ledger verify` checks every row's time against its event.
The single-column index on `subject_id` is replaced by the new one (its first column)."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

TRIGGER = "ledger_event_subject_no_update_delete"


def backfill(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE ledger_event_subject DISABLE TRIGGER {TRIGGER}")
            cursor.execute(
                "UPDATE ledger_event_subject s SET event_time = e.time FROM ledger_event e "
                "WHERE e.id = s.event_id AND s.event_time IS NULL"
            )
            cursor.execute(f"ALTER TABLE ledger_event_subject ENABLE TRIGGER {TRIGGER}")
        else:
            cursor.execute(
                "UPDATE ledger_event_subject SET event_time = (SELECT e.time FROM ledger_event e "
                "WHERE e.id = ledger_event_subject.event_id) WHERE event_time IS NULL"
            )
        # A row whose event is gone cannot be given a time; the verifier reports such rows,
        # and the column cannot become NOT NULL while one exists: say which.
        cursor.execute("SELECT count(*) FROM ledger_event_subject WHERE event_time IS NULL")
        orphans = cursor.fetchone()[0]
    if orphans:
        raise RuntimeError(
            f"{orphans} subject row(s) point at no event; run `caseledger ledger verify` and "
            "restore the ledger from a backup before migrating"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0009_history_index_covers_role"),
    ]

    operations = [
        migrations.AddField(
            model_name="eventsubject",
            name="event_time",
            field=models.DateTimeField(
                null=True, db_comment="The event's time (finds it in its month)"
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="eventsubject",
            name="event_time",
            field=models.DateTimeField(db_comment="The event's time (finds it in its month)"),
        ),
        migrations.AlterField(
            model_name="eventsubject",
            name="subject_id",
            field=models.UUIDField(db_comment="A person the event returned"),
        ),
        migrations.AddIndex(
            model_name="eventsubject",
            index=models.Index(
                fields=["subject_id", "event_time", "event"], name="ledger_subject_event_keys"
            ),
        ),
    ]
