"""A search or list names every person it returned (one append-only subject row each, inside the
leaf), so each of them sees it in "who accessed my record" (issue 10, item 4)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from caseledger.access.history import access_history
from caseledger.disclosures import selectors as disclosure_selectors
from caseledger.disclosures import services as disclosures
from caseledger.ledger.models import Event, EventSubject
from caseledger.ledger.services import integrate_pending
from caseledger.ledger.verify import verify_ledger
from caseledger.people.models import Person
from caseledger.people.selectors import list_caseload, search_persons
from tests.conftest import context, last_event_id
from tests.disclosures.conftest import b7_input


def _history(users, who="participant"):
    rows, total = access_history(ctx=context(users[who]), page=1, per_page=1000)
    assert total == len(rows)
    return rows


def test_a_search_that_returned_the_person_shows_in_their_history(users, subject, make_person):
    other = make_person("officer_east", "Ana", "Ramirez")  # found by the same search
    mark = last_event_id()
    hits = search_persons(ctx=context(users["officer_east"]), query="Ana Ramirez")
    assert {p.pk for p, _ in hits} == {subject.pk, other.pk}
    search = Event.objects.get(id__gt=mark, action="search")
    assert search.subject_id is None  # many persons: none of them is "the" subject
    assert sorted(search.detail["subjects"]) == sorted([str(subject.pk), str(other.pk)])
    assert set(search.subject_rows.values_list("subject_id", flat=True)) == {
        subject.pk, other.pk
    }
    rows = _history(users)
    appearances = [e for e in rows if e.pk == search.pk]
    assert len(appearances) == 1
    assert appearances[0].actor_role == "case_officer" and appearances[0].office == "east"


def test_a_person_not_returned_does_not_see_the_search(users, subject, make_person):
    make_person("officer_east", "Zelda", "Quintero")
    mark = last_event_id()
    search_persons(ctx=context(users["officer_east"]), query="Zelda Quintero")
    search = Event.objects.get(id__gt=mark, action="search")
    assert str(subject.pk) not in search.detail.get("subjects", [])
    assert search.pk not in {e.pk for e in _history(users)}


def test_a_caseload_list_names_each_person_shown(users, subject, make_person):
    make_person("officer_east", "Luis", "Ortega")
    mark = last_event_id()
    rows, _total = list_caseload(ctx=context(users["officer_east"]), per_page=100)
    listing = Event.objects.get(id__gt=mark, action="list")
    assert set(listing.subject_rows.values_list("subject_id", flat=True)) == {
        r.person.pk for r in rows
    }
    assert listing.pk in {e.pk for e in _history(users, "participant")}


def test_an_empty_search_writes_no_subject_rows(users, subject):
    mark = last_event_id()
    search_persons(ctx=context(users["officer_east"]), query="Nobody Atall")
    search = Event.objects.get(id__gt=mark, action="search")
    assert "subjects" not in search.detail and not search.subject_rows.exists()


def test_a_withheld_disclosure_never_surfaces_through_a_list(users, subject, privacy2):
    req = disclosures.create_request(
        context(users["privacy"]), b7_input(subject, withhold_from_subject=True)
    )
    mark = last_event_id()
    rows, _total = disclosure_selectors.list_requests(context(privacy2))
    assert req.pk in {r.pk for r in rows}
    listing = Event.objects.get(id__gt=mark, action="list")
    assert not listing.subject_rows.filter(subject_id=subject.pk).exists()
    assert listing.pk not in {e.pk for e in _history(users)}


def test_verify_catches_a_subject_row_added_after_the_fact(users, subject, make_person):
    other = make_person("officer_east", "Rosa", "Delgado")
    mark = last_event_id()
    search_persons(ctx=context(users["officer_east"]), query="Ana Ramirez")
    integrate_pending()
    assert verify_ledger().ok
    search = Event.objects.get(id__gt=mark, action="search")
    # Someone with database access makes it look as if another person had been returned
    # (INSERT is allowed: the table is append-only, not read-only).
    EventSubject.objects.create(event=search, subject_id=other.pk, event_time=search.time)
    result = verify_ledger()
    assert not result.ok
    assert "subject row" in result.problem and result.event_uuid == str(search.uuid)


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    "statement", ["DELETE FROM ledger_event_subject", "UPDATE ledger_event_subject SET "
                  "subject_id = gen_random_uuid()"]
)
def test_subject_rows_cannot_be_changed_or_removed_on_postgres(users, subject, statement):
    search_persons(ctx=context(users["officer_east"]), query="Ana Ramirez")
    assert EventSubject.objects.exists()
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(statement)
    assert Person.objects.filter(pk=subject.pk).exists()


def test_subject_rows_carry_their_events_time_and_the_history_finds_them_by_it(
        users, subject, make_person):
    mark = last_event_id()
    search_persons(ctx=context(users["officer_east"]), query="Ana Ramirez")
    search = Event.objects.get(id__gt=mark, action="search")
    assert set(search.subject_rows.values_list("event_time", flat=True)) == {search.time}
    assert search.pk in {e.pk for e in _history(users)}


def _set_row_time(row: EventSubject, when) -> None:
    """What someone with the owner's rights could do (the row trigger refuses it otherwise)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE ledger_event_subject DISABLE TRIGGER "
                        "ledger_event_subject_no_update_delete")
        cur.execute("UPDATE ledger_event_subject SET event_time = %s WHERE id = %s",
                    [connection.ops.adapt_datetimefield_value(when), row.pk])
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE ledger_event_subject ENABLE TRIGGER "
                        "ledger_event_subject_no_update_delete")


def test_verify_catches_a_subject_row_whose_time_was_changed(users, subject):
    """A wrong time would hide the event from the person's history (it is found by (id,
    time)): the verifier reports it at the event."""
    from datetime import timedelta

    mark = last_event_id()
    search_persons(ctx=context(users["officer_east"]), query="Ana Ramirez")
    integrate_pending()
    assert verify_ledger().ok
    search = Event.objects.get(id__gt=mark, action="search")
    row = search.subject_rows.get(subject_id=subject.pk)
    _set_row_time(row, search.time - timedelta(days=40))
    assert search.pk not in {e.pk for e in _history(users)}
    result = verify_ledger()
    assert not result.ok and result.event_uuid == str(search.uuid)
    assert "event's time" in result.problem


def test_verify_catches_a_time_written_otherwise_that_the_history_would_not_match(
        users, subject):
    """SQLite keeps times as text, and the history matches a row to its event by that text:
    the same instant written another way (a 'T', an offset) would hide the event, so the
    verifier compares the rows as the history does. (PostgreSQL compares instants: a row can
    only differ from its event by another instant, the test above.)"""
    mark = last_event_id()
    search_persons(ctx=context(users["officer_east"]), query="Ana Ramirez")
    integrate_pending()
    search = Event.objects.get(id__gt=mark, action="search")
    row = search.subject_rows.get(subject_id=subject.pk)
    if connection.vendor == "sqlite":
        with connection.cursor() as cur:
            cur.execute("UPDATE ledger_event_subject SET event_time = "
                        "replace(event_time, ' ', 'T') || '+00:00' WHERE id = %s", [row.pk])
        assert EventSubject.objects.get(pk=row.pk).event_time == search.time  # same instant
    else:
        _set_row_time(row, search.time.replace(microsecond=(search.time.microsecond + 1)
                                               % 1_000_000))
    assert search.pk not in {e.pk for e in _history(users)}
    result = verify_ledger()
    assert not result.ok and result.event_uuid == str(search.uuid)
    assert "event's time" in result.problem
