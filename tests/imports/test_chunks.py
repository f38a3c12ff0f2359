"""A file that spans several chunks: each chunk is one transaction with its persons, their
events and its quarantined rows; bad rows anywhere in the file are quarantined, exactly them,
and the events of the batch verify with `caseledger ledger verify`."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from caseledger.imports.models import ImportBatch, ImportedRecord, QuarantinedRow
from caseledger.imports.services import batches
from caseledger.ledger.models import Event, EventSubject
from caseledger.ledger.services import integrate_pending
from caseledger.people.models import Person
from tests.conftest import last_event_id

from .test_persons import BAD, GOOD

CHUNK = 4


def _good(i: int) -> list[str]:
    """A good row of its own (external id, A-number and phone unique to `i`)."""
    row = list(GOOD[i % len(GOOD)])
    row[0] = f"C-{i}"
    row[5] = f"A7{i:08d}" if row[5] else ""
    return row


@pytest.fixture
def mixed(make_person, write_csv):
    """Good rows with the bad ones spread among them, over several chunks of CHUNK rows;
    returns the file and {line: reason} of the bad rows."""
    make_person("officer_east", "Ana", "Ramirez", a_number="A300000001")  # already recorded
    # BAD repeats P-1 (GOOD[0]) and its A-number: those rows are duplicates of line 2.
    rows, bad, good = [GOOD[0]], {}, 1
    for i, (row, reason) in enumerate(BAD):
        for _ in range(1 + i % 3):  # 1 to 3 good rows before each bad one
            rows.append(_good(good))
            good += 1
        rows.append(row)
        bad[len(rows) + 1] = str(reason)  # line numbers count the header as line 1
    rows.append(_good(good))
    return write_csv("persons", rows), bad, good + 1


def test_bad_rows_across_chunks_are_quarantined_exactly(users, mixed, run_import,
                                                        monkeypatch):
    monkeypatch.setattr(batches, "CHUNK_ROWS", CHUNK)
    path, bad, good = mixed
    mark = last_event_id()
    run_import(path, "persons")

    batch = ImportBatch.objects.get()
    quarantined = dict(QuarantinedRow.objects.filter(batch=batch).values_list("line", "reason"))
    assert quarantined == bad
    assert (batch.created, batch.quarantined) == (good, len(bad))
    assert ImportedRecord.objects.filter(first_batch=batch).count() == good
    events = Event.objects.filter(id__gt=mark).exclude(action="import_batch")
    persons = set(ImportedRecord.objects.values_list("record_id", flat=True))
    assert events.count() == 3 * good
    assert {e.subject_id for e in events} == persons
    assert not EventSubject.objects.filter(event__in=events).exists()
    assert Person.objects.count() == good + 1


def test_events_of_an_imported_batch_verify(users, mixed, run_import, monkeypatch):
    monkeypatch.setattr(batches, "CHUNK_ROWS", CHUNK)
    run_import(mixed[0], "persons")
    integrate_pending()

    out = io.StringIO()
    call_command("ledger", "verify", "--quiet", stdout=out)
    assert out.getvalue().startswith("ledger intact: ")  # a failure raises CommandError
