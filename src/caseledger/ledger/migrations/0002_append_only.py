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

FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND current_setting('caseledger.allow_truncate', true) = 'on'
       AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE')
    THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""

TRIGGERS = """
CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table};
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
"""


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
