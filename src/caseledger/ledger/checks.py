"""System check: next month's ledger partition exists (PostgreSQL)."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.db import DatabaseError


@checks.register("ledger", checks.Tags.database)
def next_month_partition(app_configs: Any = None, databases: Any = None,
                         **kwargs: Any) -> list[Any]:
    """Warn when this month's or next month's partition of `ledger_event` is missing: its
    events would go to the default partition, and creating the month later means moving
    them (`caseledger ledger partitions --move-default`)."""
    from .partitions import missing_months

    found = []
    for alias in databases or []:
        try:
            missing = missing_months(1, using=alias)
        except DatabaseError:  # not migrated yet
            continue
        if missing:
            found.append(checks.Warning(
                "No ledger partition for " + ", ".join(f"{m:%Y-%m}" for m in missing)
                + f" (database '{alias}'): its events would go to the default partition.",
                hint="Run `caseledger ledger partitions` as the tables' owner (monthly, or "
                "after every migrate).",
                id="ledger.W001",
            ))
    return found
