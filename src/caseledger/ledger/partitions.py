"""Monthly partitions of `ledger_event` on PostgreSQL (SQLite keeps one plain table).

Since ledger migration 0007 the table is `PARTITION BY RANGE (time)`: one partition per UTC
month, named `ledger_event_yYYYYmMM`, and a DEFAULT partition (`ledger_event_default`). The
mechanism is `core/partitions.py`, shared with the check-ins; this module names the ledger's
table and keeps the ledger's calls.

Every partition carries the ledger's append-only triggers: the row trigger refusing UPDATE and
DELETE is the parent's, cloned by PostgreSQL to each partition; TRUNCATE triggers are not
cloned (a statement trigger fires only for the table named), so each partition gets its own.
Moving events out of the default partition keeps their ids, bytes and hashes (the verifier
reads events by id, so the chain is untouched).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.backends.base.base import BaseDatabaseWrapper

from caseledger.core import partitions as core
from caseledger.core.partitions import (  # noqa: F401  (the ledger's names for them)
    Partition,
    PartitionRefused,
    add_months,
    mirror_grants,
    month_of,
)

TABLE = "ledger_event"

TRUNCATE_TRIGGER = """
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""

EVENTS = core.register(core.Monthly(
    table=TABLE,
    column="time",
    rows="events",
    month_comment="Append-only. Ledger events of {month} (UTC)",
    default_comment="Append-only. Events of months without their own partition "
    "(should stay empty)",
    lock_key=0x6C65_6467_7061_7274,  # "ledgpart"
    check_id="ledger.W001",
    truncate_trigger=TRUNCATE_TRIGGER,
))
DEFAULT_PARTITION = EVENTS.default


def partition_name(month: date) -> str:
    return EVENTS.name(month)


def is_partitioned(connection: BaseDatabaseWrapper) -> bool:
    """Whether `ledger_event` is a partitioned table here (PostgreSQL, after 0007)."""
    return core.is_partitioned(connection, EVENTS)


def create_partition(cursor: Any, month: date | None) -> str:
    return core.create_partition(cursor, EVENTS, month)


def ensure_partitions(
    months_ahead: int = 3,
    *,
    since: date | datetime | None = None,
    move: bool = False,
    using: str = DEFAULT_DB_ALIAS,
) -> list[str]:
    """`core.partitions.ensure_partitions` for the ledger's events."""
    return core.ensure_partitions(EVENTS, months_ahead, since=since, move=move, using=using)


def partitions(using: str = DEFAULT_DB_ALIAS) -> list[Partition]:
    return core.partitions(EVENTS, using=using)


def missing_months(months_ahead: int = 1, using: str = DEFAULT_DB_ALIAS) -> list[date]:
    return core.missing_months(EVENTS, months_ahead, using=using)
