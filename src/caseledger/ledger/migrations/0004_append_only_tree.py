"""The Merkle nodes and checkpoints are append-only too (see 0002)."""

from django.db import migrations

from caseledger.core.migration_ops import PostgresOnlySQL

from . import _append_only as sql


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_merkle_nodes_checkpoints")]

    operations = [
        PostgresOnlySQL(sql.TRIGGERS.format(table=t), sql.DROP.format(table=t))
        for t in ("ledger_node", "ledger_checkpoint")
    ]
