"""`ledger_event` partitioned by month on PostgreSQL (migration 0007, ledger/partitions.py):
rows land in their month, the append-only triggers and the application role's grants hold on
the parent and on every partition, partitions are made ahead and a month whose events wait in
the default partition is refused or moved; the ORM, the bulk write path, export, verify and
proofs work as before (on SQLite too, where the table stays plain)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client

from caseledger.core import clock
from caseledger.ledger import checkpoints, partitions
from caseledger.ledger.checks import next_month_partition
from caseledger.ledger.export import export_ledger
from caseledger.ledger.models import Event, EventSubject
from caseledger.ledger.partitions import (
    DEFAULT_PARTITION,
    PartitionRefused,
    add_months,
    ensure_partitions,
    month_of,
    partition_name,
)
from caseledger.ledger.services import SYSTEM, integrate_pending, record_event, record_events
from caseledger.ledger.verify import verify_ledger
from caseledger_verify import cli as verify_cli
from tests.conftest import privileges

pytestmark = pytest.mark.django_db(transaction=False)

APP_ROLE = "caseledger_partitions_test_app"
LEDGER_TABLES = ("ledger_event", "ledger_event_subject", "ledger_entry", "ledger_node",
                 "ledger_checkpoint", "ledger_log_identity")


def this_month():
    return month_of(clock.now())


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Move the clock (the ledger's and the partitions') to a moment."""

    def move(moment: datetime) -> None:
        monkeypatch.setattr("caseledger.core.clock.now", lambda: moment)

    return move


def event(**detail: object) -> Event:
    return record_event(actor=SYSTEM, action="read", category="identity", purpose="caseload",
                        record_type="people.person", record_id="r", detail=detail)


def partition_of(event_id: int) -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT tableoid::regclass::text FROM ledger_event WHERE id = %s", [event_id])
        return cur.fetchone()[0]


def rows_in(table: str) -> int:
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
        return cur.fetchone()[0]


def month_partitions() -> set[str]:
    return {p.name for p in partitions.partitions()}


def mid(month) -> datetime:
    return datetime(month.year, month.month, 15, 12, tzinfo=UTC)


# --- the table ------------------------------------------------------------------------------


@pytest.mark.postgres_only
def test_table_is_partitioned_by_month_with_composite_keys():
    with connection.cursor() as cur:
        cur.execute("SELECT pg_get_partkeydef('ledger_event'::regclass)")
        assert cur.fetchone()[0] == 'RANGE ("time")'
        cur.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = 'ledger_event'::regclass AND contype IN ('p', 'u')")
        keys = dict(cur.fetchall())
        cur.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
                    "AND confrelid = 'ledger_event'::regclass")
        foreign_keys = cur.fetchone()[0]
    assert keys == {"ledger_event_pkey": 'PRIMARY KEY (id, "time")',
                    "ledger_event_uuid_key": 'UNIQUE (uuid, "time")'}
    assert foreign_keys == 0
    expected = {partition_name(add_months(this_month(), n)) for n in range(4)}
    assert expected | {DEFAULT_PARTITION} <= month_partitions()


@pytest.mark.postgres_only
def test_rows_land_in_their_months_partition(at):
    first = add_months(this_month(), -2)
    ensure_partitions(since=first)
    placed = {}
    for n in range(3):
        month = add_months(first, n)
        at(mid(month))
        placed[partition_name(month)] = event(n=n).pk
    assert {name: partition_of(pk) for name, pk in placed.items()} == {
        name: name for name in placed
    }


# --- append-only: triggers on the parent and on each partition -----------------------------


def _current_partition() -> str:
    return partition_name(this_month())


@pytest.mark.postgres_only
@pytest.mark.parametrize("table", ["ledger_event", "current", "default"])
@pytest.mark.parametrize("statement", ["UPDATE {t} SET outcome = 'denied'", "DELETE FROM {t}"])
def test_update_and_delete_are_refused_on_the_parent_and_partitions(statement, table, at):
    name = {"current": _current_partition(), "default": DEFAULT_PARTITION}.get(table, table)
    event()
    at(mid(add_months(this_month(), 30)))  # no partition: the default
    event()
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(statement.format(t=name))
    assert rows_in(name) >= 1


@pytest.mark.postgres_only
@pytest.mark.parametrize("table", ["ledger_event", "current", "default", "created later"])
def test_truncate_is_refused_on_the_parent_and_every_partition(table):
    event()
    if table == "created later":
        [name] = ensure_partitions(months_ahead=4)
    else:
        name = {"current": _current_partition(), "default": DEFAULT_PARTITION}.get(table, table)
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL caseledger.allow_truncate = off")
            cur.execute(f"TRUNCATE {name} CASCADE")
    assert rows_in("ledger_event") == 1


# --- the application role's grants (docs/DEPLOY.md "Database roles") ------------------------


@contextmanager
def as_role(role: str) -> Iterator[None]:
    with connection.cursor() as cur:
        cur.execute(f"SET ROLE {role}")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute("RESET ROLE")


@pytest.fixture
def app_role(db) -> str:
    """The application role as DEPLOY.md grants it (rolled back with the test)."""
    with connection.cursor() as cur:
        cur.execute(f"CREATE ROLE {APP_ROLE} NOLOGIN")
        cur.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
        cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                    f"TO {APP_ROLE}")
        cur.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
        cur.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {', '.join(LEDGER_TABLES)} "
                    f"FROM {APP_ROLE}")
    return APP_ROLE


@pytest.mark.postgres_only
def test_app_role_has_insert_and_select_only_on_the_parent_and_every_partition(app_role):
    created = ensure_partitions(months_ahead=5)  # the step after the grants; two new months
    assert len(created) == 2
    names = month_partitions()
    assert privileges(app_role, "ledger_event") == {"SELECT", "INSERT"}
    assert {name: privileges(app_role, name) for name in names} == {
        name: {"SELECT", "INSERT"} for name in names
    }


@pytest.mark.postgres_only
def test_app_role_writes_events_but_cannot_change_them(app_role):
    ensure_partitions()
    with as_role(app_role):
        written = event(n=1)
        with transaction.atomic():
            assert record_events([{"actor": SYSTEM, "action": "search", "category": "identity",
                                   "purpose": "caseload", "subjects": [written.uuid]}])
        assert Event.objects.get(pk=written.pk).uuid == written.uuid
        for statement in ("UPDATE ledger_event SET outcome = 'denied'",
                          f"UPDATE {_current_partition()} SET outcome = 'denied'",
                          f"DELETE FROM {_current_partition()}",
                          f"TRUNCATE {_current_partition()}",
                          f"ALTER TABLE {_current_partition()} DISABLE TRIGGER USER"):
            with pytest.raises(DatabaseError, match="permission denied|must be owner"):
                with transaction.atomic(), connection.cursor() as cur:
                    cur.execute(statement)
    assert partition_of(written.pk) == _current_partition()


# --- making partitions ahead; the default partition -----------------------------------------


@pytest.mark.postgres_only
def test_ensure_partitions_creates_the_months_ahead_once():
    ensure_partitions()  # the migration's three months ahead, of this month (a run may cross one)
    before = month_partitions()
    created = ensure_partitions(months_ahead=6)
    assert created == [partition_name(add_months(this_month(), n)) for n in (4, 5, 6)]
    assert ensure_partitions(months_ahead=6) == []
    assert month_partitions() == before | set(created)


@pytest.mark.postgres_only
def test_event_of_a_month_without_partition_waits_in_the_default_and_is_refused_then_moved(
    at, capsys
):
    far = add_months(this_month(), 8)
    at(mid(far))
    waiting = event(n=8)
    at(datetime.now(UTC))
    assert partition_of(waiting.pk) == DEFAULT_PARTITION
    with pytest.raises(PartitionRefused, match=f"{far:%Y-%m} \\(1 events\\)"):
        ensure_partitions(months_ahead=8)
    assert partition_name(add_months(this_month(), 4)) not in month_partitions()  # nothing made
    with pytest.raises(CommandError, match="--move-default"):
        call_command("ledger", "partitions", "--ahead", "8")
    call_command("ledger", "partitions", "--ahead", "8", "--move-default")
    out = capsys.readouterr().out
    assert partition_name(far) in out.splitlines()[0]
    assert partition_of(waiting.pk) == partition_name(far)
    assert rows_in(DEFAULT_PARTITION) == 0
    moved = Event.objects.get(pk=waiting.pk)
    assert (moved.uuid, bytes(moved.leaf)) == (waiting.uuid, bytes(waiting.leaf))
    integrate_pending()
    assert verify_ledger().ok
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL caseledger.allow_truncate = off")
            cur.execute(f"TRUNCATE {partition_name(far)}")


@pytest.mark.postgres_only
def test_system_check_warns_when_next_months_partition_is_missing(at):
    assert next_month_partition(databases=["default"]) == []
    at(mid(add_months(this_month(), 4)))  # next month is +5: not made yet
    warnings = {w.id: w.msg for w in next_month_partition(databases=["default"])}
    assert set(warnings) == {"ledger.W001", "supervision.W001"}  # the events, the check-ins
    assert "ledger_event" in warnings["ledger.W001"]
    assert "supervision_checkin" in warnings["supervision.W001"]
    assert all(f"{add_months(this_month(), 1):%Y-%m}" in msg for msg in warnings.values())


# --- the migration, both ways ---------------------------------------------------------------


@pytest.mark.postgres_only
def test_migration_keeps_rows_ids_sequence_grants_and_triggers_both_ways(app_role):
    migration = importlib.import_module("caseledger.ledger.migrations.0007_partition_events")
    written = [event(n=n).pk for n in range(3)]
    with connection.cursor() as cur:
        migration._rebuild(cur, partitioned=False)
        cur.execute("SELECT relkind FROM pg_class WHERE relname = 'ledger_event'")
        assert cur.fetchone()[0] == "r"
        cur.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
                    "AND confrelid = 'ledger_event'::regclass")
        assert cur.fetchone()[0] == 1  # the subject rows' foreign key is back
        assert privileges(app_role, "ledger_event") == {"SELECT", "INSERT"}
        migration._rebuild(cur, partitioned=True)
    assert privileges(app_role, "ledger_event") == {"SELECT", "INSERT"}
    assert privileges(app_role, _current_partition()) == {"SELECT", "INSERT"}
    assert list(Event.objects.filter(pk__in=written).values_list("pk", flat=True)
                .order_by("pk")) == written
    assert event().pk == written[-1] + 1  # the sequence continued
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("DELETE FROM ledger_event")
    integrate_pending()
    assert verify_ledger().ok


# --- the ORM and the auditor's tools, on either database ------------------------------------


def test_partitions_command_lists_or_says_there_is_nothing_to_do(capsys):
    call_command("ledger", "partitions")
    out = capsys.readouterr().out
    if connection.vendor == "postgresql":
        assert out.startswith("ledger_event created: none")
        assert "supervision_checkin created: none" in out
        assert partition_name(this_month()) in out and DEFAULT_PARTITION in out
    else:
        assert "not partitioned here (SQLite): nothing to do" in out
        assert ensure_partitions() == [] and partitions.partitions() == []


def test_orm_bulk_writes_and_export_work(tmp_path: Path):
    single = event(n=0)
    with transaction.atomic():
        bulk = record_events([{"actor": SYSTEM, "action": "search", "category": "identity",
                               "purpose": "caseload", "subjects": [single.uuid]}
                              for _ in range(3)])
    assert Event.objects.get(pk=single.pk).uuid == single.uuid
    assert set(Event.objects.filter(uuid__in=bulk).values_list("uuid", flat=True)) == set(bulk)
    rows = EventSubject.objects.filter(event__uuid__in=bulk)
    assert rows.count() == 3 and {r.subject_id for r in rows} == {single.uuid}
    integrate_pending()
    assert Event.objects.filter(entry__isnull=True).count() == 0
    entries, _signed = export_ledger(tmp_path / "export")
    assert entries == 4


def test_verify_and_inclusion_proof_across_three_months(at, tmp_path: Path,
                                                        ledger_signing_key: str, capsys):
    first = add_months(this_month(), -2)
    ensure_partitions(since=first)
    by_month = {}
    for n in range(3):
        month = add_months(first, n)
        for k in range(4):
            at(mid(month) + timedelta(hours=k))
            by_month.setdefault(month, []).append(event(n=n, k=k))
    at(datetime.now(UTC))
    integrate_pending()
    checkpoints.sign_checkpoint(force=True)
    call_command("ledger", "verify")
    assert "ledger intact: 12 entries" in capsys.readouterr().out
    if connection.vendor == "postgresql":
        assert {partition_of(e.pk) for e in by_month[first]} == {partition_name(first)}
    oldest = by_month[first][1]
    client = Client()
    (tmp_path / "cp").write_text(client.get("/api/v1/ledger/checkpoint").content.decode())
    response = client.get(f"/api/v1/ledger/proofs/inclusion?event={oldest.uuid}")
    assert response.status_code == 200 and response.json()["tree_size"] == 12
    (tmp_path / "proof.json").write_text(json.dumps(response.json()))
    (tmp_path / "key.pub").write_text(ledger_signing_key + "\n")
    assert verify_cli.main(["inclusion", str(tmp_path / "proof.json"), "--checkpoint",
                            str(tmp_path / "cp"), "--key", str(tmp_path / "key.pub"),
                            "--no-state"]) == 0
