"""On PostgreSQL, `supervision_checkin` becomes a table partitioned by month of
`window_opens_at` (supervision/partitions.py).

PostgreSQL requires every unique constraint of a partitioned table to hold the partition key,
and a foreign key to reference one, so:
- the check-in's database keys become (id, window_opens_at) and
  (submission_id, window_opens_at); Django still knows `id` as the key;
- the replay refusal across windows moves to `supervision_checkin_submission` (both
  databases): its primary key is the nonce, it is filled here from the check-ins stored, and
  on PostgreSQL each check-in references its row by (submission_id, window_opens_at);
- reviews reference their check-in by (checkin_id, window_opens_at) (a review's window is its
  check-in's), departures by (checkin_id, checkin_window_opens_at), a column added and filled
  here; MATCH FULL, so a departure cannot name a check-in without its window.

The rows are copied into the new table under an exclusive lock (writers wait), the indexes
and constraints are made again from their definitions, and the grants of the old table are
given to the new one and its partitions: every month with check-ins and from the current
month to three months ahead, plus a DEFAULT partition. Reversible (back to one plain table
with single-column foreign keys). SQLite keeps one plain table with its unique nonce and its
foreign keys (the model's `db_constraint=False` is state only there).
"""

from __future__ import annotations

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

from caseledger.core import partitions as parts
from caseledger.supervision.partitions import CHECKINS

TABLE = "supervision_checkin"
OLD = "supervision_checkin_old"
REFERENCES = (  # (table, constraint, columns, match)
    ("supervision_review", "supervision_review_checkin_fk", "checkin_id, window_opens_at", ""),
    ("supervision_departure", "supervision_departure_checkin_fk",
     "checkin_id, checkin_window_opens_at", " MATCH FULL"),
)
SUBMISSION_FK = "supervision_checkin_submission_fk"


def _fill(apps: Any, schema_editor: Any) -> None:
    """Each stored check-in's nonce and window; each departure's check-in window."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO supervision_checkin_submission (submission_id, window_opens_at) "  # noqa: S608
            f"SELECT submission_id, window_opens_at FROM {TABLE}"  # noqa: S608
        )
        cursor.execute(
            "UPDATE supervision_departure SET checkin_window_opens_at = ("  # noqa: S608
            f"SELECT c.window_opens_at FROM {TABLE} c "  # noqa: S608
            "WHERE c.id = supervision_departure.checkin_id) WHERE checkin_id IS NOT NULL"
        )


def _refuse_reviews_of_another_window(cursor: Any) -> None:
    """A review references its check-in with the review's window, so the two must be the
    same (the services make them so); stop with the count, not a foreign-key error."""
    cursor.execute(
        "SELECT count(*) FROM supervision_review r JOIN supervision_checkin c "
        "ON c.id = r.checkin_id WHERE r.window_opens_at <> c.window_opens_at"
    )
    wrong = cursor.fetchone()[0]
    if wrong:
        raise RuntimeError(
            f"{wrong} review(s) name a check-in of another window; a review's window must be "
            "its check-in's. Correct them (supervision_review.window_opens_at) and migrate "
            "again: nothing was changed."
        )


def _rebuild(cursor: Any, *, partitioned: bool) -> None:
    """Replace the check-ins by a copy of themselves, partitioned by month or plain."""
    run = cursor.execute
    # the deferred checks of rows written earlier in this transaction (the departures' window)
    # run now: a table with pending trigger events cannot be altered
    run("SET CONSTRAINTS ALL IMMEDIATE")
    run(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
    if partitioned:
        _refuse_reviews_of_another_window(cursor)
    run(f"SELECT obj_description('{TABLE}'::regclass, 'pg_class')")
    comment = cursor.fetchone()[0]
    indexes = parts.secondary_indexes(cursor, TABLE)
    # its own unique, check and foreign-key constraints but the nonce's, made again below
    run(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "  # noqa: S608
        f"'{TABLE}'::regclass AND contype IN ('u', 'c', 'f') AND conname <> %s AND NOT "
        "(contype = 'u' AND conkey[1] = (SELECT attnum FROM pg_attribute WHERE attrelid = "
        f"'{TABLE}'::regclass AND attname = 'submission_id'))",
        [SUBMISSION_FK],
    )
    constraints = cursor.fetchall()
    parts.drop_references(cursor, TABLE)  # the reviews' and the departures'
    run(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
    run(
        f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING COMMENTS INCLUDING STORAGE "
        "INCLUDING COMPRESSION)" + (' PARTITION BY RANGE ("window_opens_at")' if partitioned else "")
    )
    parts.mirror_grants(cursor, OLD, TABLE)
    if partitioned:
        months = parts.months_with_rows(cursor, OLD, "window_opens_at")
        months |= set(parts.months_for(3))
        for month in sorted(months):
            parts.create_partition(cursor, CHECKINS, month)
        parts.create_partition(cursor, CHECKINS, None)
    run(f"INSERT INTO {TABLE} SELECT * FROM {OLD}")  # noqa: S608
    run(f"DROP TABLE {OLD}")
    key = "id, window_opens_at" if partitioned else "id"
    nonce = "submission_id, window_opens_at" if partitioned else "submission_id"
    run(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY ({key})")
    run(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_submission_id_key UNIQUE ({nonce})")
    for name, definition in constraints:
        run(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
    for definition in indexes:  # as read before the rename
        run(definition)
    if comment:
        run(f"COMMENT ON TABLE {TABLE} IS %s", [comment])
    if partitioned:
        run(
            f"ALTER TABLE {TABLE} ADD CONSTRAINT {SUBMISSION_FK} FOREIGN KEY "
            "(submission_id, window_opens_at) REFERENCES supervision_checkin_submission "
            "(submission_id, window_opens_at) DEFERRABLE INITIALLY DEFERRED"
        )
        for table, name, columns, match in REFERENCES:
            run(
                f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({columns}) "
                f"REFERENCES {TABLE} (id, window_opens_at){match} DEFERRABLE INITIALLY DEFERRED"
            )
    else:
        for table, name, _columns, _match in REFERENCES:
            run(
                f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (checkin_id) "
                f"REFERENCES {TABLE} (id) DEFERRABLE INITIALLY DEFERRED"
            )
    run(f"ANALYZE {TABLE}")


class Migration(migrations.Migration):
    dependencies = [("supervision", "0006_review_open_due")]

    operations = [
        migrations.CreateModel(
            name="CheckInSubmission",
            fields=[
                ("submission_id", models.UUIDField(
                    db_comment="Client nonce of a check-in", primary_key=True, serialize=False)),
                ("window_opens_at", models.DateTimeField(
                    db_comment="The window of the check-in that used it")),
            ],
            options={
                "db_table": "supervision_checkin_submission",
                "db_table_comment": "Client nonces of the check-ins stored: a nonce is used once",
                "constraints": [models.UniqueConstraint(
                    fields=("submission_id", "window_opens_at"),
                    name="supervision_submission_window")],
            },
        ),
        migrations.AddField(
            model_name="departure",
            name="checkin_window_opens_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True,
                db_comment="The window of the check-in: with checkin_id, the key of the check-in"),
        ),
        migrations.RunPython(_fill, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="checkin",
            name="submission_id",
            field=models.UUIDField(
                unique=True,
                db_comment="Client nonce: replays are refused (supervision_checkin_submission)"),
        ),
        migrations.AlterField(
            model_name="review",
            name="window_opens_at",
            field=models.DateTimeField(db_comment="The window; the check-in's, if any"),
        ),
        # The state only: SQLite keeps its foreign keys (its table is not partitioned); on
        # PostgreSQL `partition` replaces them by composite ones.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="departure",
                    name="checkin",
                    field=models.ForeignKey(
                        blank=True, db_constraint=False, null=True,
                        on_delete=django.db.models.deletion.PROTECT, related_name="+",
                        to="supervision.checkin"),
                ),
                migrations.AlterField(
                    model_name="review",
                    name="checkin",
                    field=models.ForeignKey(
                        blank=True, db_constraint=False, null=True,
                        on_delete=django.db.models.deletion.PROTECT, related_name="reviews",
                        to="supervision.checkin"),
                ),
            ],
        ),
        parts.rebuild_step(_rebuild),
    ]
