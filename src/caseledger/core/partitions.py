"""Tables partitioned by month on PostgreSQL (SQLite keeps plain tables).

A table partitioned by `RANGE (column)` has one partition per UTC month, named
`<table>_yYYYYmMM`, and a DEFAULT partition (`<table>_default`) that catches a row of a month
that has no partition yet, so a write is never refused for that. Each such table is described
by a `Monthly` and registered by its app (`register`, in `AppConfig.ready`); `caseledger
migrate` (post_migrate), `caseledger ledger partitions` and the system check go through the
registry. Two are registered: the ledger's events (`ledger_event` by `time`) and the
check-ins (`supervision_checkin` by `window_opens_at`).

`ensure_partitions` creates the months that are missing, from the current month (or `since`)
to `months_ahead` months later. Creating a partition needs the parent's owner: the
application role cannot, and should not. Each partition gets exactly the parent's grants, so a
role's rights on a partition are never wider than on the table itself; a table whose rows are
append-only (the ledger) gives each partition its own TRUNCATE trigger (statement triggers are
not cloned; row triggers and indexes are).

A month that already has rows in the default partition is not created silently: creating it
would make PostgreSQL refuse (the rows belong to the new range). `ensure_partitions` refuses
with `PartitionRefused`, naming the month and the count, unless `move=True`: then the rows are
moved in one transaction, under a lock that stops writers meanwhile, with every column
unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, migrations, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from caseledger.core import clock


class PartitionRefused(Exception):
    """A partition could not be created as asked (rows of its month sit in the default)."""


@dataclass(frozen=True)
class Monthly:
    """A table partitioned by month of one of its timestamp columns."""

    table: str
    column: str
    rows: str  # what its rows are called in messages: "events", "check-ins"
    month_comment: str  # the comment of a month's partition; {month} is YYYY-MM
    default_comment: str
    lock_key: int  # the advisory lock that serialises its partition maintenance
    check_id: str  # the id of the system check's warning
    truncate_trigger: str | None = None  # SQL ({table}) for append-only tables, else None

    @property
    def default(self) -> str:
        return f"{self.table}_default"

    def name(self, month: date) -> str:
        return f"{self.table}_y{month.year:04d}m{month.month:02d}"


@dataclass(frozen=True)
class Partition:
    name: str
    month: date | None  # None: the default partition
    rows: int


_REGISTRY: dict[str, Monthly] = {}


def register(spec: Monthly) -> Monthly:
    _REGISTRY[spec.table] = spec
    return spec


def registered() -> list[Monthly]:
    """The partitioned tables, in the order their apps registered them."""
    return list(_REGISTRY.values())


def month_of(moment: date | datetime) -> date:
    """The first day of the UTC month of `moment`."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return date(moment.year, moment.month, 1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def bound(month: date) -> str:
    """A month's first instant as an SQL literal (UTC)."""
    return f"'{month.isoformat()} 00:00:00+00'"


def is_partitioned(connection: BaseDatabaseWrapper, spec: Monthly) -> bool:
    """Whether the table is a partitioned table here (PostgreSQL, after its migration)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [spec.table])
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


def create_partition(cursor: Any, spec: Monthly, month: date | None) -> str:
    """One partition (a month, or the default for None) with its comment, the parent's
    grants and, for an append-only table, its TRUNCATE trigger. Row triggers and indexes come
    from the parent. Raises if rows of that month are in the default partition."""
    if month is None:
        name, bounds, comment = spec.default, "DEFAULT", spec.default_comment
    else:
        name = spec.name(month)
        bounds = f"FOR VALUES FROM ({bound(month)}) TO ({bound(add_months(month, 1))})"
        comment = spec.month_comment.format(month=f"{month:%Y-%m}")
    run = cursor.execute
    run(f"CREATE TABLE {name} PARTITION OF {spec.table} {bounds}")
    if spec.truncate_trigger:
        run(spec.truncate_trigger.format(table=name))
    run(f"COMMENT ON TABLE {name} IS %s", [comment])
    mirror_grants(cursor, spec.table, name)
    return name


def existing(cursor: Any, spec: Monthly) -> set[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass",
        [spec.table],
    )
    return {row[0] for row in cursor.fetchall()}


def _month_range(spec: Monthly, month: date) -> str:
    return (f'"{spec.column}" >= {bound(month)} '
            f'AND "{spec.column}" < {bound(add_months(month, 1))}')


def _in_default(cursor: Any, spec: Monthly, month: date) -> int:
    cursor.execute(f"SELECT count(*) FROM {spec.default} WHERE {_month_range(spec, month)}")  # noqa: S608
    return cursor.fetchone()[0]


def _move_out_of_default(cursor: Any, spec: Monthly, month: date) -> str:
    """Create `month`'s partition and move its rows out of the default, in the caller's
    transaction: writers wait (ACCESS EXCLUSIVE on the table) until it commits, so no row can
    slip into the default between the copy and the removal. The default is detached while its
    rows are removed (a detached table has no cloned row trigger, which an append-only table
    has) and attached again; the moved rows keep every column. A partition that rows of other
    tables reference cannot be detached, so the foreign keys that reference the table (a
    review's check-in) are dropped meanwhile and made again, checked, before the commit."""
    run = cursor.execute
    where = _month_range(spec, month)
    run(f"LOCK TABLE {spec.table} IN ACCESS EXCLUSIVE MODE")
    run(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND confrelid = %s::regclass ORDER BY 1, 2",
        [spec.table],
    )
    references = cursor.fetchall()
    for other, constraint, _definition in references:
        run(f'ALTER TABLE {other} DROP CONSTRAINT "{constraint}"')
    run(f"ALTER TABLE {spec.table} DETACH PARTITION {spec.default}")
    name = create_partition(cursor, spec, month)
    run(f"INSERT INTO {spec.table} SELECT * FROM {spec.default} WHERE {where}")  # noqa: S608
    run(f"DELETE FROM {spec.default} WHERE {where}")  # noqa: S608
    # the moved rows' own deferred checks (a check-in's nonce) run now: a table with pending
    # trigger events cannot be altered
    run("SET CONSTRAINTS ALL IMMEDIATE")
    run(f"ALTER TABLE {spec.table} ATTACH PARTITION {spec.default} DEFAULT")
    for other, constraint, definition in references:
        run(f'ALTER TABLE {other} ADD CONSTRAINT "{constraint}" {definition}')
    return name


def months_for(months_ahead: int, since: date | datetime | None = None) -> list[date]:
    """The months from `since`'s (default: the current one) to `months_ahead` after the
    current month."""
    current = month_of(clock.now())
    month = min(month_of(since), current) if since else current
    months = []
    while month <= add_months(current, months_ahead):
        months.append(month)
        month = add_months(month, 1)
    return months


def ensure_partitions(
    spec: Monthly,
    months_ahead: int = 3,
    *,
    since: date | datetime | None = None,
    move: bool = False,
    using: str = DEFAULT_DB_ALIAS,
) -> list[str]:
    """Create the monthly partitions of `spec` missing from `since`'s month (default: the
    current one) to `months_ahead` months after the current month, and the default partition
    if it is missing. Idempotent; returns the names created. Nothing on SQLite. Every
    partition is left with exactly the parent's grants (`mirror_grants`).

    Refuses (`PartitionRefused`, nothing created) when the default partition holds rows of a
    month to create, unless `move`, which moves them (see `_move_out_of_default`)."""
    connection = connections[using]
    if not is_partitioned(connection, spec):
        return []
    months = months_for(months_ahead, since)
    created: list[str] = []
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [spec.lock_key])
        present = existing(cursor, spec)
        if spec.default not in present:
            created.append(create_partition(cursor, spec, None))
        todo = [m for m in months if spec.name(m) not in present]
        stranded = {m: n for m in todo if (n := _in_default(cursor, spec, m))}
        if stranded and not move:
            listed = ", ".join(f"{m:%Y-%m} ({n} {spec.rows})" for m, n in stranded.items())
            raise PartitionRefused(
                f"the default partition of {spec.table} holds {spec.rows} of months to be "
                f"partitioned: {listed}. Nothing was created. Move them into their own "
                "partitions with `caseledger ledger partitions --move-default` (as the "
                "tables' owner)."
            )
        for m in todo:
            created.append(_move_out_of_default(cursor, spec, m) if m in stranded
                           else create_partition(cursor, spec, m))
        for name in present:  # grants given since (say, ON ALL TABLES) follow the parent's
            mirror_grants(cursor, spec.table, name)
    return created


def partitions(spec: Monthly, using: str = DEFAULT_DB_ALIAS) -> list[Partition]:
    """The partitions of `spec` in month order (the default last), with exact row counts
    (one count per partition: seconds at 10^7 rows). Empty on SQLite."""
    connection = connections[using]
    if not is_partitioned(connection, spec):
        return []
    found = []
    with connection.cursor() as cursor:
        for name in sorted(existing(cursor, spec)):
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(name)}")  # noqa: S608
            rows = cursor.fetchone()[0]
            month = None
            if name != spec.default:
                stamp = name.removeprefix(f"{spec.table}_y")
                month = date(int(stamp[:4]), int(stamp[5:7]), 1)
            found.append(Partition(name, month, rows))
    return sorted(found, key=lambda p: (p.month is None, p.month or date.min))


def missing_months(spec: Monthly, months_ahead: int = 1,
                   using: str = DEFAULT_DB_ALIAS) -> list[date]:
    """The months from the current one to `months_ahead` later without a partition (for the
    system check). Empty on SQLite or before the table's partitioning migration."""
    connection = connections[using]
    if not is_partitioned(connection, spec):
        return []
    current = month_of(clock.now())
    with connection.cursor() as cursor:
        present = existing(cursor, spec)
    wanted = [add_months(current, n) for n in range(months_ahead + 1)]
    return [m for m in wanted if spec.name(m) not in present]


def ensure_after_migrate(spec: Monthly) -> Callable[..., None]:
    """A post_migrate receiver: after `migrate` (and a test flush), `spec`'s monthly partitions
    from this month to three months ahead exist (PostgreSQL; nothing on SQLite). DDL, not
    audit: no event is written. A refusal (rows of a month waiting in the default partition)
    does not undo the migration: it is printed, and the system check and `caseledger ledger
    partitions` say what to do."""

    def receiver(sender: Any, using: str = DEFAULT_DB_ALIAS, verbosity: int = 1,
                 **kwargs: Any) -> None:
        import sys

        try:
            created = ensure_partitions(spec, using=using)
        except PartitionRefused as exc:
            sys.stderr.write(f"{spec.table} partitions: {exc}\n")
            return
        if created and verbosity >= 1:
            sys.stdout.write(f"  {spec.table} partitions created: {', '.join(created)}\n")

    return receiver


# --- for the migrations that partition a table -----------------------------------------------


def secondary_indexes(cursor: Any, table: str) -> list[str]:
    """The definitions of `table`'s indexes that back no constraint (made again after a
    rebuild; a partitioned parent's read `ON ONLY`, which a plain table does not take)."""
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = "
        "%s::regclass AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        [table],
    )
    return [row[0].replace(" ON ONLY ", " ON ", 1) for row in cursor.fetchall()]


def drop_references(cursor: Any, table: str) -> None:
    """Drop the foreign keys of other tables that reference `table`, whatever their names."""
    cursor.execute(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint "
        "WHERE contype = 'f' AND confrelid = %s::regclass",
        [table],
    )
    for other, name in cursor.fetchall():
        cursor.execute(f'ALTER TABLE {other} DROP CONSTRAINT "{name}"')


def rebuild_step(rebuild: Callable[..., None]) -> migrations.RunPython:
    """A migration step calling `rebuild(cursor, partitioned=True)` forwards and
    `partitioned=False` backwards, on PostgreSQL only (SQLite keeps plain tables)."""

    def run(partitioned: bool) -> Callable[[Any, Any], None]:
        def step(apps: Any, schema_editor: Any) -> None:
            if schema_editor.connection.vendor == "postgresql":
                with schema_editor.connection.cursor() as cursor:
                    rebuild(cursor, partitioned=partitioned)

        return step

    return migrations.RunPython(run(True), run(False), elidable=False)


def months_with_rows(cursor: Any, table: str, column: str) -> set[date]:
    """The UTC months that rows of `table` fall in (for a partitioning migration)."""
    cursor.execute(
        f"SELECT DISTINCT date_trunc('month', \"{column}\" AT TIME ZONE 'UTC')::date "  # noqa: S608
        f"FROM {table}"
    )
    return {row[0] for row in cursor.fetchall()}
