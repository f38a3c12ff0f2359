"""On PostgreSQL, refuse UPDATE, DELETE and TRUNCATE on the ledger tables.

The application never issues them (the models refuse too); these triggers stop anyone else
who connects as the application. A database owner or superuser can still disable triggers:
that is why the ledger is also chained and (see the ledger docs) checkpointed outside the
database.

TRUNCATE is let through only for a role that owns the table *and* has set
`caseledger.allow_truncate = on` in its session: the test suite's flush between tests. An
owner can drop the triggers anyway, so this grants nobody anything new.
"""

from django.db import migrations

from caseledger.core.migration_ops import PostgresOnlySQL

from . import _append_only as sql

FUNCTION, TRIGGERS, DROP = sql.FUNCTION, sql.TRIGGERS, sql.DROP


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        PostgresOnlySQL(FUNCTION, "DROP FUNCTION IF EXISTS ledger_refuse_change() CASCADE;"),
        *[
            PostgresOnlySQL(TRIGGERS.format(table=t), DROP.format(table=t))
            for t in ("ledger_event", "ledger_entry")
        ],
        PostgresOnlySQL(
            "COMMENT ON TABLE ledger_event IS 'Append-only access and change events';"
            "COMMENT ON TABLE ledger_entry IS 'Position and chain hash of each integrated event';",
            migrations.RunSQL.noop,
        ),
    ]
