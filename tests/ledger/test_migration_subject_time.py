"""Ledger migration 0010 gives the subject rows already written their event's time."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from caseledger.ledger.models import EventSubject
from caseledger.ledger.services import SYSTEM, integrate_pending, record_event
from caseledger.ledger.verify import verify_ledger

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("ledger", "0009_history_index_covers_role")
AFTER = ("ledger", "0010_subject_rows_carry_event_time")


def _migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def _columns() -> set[str]:
    with connection.cursor() as cur:
        return {c.name for c in connection.introspection.get_table_description(
            cur, "ledger_event_subject")}


def test_rows_written_before_get_their_events_time_and_verify():
    found = [uuid.uuid4() for _ in range(3)]
    searches = [record_event(actor=SYSTEM, action="search", category="identity",
                             purpose="caseload", subjects=found[: n + 1]) for n in range(3)]
    try:
        _migrate(BEFORE)
        assert "event_time" not in _columns()
        with connection.cursor() as cur:  # rows written by the code of migration 0009
            cur.execute("SELECT count(*) FROM ledger_event_subject")
            assert cur.fetchone()[0] == 6
    finally:
        _migrate(AFTER)
    assert "event_time" in _columns()
    for search in searches:
        times = set(EventSubject.objects.filter(event=search)
                    .values_list("event_time", flat=True))
        assert times == {search.time}
    integrate_pending()
    assert verify_ledger().ok


@pytest.mark.postgres_only
def test_the_append_only_trigger_is_on_again_and_an_orphan_row_stops_the_migration():
    record_event(actor=SYSTEM, action="search", category="identity", purpose="caseload",
                 subjects=[uuid.uuid4()])
    _migrate(BEFORE)
    trigger = "ledger_event_subject_no_update_delete"
    try:
        with connection.cursor() as cur:  # a row naming no event (no foreign key on PostgreSQL)
            cur.execute("INSERT INTO ledger_event_subject (event_id, subject_id) "
                        "VALUES (987654321, gen_random_uuid())")
        with pytest.raises(RuntimeError, match="1 subject row"):
            _migrate(AFTER)
        assert "event_time" not in _columns()  # rolled back, trigger state included
        with connection.cursor() as cur:
            cur.execute("SELECT tgenabled FROM pg_trigger WHERE tgname = %s", [trigger])
            assert cur.fetchone()[0] == "O"
            cur.execute(f"ALTER TABLE ledger_event_subject DISABLE TRIGGER {trigger}")
            cur.execute("DELETE FROM ledger_event_subject WHERE event_id = 987654321")
            cur.execute(f"ALTER TABLE ledger_event_subject ENABLE TRIGGER {trigger}")
    finally:
        _migrate(AFTER)
    with connection.cursor() as cur:
        cur.execute("SELECT tgenabled FROM pg_trigger WHERE tgname = %s", [trigger])
        assert cur.fetchone()[0] == "O"  # enabled again after a successful backfill
