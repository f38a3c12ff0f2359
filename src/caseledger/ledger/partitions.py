"""Monthly partitions of `ledger_event` on PostgreSQL (SQLite keeps one plain table).

Since ledger migration 0007 the table is `PARTITION BY RANGE (time)`: one partition per UTC
month, named `ledger_event_yYYYYmMM`, and a DEFAULT partition (`ledger_event_default`) that
catches an event of a month that has no partition yet, so a write is never refused for that.
`ensure_partitions` creates the months that are missing, from the current month (or `since`)
to `months_ahead` months later; `caseledger migrate` calls it (post_migrate) and so does
`caseledger ledger partitions`, which an operator runs monthly as the owner role (creating a
partition needs the parent's owner: the application role cannot, and should not).

Every partition carries the ledger's append-only triggers: the row trigger refusing UPDATE and
DELETE is the parent's, cloned by PostgreSQL to each partition; TRUNCATE triggers are not
cloned (a statement trigger fires only for the table named), so each partition gets its own.
Each partition gets the parent's grants, so a role's rights on a partition are never wider
than on the ledger itself (see docs/DEPLOY.md for the application role).

A month that already has events in the default partition is not created silently: creating
it would make PostgreSQL refuse (the rows belong to the new range). `ensure_partitions`
refuses with `PartitionRefused`, naming the month and the count, unless `move=True`: then the
rows are moved in one transaction, under a lock that stops writers meanwhile, with their ids,
bytes and hashes unchanged (the verifier reads events by id, so the chain is untouched).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from caseledger.core import clock

TABLE = "ledger_event"
DEFAULT_PARTITION = f"{TABLE}_default"
# Key of the advisory lock that serialises partition maintenance ("ledgpart").
LOCK_KEY = 0x6C65_6467_7061_7274

TRUNCATE_TRIGGER = """
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""


class PartitionRefused(Exception):
    """A partition could not be created as asked (events of its month sit in the default)."""


@dataclass(frozen=True)
class Partition:
    name: str
    month: date | None  # None: the default partition
    rows: int


def month_of(moment: date | datetime) -> date:
    """The first day of the UTC month of `moment`."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return date(moment.year, moment.month, 1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{TABLE}_y{month.year:04d}m{month.month:02d}"


def _bound(month: date) -> str:
    return f"'{month.isoformat()} 00:00:00+00'"


def is_partitioned(connection: BaseDatabaseWrapper) -> bool:
    """Whether `ledger_event` is a partitioned table here (PostgreSQL, after 0007)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


_ACL = """
    SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END,
           a.privilege_type, a.is_grantable
    FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
    LEFT JOIN pg_roles r ON r.oid = a.grantee
    WHERE c.oid = %s::regclass AND a.grantee <> c.relowner
"""


def _acl(cursor: Any, relation: str) -> set[tuple[str, str, bool]]:
    cursor.execute(_ACL, [relation])
    return {tuple(row) for row in cursor.fetchall()}


def mirror_grants(cursor: Any, source: str, target: str) -> None:
    """Give `target` exactly the privileges other roles hold on `source` (owners aside):
    what `target` grants beyond them (a `GRANT ... ON ALL TABLES`, default privileges) is
    revoked. Nothing is run when they already match."""
    wanted, present = _acl(cursor, source), _acl(cursor, target)
    if wanted == present:
        return
    for grantee in {row[0] for row in present}:
        cursor.execute(f"REVOKE ALL ON {target} FROM {grantee}")
    for grantee, privilege, grantable in sorted(wanted):
        option = " WITH GRANT OPTION" if grantable else ""
        cursor.execute(f"GRANT {privilege} ON {target} TO {grantee}{option}")


def create_partition(cursor: Any, month: date | None) -> str:
    """One partition (a month, or the default for None) with its TRUNCATE trigger, comment
    and the parent's grants. The UPDATE/DELETE row trigger and the indexes come from the
    parent. Raises if events of that month are in the default partition."""
    if month is None:
        name, bounds = DEFAULT_PARTITION, "DEFAULT"
        comment = "Events of months without their own partition (should stay empty)"
    else:
        name = partition_name(month)
        bounds = f"FOR VALUES FROM ({_bound(month)}) TO ({_bound(add_months(month, 1))})"
        comment = f"Ledger events of {month:%Y-%m} (UTC)"
    run = cursor.execute
    run(f"CREATE TABLE {name} PARTITION OF {TABLE} {bounds}")
    run(TRUNCATE_TRIGGER.format(table=name))
    run(f"COMMENT ON TABLE {name} IS %s", [f"Append-only. {comment}"])
    mirror_grants(cursor, TABLE, name)
    return name


def _existing(cursor: Any) -> set[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass",
        [TABLE],
    )
    return {row[0] for row in cursor.fetchall()}


def _in_default(cursor: Any, month: date) -> int:
    cursor.execute(
        f'SELECT count(*) FROM {DEFAULT_PARTITION} WHERE "time" >= {_bound(month)} '  # noqa: S608
        f'AND "time" < {_bound(add_months(month, 1))}'
    )
    return cursor.fetchone()[0]


def _move_out_of_default(cursor: Any, month: date) -> str:
    """Create `month`'s partition and move its events out of the default, in the caller's
    transaction: writers wait (ACCESS EXCLUSIVE on the ledger) until it commits, so no event
    can slip into the default between the copy and the removal. The default is detached
    while its rows are removed (a detached table has no cloned row trigger) and attached
    again; the moved rows keep every column, so the chain and the tree are unchanged."""
    run = cursor.execute
    lo, hi = _bound(month), _bound(add_months(month, 1))
    run(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
    run(f"ALTER TABLE {TABLE} DETACH PARTITION {DEFAULT_PARTITION}")
    name = create_partition(cursor, month)
    run(
        f"INSERT INTO {TABLE} SELECT * FROM {DEFAULT_PARTITION} "  # noqa: S608
        f'WHERE "time" >= {lo} AND "time" < {hi}'
    )
    run(f'DELETE FROM {DEFAULT_PARTITION} WHERE "time" >= {lo} AND "time" < {hi}')  # noqa: S608
    run(f"ALTER TABLE {TABLE} ATTACH PARTITION {DEFAULT_PARTITION} DEFAULT")
    return name


def ensure_partitions(
    months_ahead: int = 3,
    *,
    since: date | datetime | None = None,
    move: bool = False,
    using: str = DEFAULT_DB_ALIAS,
) -> list[str]:
    """Create the monthly partitions missing from `since`'s month (default: the current one)
    to `months_ahead` months after the current month, and the default partition if it is
    missing. Idempotent; returns the names created. Nothing on SQLite. Every partition is
    left with exactly the parent's grants (`mirror_grants`).

    Refuses (`PartitionRefused`, nothing created) when the default partition holds events of
    a month to create, unless `move`, which moves them (see `_move_out_of_default`)."""
    connection = connections[using]
    if not is_partitioned(connection):
        return []
    current = month_of(clock.now())
    first = min(month_of(since), current) if since else current
    months = []
    month = first
    while month <= add_months(current, months_ahead):
        months.append(month)
        month = add_months(month, 1)
    created: list[str] = []
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        existing = _existing(cursor)
        if DEFAULT_PARTITION not in existing:
            created.append(create_partition(cursor, None))
        todo = [m for m in months if partition_name(m) not in existing]
        stranded = {m: n for m in todo if (n := _in_default(cursor, m))}
        if stranded and not move:
            listed = ", ".join(f"{m:%Y-%m} ({n} events)" for m, n in stranded.items())
            raise PartitionRefused(
                f"the default partition holds events of months to be partitioned: {listed}. "
                "Nothing was created. Move them into their own partitions with "
                "`caseledger ledger partitions --move-default` (as the tables' owner)."
            )
        for m in todo:
            created.append(_move_out_of_default(cursor, m) if m in stranded
                           else create_partition(cursor, m))
        for name in existing:  # grants given since (say, ON ALL TABLES) follow the parent's
            mirror_grants(cursor, TABLE, name)
    return created


def partitions(using: str = DEFAULT_DB_ALIAS) -> list[Partition]:
    """The partitions of `ledger_event` in month order (the default last), with exact row
    counts (one count per partition: seconds at 10^7 events). Empty on SQLite."""
    connection = connections[using]
    if not is_partitioned(connection):
        return []
    found = []
    with connection.cursor() as cursor:
        for name in sorted(_existing(cursor)):
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(name)}")  # noqa: S608
            rows = cursor.fetchone()[0]
            month = None
            if name != DEFAULT_PARTITION:
                stamp = name.removeprefix(f"{TABLE}_y")
                month = date(int(stamp[:4]), int(stamp[5:7]), 1)
            found.append(Partition(name, month, rows))
    return sorted(found, key=lambda p: (p.month is None, p.month or date.min))


def missing_months(months_ahead: int = 1, using: str = DEFAULT_DB_ALIAS) -> list[date]:
    """The months from the current one to `months_ahead` later without a partition (for the
    system check). Empty on SQLite or before 0007."""
    connection = connections[using]
    if not is_partitioned(connection):
        return []
    current = month_of(clock.now())
    with connection.cursor() as cursor:
        existing = _existing(cursor)
    wanted = [add_months(current, n) for n in range(months_ahead + 1)]
    return [m for m in wanted if partition_name(m) not in existing]

