from django.db import migrations, models

import caseledger.ledger.ids


class Migration(migrations.Migration):
    """New events get UUIDv7 ids carrying their time (`ledger.ids`). The ids are made in
    Python (`services`), so only the model's default changes: nothing in the database does
    (on SQLite an AlterField would rebuild the append-only table and lose its triggers)."""

    dependencies = [
        ("ledger", "0007_partition_events"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="uuid",
                    field=models.UUIDField(
                        db_comment="Public event id, part of the leaf bytes",
                        default=caseledger.ledger.ids.now_event_id,
                        editable=False,
                        unique=True,
                    ),
                ),
            ],
        ),
    ]
