"""Reading quarantined rows (who may, and the ledger event for it) and purging them."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from caseledger.imports.models import ImportBatch
from caseledger.ledger.models import Event
from tests.conftest import last_event_id

from .test_persons import BAD, GOOD


@pytest.fixture
def batch(users, write_csv, run_import):
    run_import(write_csv("persons", [GOOD[0], BAD[0][0], BAD[1][0]]), "persons")
    return ImportBatch.objects.get()


def quarantine(*args: str) -> str:
    out = io.StringIO()
    call_command("import-quarantine", *args, stdout=out)
    return out.getvalue()


def test_importer_reads_the_rows_and_the_read_is_recorded(users, batch):
    mark = last_event_id()

    out = quarantine("show", str(batch.pk), "--as", "officer.east")

    assert "2 quarantined row(s)" in out
    assert "line 3 [invalid_date]" in out and "line 4 [invalid_a_number]" in out
    assert ",".join(BAD[0][0]) in out  # the row as written
    event = Event.objects.get(id__gt=mark)
    assert (event.action, event.record_type, event.record_id, event.outcome) == (
        "read",
        "imports.importbatch",
        str(batch.pk),
        "allowed",
    )
    assert event.actor_id == str(users["officer_east"].pk)


def test_supervisor_of_the_office_and_privacy_officer_may_read(users, batch):
    assert "2 quarantined row(s)" in quarantine("show", str(batch.pk), "--as", "supervisor.east")
    assert "2 quarantined row(s)" in quarantine("show", str(batch.pk), "--as", "privacy")


@pytest.mark.parametrize("username", ["officer2.east", "officer.west", "supervisor.west"])
def test_others_may_not_read_and_the_denial_is_recorded(users, batch, username):
    mark = last_event_id()
    with pytest.raises(CommandError, match="may not read its quarantine"):
        quarantine("show", str(batch.pk), "--as", username)
    event = Event.objects.get(id__gt=mark)
    assert (event.action, event.outcome, event.record_id) == ("read", "denied", str(batch.pk))


def test_list_shows_counts_only_to_those_who_may_see_them(users, batch):
    assert f"{batch.pk}  persons  persons.csv" in quarantine("list", "--as", "officer.east")
    assert "quarantined 2" in quarantine("list", "--as", "officer.east")
    assert str(batch.pk) not in quarantine("list", "--as", "officer.west")


@pytest.mark.parametrize("username", ["admin", "participant", "rep"])
def test_roles_that_read_no_imports_are_refused_and_recorded(users, batch, username):
    mark = last_event_id()
    with pytest.raises(CommandError, match="may not read its quarantine"):
        quarantine("show", str(batch.pk), "--as", username)
    [event] = Event.objects.filter(id__gt=mark)
    assert (event.action, event.outcome, event.record_type, event.record_id) == (
        "read", "denied", "imports.importbatch", str(batch.pk))
    assert event.actor_id == str(users[{"rep": "representative"}.get(username, username)].pk)
    assert str(batch.pk) not in quarantine("list", "--as", username)
