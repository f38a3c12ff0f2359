"""The ledger only grows, and any altered, removed or reordered event is caught."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import (
    DatabaseError,
    IntegrityError,
    InternalError,
    ProgrammingError,
    connection,
    transaction,
)

from caseledger.core.errors import LedgerUnavailable
from caseledger.ledger import encoding
from caseledger.ledger.models import Entry, Event
from caseledger.ledger.services import SYSTEM, integrate_pending, record_event
from caseledger.ledger.verify import verify_ledger
from caseledger.people.selectors import get_person
from tests.conftest import context

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def ledger(db):
    for i in range(12):
        record_event(
            actor=SYSTEM,
            action="read",
            category="identity",
            purpose="caseload",
            record_type="people.person",
            record_id=f"r{i}",
            detail={"n": i},
        )
    integrate_pending()
    return list(Entry.objects.order_by("position").select_related("event"))


LEDGER_TABLES = ("ledger_event", "ledger_entry", "ledger_node", "ledger_checkpoint")


@contextmanager
def bypass_protection():
    """What a database owner can do: switch the append-only triggers off (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            for table in LEDGER_TABLES:
                cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        try:
            yield
        finally:
            with connection.cursor() as cur:
                # The deferred foreign-key checks of the change (event subjects refer to
                # events) must run before the triggers can be switched back on.
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for table in LEDGER_TABLES:
                    cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    else:
        yield


def sql(statement: str, params: list | None = None) -> None:
    with bypass_protection(), connection.cursor() as cur:
        cur.execute(statement, params or [])


def test_intact_ledger_verifies(ledger):
    result = verify_ledger()
    assert result.ok, result.summary()
    assert result.entries == 12
    assert [e.position for e in ledger] == list(range(12))
    previous = encoding.CHAIN_START
    for entry in ledger:
        previous = encoding.chain_hash(previous, encoding.leaf_hash(bytes(entry.event.leaf)))
        assert bytes(entry.chain_hash) == previous
    assert result.head == previous.hex()


def test_leaf_is_canonical_and_holds_no_personal_text(ledger):
    event = ledger[3].event
    assert bytes(event.leaf) == encoding.canonical_bytes(encoding.event_fields(event))
    assert bytes(event.leaf_hash) == encoding.leaf_hash(bytes(event.leaf))
    assert bytes(event.leaf).startswith(b'{"action":"read"')


def test_command_reports_intact(ledger, capsys):
    call_command("ledger", "verify")
    assert "ledger intact: 12 entries" in capsys.readouterr().out


def test_altered_field_is_caught_at_its_position(ledger):
    sql("UPDATE ledger_event SET outcome = 'denied' WHERE id = %s", [ledger[5].event.id])
    result = verify_ledger()
    assert not result.ok and result.position == 5
    assert "altered" in result.problem
    with pytest.raises(CommandError, match="position 5"):
        call_command("ledger", "verify")


def test_consistently_rewritten_event_is_caught_by_the_chain(ledger):
    event = ledger[4].event
    event.outcome = "denied"
    leaf = encoding.canonical_bytes(encoding.event_fields(event))
    sql(
        "UPDATE ledger_event SET outcome = 'denied', leaf = %s, leaf_hash = %s WHERE id = %s",
        [leaf, encoding.leaf_hash(leaf), event.id],
    )
    result = verify_ledger()
    assert not result.ok and result.position == 4


def test_removed_event_is_caught(ledger):
    sql("DELETE FROM ledger_event WHERE id = %s", [ledger[7].event.id])
    result = verify_ledger()
    assert not result.ok and result.position == 7 and "removed" in result.problem


def test_removed_entry_is_caught(ledger):
    sql("DELETE FROM ledger_entry WHERE position = 2")
    result = verify_ledger()
    assert not result.ok and result.position == 2 and "missing" in result.problem


def test_reordered_events_are_caught(ledger):
    a, b = ledger[3], ledger[8]
    sql("UPDATE ledger_entry SET event_id = -1 WHERE position = %s", [a.position])
    sql("UPDATE ledger_entry SET event_id = %s WHERE position = %s", [a.event_id, b.position])
    sql("UPDATE ledger_entry SET event_id = %s WHERE position = %s", [b.event_id, a.position])
    sql(
        "UPDATE ledger_entry SET leaf_hash = %s WHERE position = %s",
        [bytes(b.leaf_hash), a.position],
    )
    sql(
        "UPDATE ledger_entry SET leaf_hash = %s WHERE position = %s",
        [bytes(a.leaf_hash), b.position],
    )
    result = verify_ledger()
    assert not result.ok and result.position == 3 and "chain" in result.problem


def test_orm_has_no_update_or_delete_path(ledger):
    event = ledger[0].event
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        Event.objects.filter(pk=event.pk).update(outcome="denied")
    with pytest.raises(TypeError):
        Event.objects.all().delete()
    with pytest.raises(TypeError):
        Entry.objects.all().delete()


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_event SET outcome = 'denied'",
        "DELETE FROM ledger_event",
        "UPDATE ledger_entry SET chain_hash = ''::bytea",
        "DELETE FROM ledger_entry",
    ],
)
def test_postgres_trigger_refuses_update_and_delete(ledger, statement):
    with pytest.raises((ProgrammingError, InternalError, DatabaseError), match="append-only"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(statement)
    assert verify_ledger().ok


@pytest.mark.postgres_only
@pytest.mark.parametrize("table", ["ledger_event", "ledger_entry"])
def test_postgres_trigger_refuses_truncate(ledger, table):
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL caseledger.allow_truncate = off")
            cur.execute(f"TRUNCATE {table} CASCADE")


def test_integration_places_each_event_once(db):
    for i in range(5):
        record_event(
            actor=SYSTEM, action="read", category="identity", purpose="caseload", record_id=str(i)
        )
    integrate_pending()
    integrate_pending()
    assert Entry.objects.count() == Event.objects.count() == 5
    with pytest.raises(IntegrityError), transaction.atomic():
        first = Entry.objects.get(position=0)
        Entry.objects.create(
            position=99,
            event_id=first.event_id,
            leaf_hash=first.leaf_hash,
            chain_hash=first.chain_hash,
            integrated_at=first.integrated_at,
        )


def test_detail_refuses_free_text_objects(db):
    with pytest.raises(TypeError):
        record_event(
            actor=SYSTEM,
            action="read",
            category="identity",
            purpose="caseload",
            detail={"blob": object()},
        )


def test_read_fails_closed_when_the_ledger_cannot_be_written(users, make_person):
    person = make_person("officer_east")

    def disk_full(execute, sql, params, many, context):
        # The database refuses the event's insert, whatever path writes it (the ledger
        # inserts without the model's save()).
        if "ledger_event" in sql and sql.lstrip().upper().startswith("INSERT"):
            raise DatabaseError("disk full")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(disk_full), pytest.raises(LedgerUnavailable):
        get_person(ctx=context(users["officer_east"]), person_id=person.pk)
