"""Trigram indexes for fuzzy name search on PostgreSQL (pg_trgm, in contrib)."""

from django.db import migrations

from caseledger.core.migration_ops import PostgresOnlySQL


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]

    operations = [
        PostgresOnlySQL("CREATE EXTENSION IF NOT EXISTS pg_trgm;", migrations.RunSQL.noop),
        PostgresOnlySQL(
            "CREATE INDEX IF NOT EXISTS people_name_search_key_trgm ON people_name "
            "USING gin (search_key gin_trgm_ops);"
            "CREATE INDEX IF NOT EXISTS people_name_skeleton_trgm ON people_name "
            "USING gin (skeleton gin_trgm_ops);",
            "DROP INDEX IF EXISTS people_name_search_key_trgm;"
            "DROP INDEX IF EXISTS people_name_skeleton_trgm;",
        ),
    ]
