"""The set-wise path (persons checked in Python, written table by table with `record_events`)
and the row-by-row path (`create_person` for each row) give the same records, the same
ledger events, and a ledger that verifies."""

from __future__ import annotations

from typing import Any

import pytest

from caseledger.accounts.models import CaseloadAssignment
from caseledger.imports.models import ImportedRecord
from caseledger.imports.services import batches
from caseledger.ledger.models import Event
from caseledger.ledger.services import integrate_pending
from caseledger.ledger.verify import verify_ledger
from caseledger.people.models import Person
from tests.conftest import last_event_id

from .test_persons import GOOD

PERSON_FIELDS = ("office_id", "date_of_birth", "citizenship", "languages",
                 "interpreter_needed", "participant_account_id", "row_version")
NAME_FIELDS = ("kind", "given_names", "family_names", "full_name", "search_key", "skeleton",
               "row_version")
ADDRESS_FIELDS = ("line1", "line2", "city", "region", "postal_code", "country", "latitude",
                  "longitude", "valid_from", "valid_to", "source", "row_version")
EVENT_FIELDS = ("action", "data_category", "purpose", "outcome", "record_type", "actor_id",
                "actor_role", "office")


def _rows(suffix: str, a_numbers: list[str]) -> list[list[str]]:
    rows = []
    for row, a_number in zip(GOOD, a_numbers, strict=True):
        row = list(row)
        row[0] += suffix
        row[5] = a_number
        rows.append(row)
    return rows


def _described(external_id: str, mark: int) -> dict[str, Any]:
    """Everything an import wrote for one row, without ids, times and line numbers."""
    record = ImportedRecord.objects.get(external_id=external_id)
    person = Person.objects.get(pk=record.record_id)
    events = Event.objects.filter(id__gt=mark, subject_id=person.pk).order_by("id")
    return {
        "person": [getattr(person, f) for f in PERSON_FIELDS],
        "names": [[getattr(n, f) for f in NAME_FIELDS] for n in person.names.all()],
        "addresses": [[getattr(a, f) for f in ADDRESS_FIELDS] for a in person.addresses.all()],
        "contacts": sorted(person.contacts.values_list("kind", "value", "preferred",
                                                        "row_version")),
        "caseload": list(CaseloadAssignment.objects.filter(person=person).values_list(
            "officer_id", "ended_at", "row_version")),
        "record": (record.kind, record.record_type, record.row_hash is not None),
        "events": [
            (*(getattr(e, f) for f in EVENT_FIELDS),
             e.record_id in (str(person.pk), *map(str, person.caseload_assignments.values_list(
                 "pk", flat=True))),
             e.request_id == f"import-{record.first_batch_id}",
             {k: v for k, v in e.detail.items() if k not in ("batch", "line", "officer")})
            for e in events
        ],
        "stamped": person.created_at is not None and person.updated_at is not None,
    }


@pytest.mark.parametrize("as_user", ["officer.east", "supervisor.east"])
def test_both_paths_write_the_same_records_and_events(users, write_csv, run_import,
                                                      monkeypatch, as_user):
    mark = last_event_id()
    run_import(write_csv("persons", _rows("-set", ["A700000001", "A700000002", ""]),
                         name="set.csv"), "persons", as_user)
    monkeypatch.setattr(batches, "may_write_in_bulk", lambda ctx: False)
    run_import(write_csv("persons", _rows("-row", ["A700000003", "A700000004", ""]),
                         name="row.csv"), "persons", as_user)

    for row in GOOD:
        set_wise = _described(row[0] + "-set", mark)
        one_by_one = _described(row[0] + "-row", mark)
        assert set_wise == one_by_one, row[0]
        assert set_wise["events"] and set_wise["stamped"]
    a_numbers = dict(ImportedRecord.objects.values_list("external_id", "record_id"))
    assert Person.objects.get(pk=a_numbers["P-1-set"]).a_number == "A700000001"

    integrate_pending()
    assert verify_ledger().ok
