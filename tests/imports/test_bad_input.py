"""Bad input gives a quarantine entry or a clear refusal, never an error or a half-written
batch, on both databases: malformed CSV, wrong types, duplicate A-numbers (in the file and
against the database), huge fields, NUL bytes, and rows spread over several chunks."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from caseledger.imports.models import ImportBatch, ImportedRecord, QuarantinedRow, Reason
from caseledger.imports.services import batches, import_file
from caseledger.imports.services.staging import StageTable
from caseledger.ledger.models import Event
from caseledger.people.models import Person
from tests.conftest import last_event_id

from .conftest import counts, csv_text
from .test_persons import GOOD


def person(external_id: str, given: str = "Ana", a_number: str = "", **values: str
           ) -> list[str]:
    """A persons row: a name, an A-number, and any other column by name."""
    from caseledger.imports.formats import COLUMNS

    row = dict.fromkeys(COLUMNS["persons"], "")
    row.update(external_id=external_id, given_names=given, family_names="Lopez",
               a_number=a_number, citizenship="MX", languages="es")
    row.update(values)
    return list(row.values())


def quarantine() -> dict[int, tuple[str, str]]:
    return {q.line: (q.reason, q.message) for q in QuarantinedRow.objects.all()}


def test_a_broken_quote_late_in_the_file_refuses_it_and_leaves_nothing(
    users, tmp_path, run_import
):
    rows = [person(f"P-{i}", a_number=f"A20000{i:04d}") for i in range(40)]
    text = csv_text("persons", rows) + 'P-99,"Ana,Lopez,,,,,,,,,,,,,\n'
    path = tmp_path / "broken.csv"
    path.write_text(text, encoding="utf-8")
    before = counts()

    with pytest.raises(CommandError, match="is not valid CSV at line 42"):
        run_import(path, "persons")

    assert counts() == before  # no batch, person, event or quarantine row: nothing staged


def test_values_of_the_wrong_type_are_quarantined_with_their_reason(users, write_csv,
                                                                     run_import):
    run_import(write_csv("persons", [
        person("P-1", date_of_birth="abc"),
        person("P-2", interpreter_needed="maybe"),
        person("P-3", a_number="12-34"),
        person("P-4", languages="123"),
        person("P-5", address_line1="1 Elm St", address_city="Newark",
               address_valid_from="2024-13-01"),
        person("P-6", phone="call me"),
        person("P-7"),
    ]), "persons")

    assert {line: reason for line, (reason, _) in quarantine().items()} == {
        2: Reason.INVALID_DATE,
        3: Reason.INVALID_VALUE,
        4: Reason.INVALID_A_NUMBER,
        5: Reason.UNKNOWN_CODE,
        6: Reason.INVALID_DATE,
        7: Reason.INVALID_CONTACT,
    }
    assert Person.objects.count() == 1
    assert ImportBatch.objects.get().created == 1


def test_a_number_repeated_in_the_file_and_taken_in_the_database(users, make_person,
                                                                 write_csv, run_import):
    make_person("officer_east", "Rosa", "Diaz", a_number="A300000009")
    run_import(write_csv("persons", [
        person("P-1", a_number="A300000001"),
        person("P-2", a_number="A-300-000-001"),  # the same A-number, written otherwise
        person("P-3", a_number="A300000002", date_of_birth="2023-02-30"),  # not created...
        person("P-4", a_number="A300000002"),  # ...so this one is
        person("P-5", a_number="A300000009"),  # recorded before the import
        person("P-6", a_number="300000009"),
    ]), "persons")

    found = quarantine()
    assert {line: reason for line, (reason, _) in found.items()} == {
        3: Reason.DUPLICATE,
        4: Reason.INVALID_DATE,
        6: Reason.ALREADY_EXISTS,
        7: Reason.ALREADY_EXISTS,
    }
    assert "A-number A300000001 is also on line 2 of this file" in found[3][1]
    assert "A-number A300000009 is already recorded for another person" in found[6][1]
    assert set(Person.objects.values_list("a_number", flat=True)) == {
        "A300000001", "A300000002", "A300000009"
    }
    assert dict(ImportedRecord.objects.values_list("external_id", "line")) == {
        "P-1": 2, "P-4": 5
    }


def test_a_huge_field_is_quarantined_by_its_size_without_echoing_it(users, write_csv,
                                                                    run_import):
    huge = "Q" * 300_000  # over the csv module's own limit of 128 KiB per field
    out = run_import(write_csv("persons", [
        person("P-1", given=huge),
        person("P-2", date_of_birth=huge),
        person("P-3"),
    ]), "persons")

    found = quarantine()
    # A column of the input model: its limit, in its words (never the value).
    assert found[2] == (Reason.INVALID_VALUE, "given_names: Too long: at most 200 characters.")
    assert found[3] == (Reason.INVALID_VALUE,
                        "date_of_birth is 300,000 characters long; at most 1000.")
    assert huge not in out and "QQQQQQQQ" not in out
    assert QuarantinedRow.objects.get(line=2).raw.count("Q") == 300_000  # kept as written
    assert Person.objects.count() == 1


def test_a_nul_byte_refuses_the_file_and_leaves_nothing(users, tmp_path, run_import):
    text = csv_text("persons", [GOOD[0], GOOD[1]])
    path = tmp_path / "nul.csv"
    path.write_bytes(text.encode("utf-8").replace(b"Oleksandr", b"Olek\x00sandr"))
    before = counts()

    with pytest.raises(CommandError, match="contains a NUL byte at byte offset"):
        run_import(path, "persons")

    assert counts() == before


def test_rows_over_several_chunks_are_decided_as_in_one(users, write_csv, monkeypatch):
    """Chunks of two rows: duplicates and claimed A-numbers are found across chunks, and the
    progress adds up to the rows."""
    monkeypatch.setattr(batches, "CHUNK_ROWS", 2)
    path = write_csv("persons", [
        person("P-1", a_number="A400000001"),
        person("P-2", a_number="A400000002"),
        person("P-3"),
        person("P-1", given="Other"),  # external_id of line 2
        person("P-5", a_number="A400000001"),  # A-number created on line 2
        "P-6,too,few",
        person("P-7", a_number="A400000002", date_of_birth="1899-01-01"),
    ])
    seen: list[int] = []

    result = import_file(path, kind="persons", user=users["officer_east"],
                         progress=seen.append)

    assert sum(seen) == result.rows == 7 and len(seen) == 4
    assert (result.created, result.unchanged) == (3, 0)
    assert {q.line: q.reason for q in result.quarantined} == {
        5: Reason.DUPLICATE, 6: Reason.DUPLICATE, 7: Reason.MALFORMED_ROW, 8: Reason.DUPLICATE
    }
    assert ImportBatch.objects.get().quarantined == 4


def test_a_dry_run_over_several_chunks_keeps_nothing(users, write_csv, monkeypatch):
    monkeypatch.setattr(batches, "CHUNK_ROWS", 2)
    path = write_csv("persons", [person(f"P-{i}", a_number=f"A50000000{i}") for i in range(5)]
                     + [person("P-9", a_number="A500000001")])
    before = counts()

    result = import_file(path, kind="persons", user=users["officer_east"], dry_run=True)

    assert (result.created, len(result.quarantined)) == (5, 1)
    assert result.quarantined[0].reason == Reason.DUPLICATE
    assert counts() == before


def test_an_a_number_taken_after_the_chunk_was_read_is_refused_row_by_row(
    users, make_person, write_csv, run_import, monkeypatch
):
    """Another writer records the A-number between the chunk's read and its write: the
    database refuses the set-wise write, the chunk goes row by row, and only that row is
    quarantined (with the service's own message)."""
    real_read = StageTable.read

    def read_then_race(self, after, size):
        chunk = real_read(self, after, size)
        if chunk:
            make_person("officer_east", "Rosa", "Diaz", a_number="A600000002")
        return chunk

    monkeypatch.setattr(StageTable, "read", read_then_race)
    mark = last_event_id()

    run_import(write_csv("persons", [person("P-1", a_number="A600000001"),
                                     person("P-2", a_number="A600000002"),
                                     person("P-3")]), "persons")

    batch = ImportBatch.objects.get()
    assert (batch.created, batch.quarantined) == (2, 1)
    reason, message = quarantine()[3]
    assert reason == Reason.ALREADY_EXISTS and "A600000002" in message
    imported = Event.objects.filter(id__gt=mark, action="import")
    assert imported.count() == 2
