"""On PostgreSQL, `ledger_event` becomes a table partitioned by month of `time`.

PostgreSQL requires every unique constraint of a partitioned table to hold the partition key,
so the keys become (id, time) and (uuid, time). Nothing depends on the narrower forms:
- `id` stays the key Django knows (`Event.objects.get(pk=...)`, `Entry.event`): ids come from
  one sequence, so no two events share one; only the database's guarantee is now (id, time).
- `uuid` is random (uuid4, made by `record_event`), each event's uuid is in its leaf, and the
  entry that places an event is unique per event (`ledger_entry.event_id`), so a repeated uuid
  would have to be forged, and the verifier re-encodes every placed event from its row.
- A foreign key cannot point at a partitioned table's (id) alone, so `ledger_event_subject`
  loses its database constraint on `event_id` (the model keeps the relation,
  `db_constraint=False`). The rows stay covered: `caseledger ledger verify` checks that the
  subject rows of every placed event are exactly the subjects in its hashed leaf.

The rows are copied into the new table under an exclusive lock (writers wait), the id
sequence continues where it was, the secondary indexes are built again with the same
definitions after the copy, the append-only triggers are put on the parent (the row trigger
is cloned to every partition; each partition gets its own TRUNCATE trigger) and the grants of
the old table are given to the new one, its sequence and its partitions. Partitions are made
for every month that has events and from the current month to three months ahead, plus a
DEFAULT partition. Reversible (back to one plain table with its foreign key). SQLite: nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

from caseledger.core import clock
from caseledger.core import partitions as core_parts
from caseledger.ledger import partitions as parts

from . import _append_only as sql

OLD = "ledger_event_old"
SUBJECT_FK = "ledger_event_subject_event_id_be4d0414_fk_ledger_event_id"


def _one(cursor: Any, statement: str, params: list | None = None) -> Any:
    cursor.execute(statement, params or [])
    row = cursor.fetchone()
    return row[0] if row else None


def _rebuild(cursor: Any, *, partitioned: bool) -> None:
    """Replace `ledger_event` by a copy of itself, partitioned by month or plain."""
    run = cursor.execute
    run("LOCK TABLE ledger_event IN ACCESS EXCLUSIVE MODE")
    sequence = _one(cursor, "SELECT pg_get_serial_sequence('ledger_event', 'id')")
    run(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608
    last_value, is_called = cursor.fetchone()
    comment = _one(cursor, "SELECT obj_description('ledger_event'::regclass, 'pg_class')")
    indexes = core_parts.secondary_indexes(cursor, "ledger_event")
    core_parts.drop_references(cursor, "ledger_event")  # ledger_event_subject's
    run(f"ALTER TABLE ledger_event RENAME TO {OLD}")
    run(f"ALTER SEQUENCE {sequence} RENAME TO {OLD}_id_seq")
    run(
        f"CREATE TABLE ledger_event (LIKE {OLD} INCLUDING COMMENTS INCLUDING IDENTITY "
        "INCLUDING STORAGE INCLUDING COMPRESSION)"
        + (' PARTITION BY RANGE ("time")' if partitioned else "")
    )
    parts.mirror_grants(cursor, OLD, "ledger_event")
    parts.mirror_grants(cursor, f"{OLD}_id_seq",
                        _one(cursor, "SELECT pg_get_serial_sequence('ledger_event', 'id')"))
    if partitioned:
        run(f"SELECT DISTINCT date_trunc('month', \"time\" AT TIME ZONE 'UTC')::date FROM {OLD}")  # noqa: S608
        months = {row[0] for row in cursor.fetchall()}
        current = parts.month_of(clock.now())
        months |= {parts.add_months(current, n) for n in range(4)}
        for month in sorted(months):
            parts.create_partition(cursor, month)
        parts.create_partition(cursor, None)
    run(f"INSERT INTO ledger_event SELECT * FROM {OLD}")  # noqa: S608
    run(f"DROP TABLE {OLD}")
    key = '"id", "time"' if partitioned else '"id"'
    unique = '"uuid", "time"' if partitioned else '"uuid"'
    run(f"ALTER TABLE ledger_event ADD CONSTRAINT ledger_event_pkey PRIMARY KEY ({key})")
    run(f"ALTER TABLE ledger_event ADD CONSTRAINT ledger_event_uuid_key UNIQUE ({unique})")
    for definition in indexes:  # as read before the rename
        run(definition)
    run("SELECT setval(pg_get_serial_sequence('ledger_event', 'id'), %s, %s)",
        [last_value, is_called])
    run(sql.TRIGGERS.format(table="ledger_event"))
    run("COMMENT ON TABLE ledger_event IS %s", [comment or "Append-only access and change events"])
    if not partitioned:
        run(
            f"ALTER TABLE ledger_event_subject ADD CONSTRAINT {SUBJECT_FK} FOREIGN KEY "
            "(event_id) REFERENCES ledger_event (id) DEFERRABLE INITIALLY DEFERRED"
        )
    run("ANALYZE ledger_event")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0006_event_subjects")]

    operations = [
        # The state only: SQLite keeps its foreign key (its table is not partitioned); on
        # PostgreSQL `partition` drops it.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="eventsubject",
                    name="event",
                    field=models.ForeignKey(
                        db_comment="The search or list event",
                        db_constraint=False,
                        on_delete=models.PROTECT,
                        related_name="subject_rows",
                        to="ledger.event",
                    ),
                ),
            ],
        ),
        core_parts.rebuild_step(_rebuild),
    ]
