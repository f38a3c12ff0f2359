"""Importing persons: good rows created through the services with their ledger events, bad
rows quarantined with the reason, re-import idempotent, dry run applies nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import DataError

from caseledger.accounts.models import CaseloadAssignment
from caseledger.imports.models import ImportBatch, ImportedRecord, QuarantinedRow, Reason
from caseledger.imports.services import batches
from caseledger.imports.services import persons as persons_services
from caseledger.ledger.models import Event
from caseledger.people.models import Person
from tests.conftest import last_event_id

from .conftest import counts

GOOD = [
    # external_id, given, family, full, dob, a_number, citizenship, languages, interpreter,
    # line1, city, region, postal, valid_from, phone, email
    ["P-1", "Maria", "Gonzalez", "", "1990-05-17", "A-123-456-789", "MX", "es", "true",
     "12 Main St", "Newark", "NJ", "07102", "2024-01-01", "(973) 555-0142", "maria@example.org"],
    ["P-2", "Oleksandr", "Kovalenko", "Олександр Коваленко", "1985-01-02", "A12345678",
     "UA", "uk;ru", "no", "", "", "", "", "", "", ""],
    ["P-3", "محمد", "الحسن", "", "", "", "SY;TR", "ar", "1",
     "12 Main St, Apt 4", "Paterson", "NJ", "07501", "2025-06-30", "+1 973 642 1234", ""],
]
BAD = [
    # (row, reason)
    (["P-4", "Ana", "Ruiz", "", "2023-02-30", "A200000001", "MX", "es", "false",
      "", "", "", "", "", "", ""], Reason.INVALID_DATE),
    (["P-5", "Luis", "Perez", "", "1980-01-01", "A12", "MX", "es", "false",
      "", "", "", "", "", "", ""], Reason.INVALID_A_NUMBER),
    (["P-6", "Rosa", "Diaz", "", "", "", "MX", "es", "false",
      "", "", "", "", "", "12345", ""], Reason.INVALID_CONTACT),
    (["P-7", "Jean", "Pierre", "", "", "", "HT", "fr", "false",
      "", "", "", "", "", "", "not-an-email"], Reason.INVALID_CONTACT),
    (GOOD[0], Reason.DUPLICATE),
    (["P-9", "Li", "Wei", "", "", "", "XX", "zh", "false",
      "", "", "", "", "", "", ""], Reason.UNKNOWN_CODE),
    ("P-10,Too,Few,,,,MX,es,false,,,,,,", Reason.MALFORMED_ROW),
    (["P-11", "Maria", "Gonzales", "", "1990-05-17", "A123456789", "MX", "es", "false",
      "", "", "", "", "", "", ""], Reason.DUPLICATE),
    (["P-17", "Ana", "Ramirez", "", "", "A300000001", "MX", "es", "false",
      "", "", "", "", "", "", ""], Reason.ALREADY_EXISTS),
    (["P-12", "Sam", "Okafor", "", "", "", "NG", "en", "maybe",
      "", "", "", "", "", "", ""], Reason.INVALID_VALUE),
    (["P-13", "", "", "", "", "", "MX", "es", "false",
      "", "", "", "", "", "", ""], Reason.MISSING_VALUE),
    (["P-14", "Ana", "Lopez", "", "", "", "MX", "es", "false",
      "5 Elm St", "", "", "", "", "", ""], Reason.MISSING_VALUE),
    (["P-15", "Ana", "Lopez", "", "2999-01-01", "", "MX", "es", "false",
      "", "", "", "", "", "", ""], Reason.INVALID_DATE),
    (["P-16", "Ana", "Lopez", "", "", "", "MX", "xx", "false",
      "", "", "", "", "", "", ""], Reason.UNKNOWN_CODE),
    (["", "Ana", "Lopez", "", "", "", "MX", "es", "false",
      "", "", "", "", "", "", ""], Reason.MISSING_VALUE),
]


def rows() -> list:
    # Lines: header 1, good rows 2-4, bad rows 5 on.
    return [*GOOD, *(row for row, _ in BAD)]


def expected_quarantine() -> dict[int, str]:
    return {len(GOOD) + 2 + i: str(reason) for i, (_, reason) in enumerate(BAD)}


@pytest.fixture
def persons_file(make_person, write_csv):
    make_person("officer_east", "Ana", "Ramirez", a_number="A300000001")  # already recorded
    return write_csv("persons", rows())


def test_good_rows_are_created_and_bad_rows_quarantined_with_reasons(
    users, persons_file, run_import
):
    mark = last_event_id()
    out = run_import(persons_file, "persons")

    batch = ImportBatch.objects.get()
    assert (batch.rows, batch.created, batch.unchanged, batch.quarantined) == (
        len(GOOD) + len(BAD),
        3,
        0,
        len(BAD),
    )
    assert batch.finished_at is not None
    assert batch.user == users["officer_east"]
    assert batch.file_name == "persons.csv" and len(batch.sha256) == 64

    persons = {
        r.external_id: Person.objects.get(pk=r.record_id) for r in ImportedRecord.objects.all()
    }
    assert Person.objects.count() == 1 + 3
    assert set(persons) == {"P-1", "P-2", "P-3"}
    maria, oleksandr, mohammed = persons["P-1"], persons["P-2"], persons["P-3"]
    assert maria.a_number == "A123456789"
    assert maria.office_id == users["officer_east"].office_id
    assert maria.date_of_birth == date(1990, 5, 17)
    assert maria.interpreter_needed is True
    assert maria.addresses.get().one_line() == "12 Main St, Newark, NJ 07102"
    assert sorted(maria.contacts.values_list("kind", "value")) == [
        ("email", "maria@example.org"),
        ("phone", "+19735550142"),
    ]
    assert oleksandr.a_number == "A012345678"
    assert oleksandr.languages == ["uk", "ru"]
    assert oleksandr.interpreter_needed is False
    assert oleksandr.primary_name().full_name == "Олександр Коваленко"
    assert oleksandr.primary_name().search_key == "oleksandr kovalenko"
    assert not oleksandr.addresses.exists() and not oleksandr.contacts.exists()
    assert mohammed.citizenship == ["SY", "TR"]
    assert mohammed.addresses.get().line1 == "12 Main St, Apt 4"
    # A case officer takes imported persons on their caseload.
    assert CaseloadAssignment.objects.filter(
        officer=users["officer_east"], person__in=persons.values(), ended_at__isnull=True
    ).count() == 3

    quarantined = {q.line: q for q in QuarantinedRow.objects.filter(batch=batch)}
    assert {line: q.reason for line, q in quarantined.items()} == expected_quarantine()
    first_bad = len(GOOD) + 2
    assert "2023-02-30" in quarantined[first_bad].message
    assert "not a date that exists" in quarantined[first_bad].message
    assert "A followed by 8 or 9 digits" in quarantined[first_bad + 1].message
    assert "'12345' is not a valid phone number" in quarantined[first_bad + 2].message
    assert "also on line 2" in quarantined[first_bad + 4].message
    assert "'XX' is not an ISO 3166 country code" in quarantined[first_bad + 5].message
    assert "15 fields; the header has 16" in quarantined[first_bad + 6].message
    assert "A-number A123456789 is also on line 2" in quarantined[first_bad + 7].message
    assert "already recorded for another person" in quarantined[first_bad + 8].message
    # The row is kept as written, with a retention date.
    assert quarantined[first_bad].raw == ",".join(BAD[0][0])
    assert quarantined[first_bad + 6].raw == BAD[6][0]
    retain = batch.started_at.date() + timedelta(days=90)
    assert {q.retain_until for q in quarantined.values()} == {retain}

    # Ledger: each person has its create event, its caseload event and one import event
    # naming the batch; the batch has one event with its counts.
    events = list(Event.objects.filter(id__gt=mark))
    for external_id, person in persons.items():
        mine = [(e.action, e.record_type) for e in events if e.subject_id == person.pk]
        assert sorted(mine) == [
            ("assign", "accounts.caseloadassignment"),
            ("create", "people.person"),
            ("import", "people.person"),
        ], external_id
        imported = next(e for e in events if e.subject_id == person.pk and e.action == "import")
        assert imported.record_id == str(person.pk)
        assert imported.detail["batch"] == str(batch.pk)
        assert imported.request_id == f"import-{batch.pk}"
    batch_events = [e for e in events if e.action == "import_batch"]
    assert len(batch_events) == 1
    assert batch_events[0].record_id == str(batch.pk)
    assert batch_events[0].detail["created"] == 3
    assert sum(batch_events[0].detail["quarantined"].values()) == len(BAD)
    # Nothing else: quarantined rows left no events behind.
    assert len(events) == 3 * 3 + 1

    # The summary names the counts and the reasons.
    assert "created:     3" in out
    assert f"quarantined: {len(BAD)}" in out
    assert "invalid_date: 2" in out and "duplicate: 2" in out
    assert f"line {first_bad}: [invalid_date]" in out


def test_reimport_is_idempotent(users, persons_file, run_import):
    run_import(persons_file, "persons")
    before = counts()
    mark = last_event_id()

    out = run_import(persons_file, "persons")

    second = ImportBatch.objects.order_by("-started_at").first()
    assert (second.created, second.unchanged, second.quarantined) == (0, 3, len(BAD))
    after = counts()
    assert after["persons"] == before["persons"] == 1 + 3
    assert after["imported"] == before["imported"] == 3
    # The bad rows are quarantined again, under the new batch.
    assert QuarantinedRow.objects.filter(batch=second).count() == len(BAD)
    # No event but the batch's own.
    new_events = list(Event.objects.filter(id__gt=mark))
    assert [e.action for e in new_events] == ["import_batch"]
    assert new_events[0].record_id == str(second.pk)
    assert "unchanged:   3" in out and "created:     0" in out


def test_changed_row_of_an_earlier_import_is_a_conflict(users, write_csv, run_import):
    run_import(write_csv("persons", GOOD[:2]), "persons")
    changed = list(GOOD[1])
    changed[4] = "1985-01-03"
    mark = last_event_id()

    run_import(write_csv("persons", [GOOD[0], changed], name="again.csv"), "persons")

    batch = ImportBatch.objects.get(file_name="again.csv")
    assert (batch.created, batch.unchanged, batch.quarantined) == (0, 1, 1)
    row = QuarantinedRow.objects.get(batch=batch)
    assert row.reason == Reason.IMPORT_CONFLICT and row.line == 3
    assert "conflicts with an earlier import" in row.message
    person = Person.objects.get(a_number="A012345678")
    assert person.date_of_birth == date(1985, 1, 2)  # not changed
    assert [e.action for e in Event.objects.filter(id__gt=mark)] == ["import_batch"]


def test_dry_run_applies_nothing_and_reports_what_a_run_would_do(
    users, persons_file, run_import
):
    before = counts()

    out = run_import(persons_file, "persons", "officer.east", "--dry-run")

    assert counts() == before
    assert "Dry run (nothing applied)" in out
    assert "would be created:     3" in out
    assert f"would be quarantined: {len(BAD)}" in out
    for line, reason in expected_quarantine().items():
        assert f"line {line}: [{reason}]" in out
    # The real run then does what the dry run said.
    run_import(persons_file, "persons")
    batch = ImportBatch.objects.get()
    assert batch.created == 3
    assert dict(QuarantinedRow.objects.values_list("line", "reason")) == expected_quarantine()


def test_a_row_is_never_half_applied(users, write_csv, run_import, monkeypatch):
    """A failure after the service wrote its rows rolls the whole row back.

    Persons are written set-wise, a chunk at a time; a chunk the database refuses is applied
    again row by row through `create_person`, each row in its own savepoint. Here the set-wise
    write fails after the persons, names and contacts are in (so the chunk goes row by row),
    and then the import event of line 3 fails (so that row is quarantined, all of it undone).
    """
    real = batches.record_write

    def failing(**kwargs):
        if kwargs.get("action") == "import" and kwargs["detail"]["line"] == 3:
            raise DataError("value too long")
        return real(**kwargs)

    def refused(rows):
        raise DataError("the set-wise write is refused")

    # patched where each is called: the set-wise writer's events, the row-by-row import event
    monkeypatch.setattr(persons_services, "record_events", refused)
    monkeypatch.setattr(batches, "record_write", failing)
    mark = last_event_id()

    run_import(write_csv("persons", GOOD), "persons")

    assert set(ImportedRecord.objects.values_list("external_id", flat=True)) == {"P-1", "P-3"}
    assert not Person.objects.filter(a_number="A012345678").exists()
    assert not Person.objects.filter(names__full_name="Олександр Коваленко").exists()
    assert Person.objects.count() == 2
    row = QuarantinedRow.objects.get()
    assert (row.line, row.reason) == (3, Reason.INVALID_VALUE)
    # The service's create event of the rolled-back person is gone with it.
    creates = Event.objects.filter(id__gt=mark, action="create", record_type="people.person")
    assert creates.count() == 2


def test_a_refused_set_wise_write_leaves_nothing_of_it(users, write_csv, run_import,
                                                      monkeypatch):
    """The set-wise write of a chunk is undone whole when the database refuses any of it (here
    its events), and the chunk's rows are then created one by one, each exactly once."""
    monkeypatch.setattr(persons_services, "record_events",
                        lambda rows: (_ for _ in ()).throw(DataError("refused")))
    mark = last_event_id()

    run_import(write_csv("persons", GOOD), "persons")

    batch = ImportBatch.objects.get()
    assert (batch.created, batch.quarantined) == (3, 0)
    assert Person.objects.count() == 3 and ImportedRecord.objects.count() == 3
    events = list(Event.objects.filter(id__gt=mark).exclude(action="import_batch"))
    assert sorted(e.action for e in events) == ["assign"] * 3 + ["create"] * 3 + ["import"] * 3
    assert {e.subject_id for e in events} == set(Person.objects.values_list("pk", flat=True))


def test_supervisor_imports_into_their_office_without_caseload(users, write_csv, run_import):
    run_import(write_csv("persons", GOOD[:1]), "persons", "supervisor.east")

    person = Person.objects.get()
    assert person.office_id == users["supervisor_east"].office_id
    assert not CaseloadAssignment.objects.filter(person=person).exists()


def test_bom_and_crlf_line_endings_are_accepted(users, tmp_path, run_import):
    from .conftest import csv_text

    path = tmp_path / "excel.csv"
    text = csv_text("persons", GOOD[:2]).replace("\n", "\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))

    run_import(path, "persons")

    assert ImportBatch.objects.get().created == 2
    assert Person.objects.count() == 2
