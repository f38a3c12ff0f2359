"""System check: this month's and next month's partitions exist (PostgreSQL), for every
table partitioned by month (`core.partitions`: the ledger's events, the check-ins)."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.db import DatabaseError


@checks.register("ledger", checks.Tags.database)
def next_month_partition(app_configs: Any = None, databases: Any = None,
                         **kwargs: Any) -> list[Any]:
    """Warn when this month's or next month's partition of a partitioned table is missing:
    its rows would go to the default partition, and creating the month later means moving
    them (`caseledger ledger partitions --move-default`)."""
    from caseledger.core.partitions import missing_months, registered

    found = []
    for alias in databases or []:
        for table in registered():
            try:
                missing = missing_months(table, 1, using=alias)
            except DatabaseError:  # not migrated yet
                continue
            if missing:
                found.append(checks.Warning(
                    f"No partition of {table.table} for "
                    + ", ".join(f"{m:%Y-%m}" for m in missing)
                    + f" (database '{alias}'): its {table.rows} would go to the default "
                    "partition.",
                    hint="Run `caseledger ledger partitions` as the tables' owner (monthly, or "
                    "after every migrate).",
                    id=table.check_id,
                ))
    return found
