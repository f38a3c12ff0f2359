"""Importing cases and hearings: code lists (case types, courts, calendars), dates that do not
exist, hearings in the past, local times in the court's zone, idempotent re-import."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from caseledger.cases.models import Case, Hearing
from caseledger.cases.services import open_case
from caseledger.imports.models import ImportBatch, ImportedRecord, QuarantinedRow, Reason
from caseledger.ledger.models import Event
from tests.conftest import context, last_event_id

from .conftest import counts

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def persons(make_person):
    return {
        "ana": make_person("officer_east", "Ana", "Ramirez", a_number="A100000001"),
        "jose": make_person("officer_east", "José", "Martínez", a_number="A100000002"),
        "west": make_person("officer_west", "Wen", "Li", a_number="A100000003"),
    }


def test_cases_good_and_bad_rows(users, persons, write_csv, run_import):
    future = (timezone.now().date() + timedelta(days=3)).isoformat()
    good = [
        ["C-1", "A-100-000-001", "removal", "NYC", "2024-03-01", "NYC-2024-0001"],
        ["C-2", "A100000002", "asylum_affirmative", "NEW", "2025-07-15", "NEW-2025-0042"],
        ["C-3", "A100000001", "withholding_only", "BOS", "2025-01-02", ""],
    ]
    bad = [
        (["C-4", "A100000001", "deportation", "NYC", "2024-03-01", ""], Reason.UNKNOWN_CODE),
        (["C-5", "A100000001", "removal", "XYZ", "2024-03-01", ""], Reason.UNKNOWN_CODE),
        (["C-6", "A100000001", "removal", "NYC", "2023-02-30", ""], Reason.INVALID_DATE),
        (["C-7", "A100000003", "removal", "NYC", "2024-03-01", ""], Reason.NOT_FOUND),
        (["C-8", "12-34", "removal", "NYC", "2024-03-01", ""], Reason.INVALID_A_NUMBER),
        (["C-9", "A100000002", "removal", "NYC", "2024-03-01", "NYC-2024-0001"],
         Reason.DUPLICATE),
        (["C-10", "A100000002", "removal", "NYC", future, ""], Reason.INVALID_DATE),
        (good[0], Reason.DUPLICATE),
        (["C-12", "A100000002", "Removal", "NYC", "2024-03-01", ""], Reason.UNKNOWN_CODE),
        (["C-13", "A100000002", "removal", "NYC", "03/01/2024", ""], Reason.INVALID_DATE),
        (["C-14", "A199999999", "removal", "NYC", "2024-03-01", ""], Reason.NOT_FOUND),
        (["C-15", "", "removal", "NYC", "2024-03-01", ""], Reason.MISSING_VALUE),
        (["C-16", "A100000002", "removal", "NYC", "2024-03-01", "OLD-2020-0001"],
         Reason.ALREADY_EXISTS),
        (["C-17", "A100000002", "removal", "NYC", "1899-12-31", ""], Reason.INVALID_DATE),
        (["C-18", "- -", "removal", "NYC", "2024-03-01", ""], Reason.INVALID_A_NUMBER),
    ]
    open_case(
        ctx=context(users["officer_east"]), person_id=persons["jose"].pk, case_type="removal",
        court_code="NYC", opened_on=date(2020, 1, 2), reference="OLD-2020-0001",
    )
    path = write_csv("cases", [*good, *(row for row, _ in bad)])
    mark = last_event_id()

    out = run_import(path, "cases")

    batch = ImportBatch.objects.get()
    assert (batch.created, batch.unchanged, batch.quarantined) == (3, 0, len(bad))
    imported = {r.external_id: r for r in ImportedRecord.objects.filter(kind="cases")}
    assert set(imported) == {"C-1", "C-2", "C-3"}
    c1 = Case.objects.get(pk=imported["C-1"].record_id)
    assert (c1.reference, c1.case_type, c1.opened_on, c1.person_id) == (
        "NYC-2024-0001",
        "removal",
        date(2024, 3, 1),
        persons["ana"].pk,
    )
    assert c1.proceedings.get().court.code == "NYC"
    c3 = Case.objects.get(pk=imported["C-3"].record_id)
    assert c3.reference.startswith("CL-2025-")  # generated when the file gives none
    assert Case.objects.count() == 1 + 3

    quarantined = {q.line: q for q in QuarantinedRow.objects.filter(batch=batch)}
    assert {line: q.reason for line, q in quarantined.items()} == {
        5 + i: str(reason) for i, (_, reason) in enumerate(bad)
    }
    assert "Unknown case type 'deportation'" in quarantined[5].message
    assert "Unknown court code 'XYZ'" in quarantined[6].message
    assert "No person with A-number A100000003 is visible" in quarantined[8].message
    assert "case reference NYC-2024-0001 is also on line 2" in quarantined[10].message
    assert "reference OLD-2020-0001 already exists" in quarantined[17].message
    assert "opened_on: A date before 1900 is not plausible" in quarantined[18].message
    assert "cannot be opened in the future" in quarantined[11].message

    events = list(Event.objects.filter(id__gt=mark))
    for record in imported.values():
        mine = sorted(
            (e.action, e.record_type) for e in events if e.record_id == str(record.record_id)
        )
        assert mine == [("create", "cases.case"), ("import", "cases.case")]
    assert [e.action for e in events if e.action == "import_batch"] == ["import_batch"]
    assert len(events) == 2 * 3 + 1
    assert "unknown_code: 3" in out

    # Re-import: nothing new but the batch event.
    mark = last_event_id()
    before = counts()
    run_import(path, "cases")
    second = ImportBatch.objects.order_by("-started_at").first()
    assert (second.created, second.unchanged, second.quarantined) == (0, 3, len(bad))
    assert counts()["cases"] == before["cases"]
    assert [e.action for e in Event.objects.filter(id__gt=mark)] == ["import_batch"]


def _next_dst_gap() -> str:
    """The next local time that does not exist in New York (clocks skip 02:00-03:00)."""
    day = timezone.now().astimezone(NEW_YORK).date() + timedelta(days=1)
    while True:
        naive = datetime(day.year, day.month, day.day, 2, 30)
        aware = naive.replace(tzinfo=NEW_YORK)
        if aware.astimezone(ZoneInfo("UTC")).astimezone(NEW_YORK).replace(tzinfo=None) != naive:
            return naive.strftime("%Y-%m-%dT%H:%M")
        day += timedelta(days=1)


def _next_repeated_hour() -> str:
    """The next local time that happens twice in New York (clocks go back at 02:00)."""
    day = timezone.now().astimezone(NEW_YORK).date() + timedelta(days=1)
    while True:
        naive = datetime(day.year, day.month, day.day, 1, 30)
        if naive.replace(tzinfo=NEW_YORK).utcoffset() != naive.replace(
            tzinfo=NEW_YORK, fold=1
        ).utcoffset():
            return naive.strftime("%Y-%m-%dT%H:%M")
        day += timedelta(days=1)


@pytest.fixture
def cases(users, persons):
    ctx = context(users["officer_east"])
    return {
        "ny": open_case(
            ctx=ctx, person_id=persons["ana"].pk, case_type="removal", court_code="NYC",
            opened_on=date(2024, 3, 1), reference="NYC-2024-0001",
        ),
        "la": open_case(
            ctx=ctx, person_id=persons["jose"].pk, case_type="removal", court_code="LOS",
            opened_on=date(2024, 4, 1), reference="LOS-2024-0007",
        ),
        "west": open_case(
            ctx=context(users["officer_west"]), person_id=persons["west"].pk,
            case_type="removal", court_code="SEA", opened_on=date(2024, 5, 1),
            reference="SEA-2024-0003",
        ),
    }


def test_hearings_good_and_bad_rows(users, cases, write_csv, run_import):
    soon = timezone.now().astimezone(NEW_YORK).date() + timedelta(days=30)
    at = f"{soon.isoformat()}T09:30"
    later = f"{(soon + timedelta(days=7)).isoformat()}T13:00"
    good = [
        ["H-1", "NYC-2024-0001", "master", "NYC", at, "IJ Smith"],
        # No court: the court of the case's open proceeding (Los Angeles), in its zone.
        ["H-2", "LOS-2024-0007", "individual", "", later, ""],
    ]
    bad = [
        (["H-3", "NYC-2024-0001", "merits", "NYC", at, ""], Reason.UNKNOWN_CODE),
        (["H-4", "NYC-2024-0001", "master", "ZZZ", at, ""], Reason.UNKNOWN_CODE),
        (["H-5", "NYC-2024-0001", "master", "NYC", "2020-01-06T09:00", ""], Reason.PAST_HEARING),
        (["H-6", "NYC-2024-0001", "master", "NYC", f"{soon.year + 1}-02-30T09:00", ""],
         Reason.INVALID_DATE),
        (["H-7", "NYC-2024-0001", "master", "NYC", _next_dst_gap(), ""], Reason.INVALID_TIME),
        (["H-8", "NYC-1999-9999", "master", "NYC", at, ""], Reason.NOT_FOUND),
        (["H-9", "NYC-2024-0001", "master", "NYC", at.replace("T", " "), ""],
         Reason.INVALID_TIME),
        (good[0], Reason.DUPLICATE),
        (["H-11", "SEA-2024-0003", "master", "SEA", at, ""], Reason.NOT_FOUND),
        (["H-12", "NYC-2024-0001", "master", "NYC", f"{soon.isoformat()}T25:00", ""],
         Reason.INVALID_TIME),
        (["H-13", "NYC-2024-0001", "custody", "NYC", at, "J" * 121], Reason.INVALID_VALUE),
        (["H-14", "NYC-2024-0001", "master", "NYC", _next_repeated_hour(), ""],
         Reason.INVALID_TIME),
        (["H-15", "NYC-2024-0001", "master", "NYC", "9999-12-31T23:00", ""],
         Reason.INVALID_DATE),
    ]
    path = write_csv("hearings", [*good, *(row for row, _ in bad)])
    mark = last_event_id()

    run_import(path, "hearings")

    batch = ImportBatch.objects.get()
    assert (batch.created, batch.unchanged, batch.quarantined) == (2, 0, len(bad))
    imported = {r.external_id: r for r in ImportedRecord.objects.filter(kind="hearings")}
    h1 = Hearing.objects.select_related("court").get(pk=imported["H-1"].record_id)
    assert h1.court.code == "NYC" and h1.calendar == "master" and h1.judge == "IJ Smith"
    assert h1.proceeding.case_id == cases["ny"].pk
    assert h1.local_time().replace(tzinfo=None) == datetime.fromisoformat(at)
    h2 = Hearing.objects.select_related("court").get(pk=imported["H-2"].record_id)
    assert h2.court.code == "LOS"
    assert h2.scheduled_at == datetime.fromisoformat(later).replace(
        tzinfo=ZoneInfo("America/Los_Angeles")
    )

    quarantined = {q.line: q for q in QuarantinedRow.objects.filter(batch=batch)}
    assert {line: q.reason for line, q in quarantined.items()} == {
        4 + i: str(reason) for i, (_, reason) in enumerate(bad)
    }
    assert "Unknown calendar type 'merits'" in quarantined[4].message
    assert "scheduled in the past" in quarantined[6].message
    assert "does not exist in America/New_York" in quarantined[8].message
    assert "No case with reference NYC-1999-9999" in quarantined[9].message
    assert "happens twice in America/New_York" in quarantined[15].message
    assert "more than 5 years ahead" in quarantined[16].message
    assert Hearing.objects.count() == 2

    events = list(Event.objects.filter(id__gt=mark))
    for record in imported.values():
        mine = sorted(
            (e.action, e.record_type, e.subject_id)
            for e in events
            if e.record_id == str(record.record_id)
        )
        subject = Hearing.objects.get(pk=record.record_id).proceeding.case.person_id
        assert mine == [
            ("create", "cases.hearing", subject),
            ("import", "cases.hearing", subject),
        ]
    assert len(events) == 2 * 2 + 1

    # Re-import, even when the hearings' time is past by then: unchanged, not quarantined.
    mark = last_event_id()
    run_import(path, "hearings")
    second = ImportBatch.objects.order_by("-started_at").first()
    assert (second.created, second.unchanged, second.quarantined) == (0, 2, len(bad))
    assert Hearing.objects.count() == 2
    assert [e.action for e in Event.objects.filter(id__gt=mark)] == ["import_batch"]
